"""Subscribers (users table): registration, status, a group moving to a supergroup."""

from collections.abc import Sequence

import aiosqlite

from bot.storage.models import Subscription, User, UserStatus
from bot.storage.sqlite.connection import SqliteBase, marks, reading, serialized
from bot.storage.sqlite.subscriptions import subscription_from_row


class UsersMixin(SqliteBase):
    """The users table."""

    @serialized
    async def register_user(
        self, user_id: int, username: str | None, first_name: str | None, now: float
    ) -> User:
        """Create or refresh a user and make them active again."""
        await self._db.execute(
            """INSERT INTO users (id, username, first_name, status, created_at, updated_at)
               VALUES (?, ?, ?, 'active', ?, ?)
               ON CONFLICT (id) DO UPDATE SET username = excluded.username,
                   first_name = excluded.first_name, status = 'active',
                   updated_at = excluded.updated_at""",
            (user_id, username, first_name, now, now),
        )
        return User(user_id, username, first_name, UserStatus.ACTIVE)

    @reading
    async def get_user(self, db: aiosqlite.Connection, user_id: int) -> User | None:
        """Return the user, or None if they never started the bot."""
        async with db.execute(
            "SELECT id, username, first_name, status FROM users WHERE id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return User(int(row[0]), row[1], row[2], UserStatus(row[3]))

    @serialized
    async def set_user_status(self, user_id: int, status: UserStatus, now: float) -> bool:
        """Set a user's status; return False when the user is unknown."""
        cursor = await self._db.execute(
            "UPDATE users SET status = ?, updated_at = ? WHERE id = ?",
            (status.value, now, user_id),
        )
        return cursor.rowcount > 0

    @serialized
    async def change_user_status(
        self, user_id: int, status: UserStatus, now: float, *, only_from: Sequence[UserStatus]
    ) -> bool:
        """Set a user's status if it is now one of only_from; return whether it changed."""
        cursor = await self._db.execute(
            f"UPDATE users SET status = ?, updated_at = ? WHERE id = ? AND status IN "
            f"({marks(only_from)})",
            (status.value, now, user_id, *(each.value for each in only_from)),
        )
        return cursor.rowcount > 0

    @serialized
    async def migrate_chat(
        self, old_chat_id: int, new_chat_id: int, now: float
    ) -> list[Subscription]:
        """Move a group that became a supergroup to its new id; return its subscriptions."""
        async with self._transaction():
            await self._db.execute(
                """INSERT INTO users (id, username, first_name, status, created_at, updated_at)
                   SELECT ?, username, first_name, status, created_at, ? FROM users WHERE id = ?
                   ON CONFLICT (id) DO NOTHING""",
                (new_chat_id, now, old_chat_id),
            )
            # Rows the new chat already has stay with the old one and go with it below
            # (what UPDATE OR IGNORE did, written so any SQL database takes it).
            await self._db.execute(
                """UPDATE subscriptions SET user_id = :new WHERE user_id = :old
                   AND NOT EXISTS (SELECT 1 FROM subscriptions mine WHERE mine.user_id = :new
                                   AND mine.query = subscriptions.query)""",
                {"new": new_chat_id, "old": old_chat_id},
            )
            await self._db.execute(
                """UPDATE outbox SET user_id = :new WHERE user_id = :old
                   AND NOT EXISTS (SELECT 1 FROM outbox mine WHERE mine.user_id = :new
                                   AND (mine.story_id = outbox.story_id
                                        OR mine.broadcast_id = outbox.broadcast_id))""",
                {"new": new_chat_id, "old": old_chat_id},
            )
            await self._db.execute("DELETE FROM users WHERE id = ?", (old_chat_id,))
            async with self._db.execute(
                "SELECT id, user_id, query, display FROM subscriptions WHERE user_id = ?",
                (new_chat_id,),
            ) as cursor:
                rows = await cursor.fetchall()
        return [subscription_from_row(row) for row in rows]

    @reading
    async def count_active_users(self, db: aiosqlite.Connection) -> int:
        """Return how many users would receive a broadcast now."""
        async with db.execute("SELECT count(*) FROM users WHERE status = 'active'") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
