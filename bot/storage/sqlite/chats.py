"""Subscribing chats (chats table): registration, status, a group moving to a supergroup."""

import sqlite3
from collections.abc import Sequence

import aiosqlite

from bot.storage.models import Chat, ChatSeen, ChatStatus, ChatType, Subscription
from bot.storage.sqlite.connection import SqliteBase, marks, reading, serialized
from bot.storage.sqlite.subscriptions import SUBSCRIPTION_COLUMNS, subscription_from_row

CHAT_COLUMNS = "id, type, title, username, language, status, created_at"


class ChatsMixin(SqliteBase):
    """The chats table."""

    @serialized
    async def register_chat(self, chat: ChatSeen, now: float) -> Chat:
        """Create or refresh a chat and make it active again (the language is kept once known)."""
        async with self._db.execute(
            f"""INSERT INTO chats (id, type, title, username, language, status, created_at,
                                   updated_at)
               VALUES (?, ?, ?, ?, ?, 'active', ?, ?)
               ON CONFLICT (id) DO UPDATE SET type = excluded.type, title = excluded.title,
                   username = excluded.username,
                   language = coalesce(chats.language, excluded.language),
                   status = 'active', updated_at = excluded.updated_at
               RETURNING {CHAT_COLUMNS}""",
            (chat.id, chat.type.value, chat.title, chat.username, chat.language, now, now),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return chat_from_row(row)

    @serialized
    async def update_chat(self, chat: ChatSeen, now: float) -> bool:
        """Refresh a known chat's type, title and username; False when it is unknown."""
        cursor = await self._db.execute(
            """UPDATE chats SET type = ?, title = ?, username = ?, updated_at = ?
               WHERE id = ?""",
            (chat.type.value, chat.title, chat.username, now, chat.id),
        )
        return cursor.rowcount > 0

    @serialized
    async def set_chat_language(self, chat_id: int, language: str, now: float) -> bool:
        """Set the language the chat chose; return False when the chat is unknown."""
        cursor = await self._db.execute(
            "UPDATE chats SET language = ?, updated_at = ? WHERE id = ?",
            (language, now, chat_id),
        )
        return cursor.rowcount > 0

    @reading
    async def get_chat(self, db: aiosqlite.Connection, chat_id: int) -> Chat | None:
        """Return the chat, or None if it never talked to the bot."""
        # One hop to the reader's thread (execute, fetch and close would be three, each
        # waiting its turn on a busy loop: what a person waits for, bench: responsiveness).
        rows = await db.execute_fetchall(
            f"SELECT {CHAT_COLUMNS} FROM chats WHERE id = ?", (chat_id,)
        )
        return next((chat_from_row(row) for row in rows), None)

    @serialized
    async def set_chat_status(self, chat_id: int, status: ChatStatus, now: float) -> bool:
        """Set a chat's status; return False when the chat is unknown."""
        cursor = await self._db.execute(
            "UPDATE chats SET status = ?, updated_at = ? WHERE id = ?",
            (status.value, now, chat_id),
        )
        return cursor.rowcount > 0

    @serialized
    async def change_chat_status(
        self, chat_id: int, status: ChatStatus, now: float, *, only_from: Sequence[ChatStatus]
    ) -> bool:
        """Set a chat's status if it is now one of only_from; return whether it changed."""
        cursor = await self._db.execute(
            f"UPDATE chats SET status = ?, updated_at = ? WHERE id = ? AND status IN "
            f"({marks(only_from)})",
            (status.value, now, chat_id, *(each.value for each in only_from)),
        )
        return cursor.rowcount > 0

    @serialized
    async def migrate_chat(
        self, old_chat_id: int, new_chat_id: int, now: float
    ) -> list[Subscription]:
        """Move a group that became a supergroup to its new id; return its subscriptions."""
        async with self._transaction():
            await self._db.execute(
                """INSERT INTO chats (id, type, title, username, language, status, created_at,
                                      updated_at)
                   SELECT ?, 'supergroup', title, username, language, status, created_at, ?
                   FROM chats WHERE id = ?
                   ON CONFLICT (id) DO UPDATE SET type = 'supergroup'""",
                (new_chat_id, now, old_chat_id),
            )
            # Rows the new chat already has stay with the old one and go with it below
            # (what UPDATE OR IGNORE did, written so any SQL database takes it).
            await self._db.execute(
                """UPDATE subscriptions SET chat_id = :new WHERE chat_id = :old
                   AND NOT EXISTS (SELECT 1 FROM subscriptions mine WHERE mine.chat_id = :new
                                   AND mine.query = subscriptions.query
                                   AND coalesce(mine.thread_id, 0)
                                       = coalesce(subscriptions.thread_id, 0))""",
                {"new": new_chat_id, "old": old_chat_id},
            )
            await self._db.execute(
                """UPDATE outbox SET chat_id = :new WHERE chat_id = :old
                   AND NOT EXISTS (SELECT 1 FROM outbox mine WHERE mine.chat_id = :new
                                   AND (mine.story_id = outbox.story_id
                                        AND coalesce(mine.thread_id, 0)
                                            = coalesce(outbox.thread_id, 0)
                                        OR mine.broadcast_id = outbox.broadcast_id))""",
                {"new": new_chat_id, "old": old_chat_id},
            )
            await self._db.execute(
                """UPDATE chat_schedules SET chat_id = :new WHERE chat_id = :old
                   AND NOT EXISTS (SELECT 1 FROM chat_schedules mine WHERE mine.chat_id = :new)""",
                {"new": new_chat_id, "old": old_chat_id},
            )
            await self._db.execute("DELETE FROM chats WHERE id = ?", (old_chat_id,))
            async with self._db.execute(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE chat_id = ? ORDER BY id",
                (new_chat_id,),
            ) as cursor:
                rows = await cursor.fetchall()
        return [subscription_from_row(row) for row in rows]

    @reading
    async def count_active_chats(self, db: aiosqlite.Connection) -> int:
        """Return how many chats would receive a broadcast now."""
        async with db.execute("SELECT count(*) FROM chats WHERE status = 'active'") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def chat_from_row(row: sqlite3.Row) -> Chat:
    return Chat(
        id=int(row[0]),
        type=ChatType(row[1]),
        title=row[2],
        username=row[3],
        language=row[4],
        status=ChatStatus(row[5]),
        created_at=float(row[6]),
    )
