"""Subscribing chats (chats table): registration, status, a group moving to a supergroup."""

from collections.abc import Sequence
from typing import Any

from bot.storage.changes import Change, ChangeKind
from bot.storage.models import Chat, ChatSeen, ChatStatus, ChatType, Subscription
from bot.storage.postgres.changes import announce
from bot.storage.postgres.connection import PostgresBase
from bot.storage.postgres.subscriptions import SUBSCRIPTION_COLUMNS, subscription_from_row

CHAT_COLUMNS = "id, type, title, username, language, status, created_at"
# What a group becoming a supergroup changes, for both its ids.
_MIGRATED_CHANGES = (ChangeKind.SUBSCRIPTIONS, ChangeKind.LANGUAGE)


class ChatsMixin(PostgresBase):
    """The chats table."""

    async def register_chat(self, chat: ChatSeen, now: float) -> Chat:
        """Create or refresh a chat and make it active again (the language is kept once known)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                f"""INSERT INTO chats (id, type, title, username, language, status, created_at,
                                       updated_at)
                   VALUES (%s, %s, %s, %s, %s, 'active', %s, %s)
                   ON CONFLICT (id) DO UPDATE SET type = excluded.type, title = excluded.title,
                       username = excluded.username,
                       language = coalesce(chats.language, excluded.language),
                       status = 'active', updated_at = excluded.updated_at
                   RETURNING {CHAT_COLUMNS}""",
                (chat.id, chat.type.value, chat.title, chat.username, chat.language, now, now),
            )
            row = await cursor.fetchone()
            # Instances that knew the chat as unknown (no language) read it again.
            await announce(db, Change(ChangeKind.LANGUAGE, chat.id))
        assert row is not None
        return chat_from_row(row)

    async def update_chat(self, chat: ChatSeen, now: float) -> bool:
        """Refresh a known chat's type, title and username; False when it is unknown."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE chats SET type = %s, title = %s, username = %s, updated_at = %s
                   WHERE id = %s""",
                (chat.type.value, chat.title, chat.username, now, chat.id),
            )
            return cursor.rowcount > 0

    async def set_chat_language(self, chat_id: int, language: str, now: float) -> bool:
        """Set the language the chat chose; return False when the chat is unknown."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE chats SET language = %s, updated_at = %s WHERE id = %s",
                (language, now, chat_id),
            )
            if cursor.rowcount <= 0:
                return False
            await announce(db, Change(ChangeKind.LANGUAGE, chat_id))
            return True

    async def get_chat(self, chat_id: int) -> Chat | None:
        """Return the chat, or None if it never talked to the bot."""
        async with self._transaction() as db:
            cursor = await db.execute(f"SELECT {CHAT_COLUMNS} FROM chats WHERE id = %s", (chat_id,))
            row = await cursor.fetchone()
        return None if row is None else chat_from_row(row)

    async def set_chat_status(self, chat_id: int, status: ChatStatus, now: float) -> bool:
        """Set a chat's status; return False when the chat is unknown."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE chats SET status = %s, updated_at = %s WHERE id = %s",
                (status.value, now, chat_id),
            )
            return cursor.rowcount > 0

    async def change_chat_status(
        self, chat_id: int, status: ChatStatus, now: float, *, only_from: Sequence[ChatStatus]
    ) -> bool:
        """Set a chat's status if it is now one of only_from; return whether it changed."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE chats SET status = %s, updated_at = %s
                   WHERE id = %s AND status = ANY(%s::text[])""",
                (status.value, now, chat_id, [each.value for each in only_from]),
            )
            return cursor.rowcount > 0

    async def migrate_chat(
        self, old_chat_id: int, new_chat_id: int, now: float
    ) -> list[Subscription]:
        """Move a group that became a supergroup to its new id; return its subscriptions."""
        ids = {"new": new_chat_id, "old": old_chat_id}
        async with self._transaction() as db:
            await db.execute(
                """INSERT INTO chats (id, type, title, username, language, status, created_at,
                                      updated_at)
                   SELECT %(new)s, 'supergroup', title, username, language, status, created_at,
                          %(now)s
                   FROM chats WHERE id = %(old)s
                   ON CONFLICT (id) DO UPDATE SET type = 'supergroup'""",
                {**ids, "now": now},
            )
            # Rows the new chat already has stay with the old one and go with it below.
            await db.execute(
                """UPDATE subscriptions SET chat_id = %(new)s WHERE chat_id = %(old)s
                   AND NOT EXISTS (SELECT 1 FROM subscriptions mine WHERE mine.chat_id = %(new)s
                                   AND mine.query = subscriptions.query
                                   AND coalesce(mine.thread_id, 0)
                                       = coalesce(subscriptions.thread_id, 0))""",
                ids,
            )
            await db.execute(
                """UPDATE outbox SET chat_id = %(new)s WHERE chat_id = %(old)s
                   AND NOT EXISTS (SELECT 1 FROM outbox mine WHERE mine.chat_id = %(new)s
                                   AND (mine.story_id = outbox.story_id
                                        AND coalesce(mine.thread_id, 0)
                                            = coalesce(outbox.thread_id, 0)
                                        OR mine.broadcast_id = outbox.broadcast_id))""",
                ids,
            )
            await db.execute(
                """UPDATE chat_schedules SET chat_id = %(new)s WHERE chat_id = %(old)s
                   AND NOT EXISTS (SELECT 1 FROM chat_schedules mine
                                   WHERE mine.chat_id = %(new)s)""",
                ids,
            )
            await db.execute("DELETE FROM chats WHERE id = %s", (old_chat_id,))
            await announce(
                db,
                *(Change(kind, chat) for chat in ids.values() for kind in _MIGRATED_CHANGES),
            )
            cursor = await db.execute(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE chat_id = %s ORDER BY id",
                (new_chat_id,),
            )
            rows = await cursor.fetchall()
        return [subscription_from_row(row) for row in rows]

    async def count_active_chats(self) -> int:
        """Return how many chats would receive a broadcast now."""
        async with self._transaction() as db:
            cursor = await db.execute("SELECT count(*) FROM chats WHERE status = 'active'")
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def chat_from_row(row: tuple[Any, ...]) -> Chat:
    return Chat(
        id=int(row[0]),
        type=ChatType(row[1]),
        title=row[2],
        username=row[3],
        language=row[4],
        status=ChatStatus(row[5]),
        created_at=float(row[6]),
    )
