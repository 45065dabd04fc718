"""Subscriptions: each chat's stored queries, within its limit."""

import sqlite3
from collections.abc import Sequence

import aiosqlite

from bot.storage.models import AddedSubscriptions, Subscription
from bot.storage.sqlite.connection import SqliteBase, reading, serialized


class SubscriptionsMixin(SqliteBase):
    """The subscriptions table."""

    @serialized
    async def add_subscriptions(
        self, user_id: int, queries: Sequence[tuple[str, str]], limit: int, now: float
    ) -> AddedSubscriptions:
        """Store (normalised, display) queries up to the user's limit, in one transaction."""
        added: list[Subscription] = []
        existing: list[str] = []
        over_limit: list[str] = []
        async with self._transaction():
            count = await self._count_subscriptions(user_id)
            for normalised, display in queries:
                if await self._find_subscription(user_id, normalised) is not None:
                    existing.append(display)
                elif count >= limit:
                    over_limit.append(display)
                else:
                    async with self._db.execute(
                        """INSERT INTO subscriptions (user_id, query, display, created_at)
                           VALUES (?, ?, ?, ?) RETURNING id""",
                        (user_id, normalised, display, now),
                    ) as cursor:
                        row = await cursor.fetchone()
                    assert row is not None
                    added.append(Subscription(int(row[0]), user_id, normalised, display))
                    count += 1
        return AddedSubscriptions(tuple(added), tuple(existing), tuple(over_limit))

    async def _count_subscriptions(self, user_id: int) -> int:
        async with self._db.execute(
            "SELECT count(*) FROM subscriptions WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _find_subscription(self, user_id: int, normalised: str) -> Subscription | None:
        async with self._db.execute(
            """SELECT id, user_id, query, display FROM subscriptions
               WHERE user_id = ? AND query = ?""",
            (user_id, normalised),
        ) as cursor:
            row = await cursor.fetchone()
        return subscription_from_row(row) if row else None

    @reading
    async def list_subscriptions(
        self, db: aiosqlite.Connection, user_id: int
    ) -> list[Subscription]:
        """Return the user's subscriptions, oldest first."""
        async with db.execute(
            """SELECT id, user_id, query, display FROM subscriptions
               WHERE user_id = ? ORDER BY id""",
            (user_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [subscription_from_row(row) for row in rows]

    @serialized
    async def remove_subscription(self, user_id: int, normalised: str) -> Subscription | None:
        """Delete the user's subscription with this normalised query; return it if it existed."""
        return await self._delete_one(
            "DELETE FROM subscriptions WHERE user_id = ? AND query = ? "
            "RETURNING id, user_id, query, display",
            (user_id, normalised),
        )

    @serialized
    async def remove_subscription_by_id(
        self, user_id: int, subscription_id: int
    ) -> Subscription | None:
        """Delete one of the user's subscriptions by id; someone else's id deletes nothing."""
        return await self._delete_one(
            "DELETE FROM subscriptions WHERE user_id = ? AND id = ? "
            "RETURNING id, user_id, query, display",
            (user_id, subscription_id),
        )

    async def _delete_one(self, sql: str, params: tuple[int | str, ...]) -> Subscription | None:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return subscription_from_row(row) if row else None

    @serialized
    async def remove_all_subscriptions(self, user_id: int) -> list[Subscription]:
        """Delete every subscription of the user; return what was deleted."""
        async with self._db.execute(
            "DELETE FROM subscriptions WHERE user_id = ? RETURNING id, user_id, query, display",
            (user_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [subscription_from_row(row) for row in rows]

    @serialized
    async def subscription_page(self, after_id: int, limit: int) -> list[tuple[int, int, str, str]]:
        """Return (id, user, query, display) of up to limit subscriptions after after_id.

        Plain tuples, a page at a time: loading 500,000 subscriptions at start must not
        hold them all as objects at once.
        """
        async with self._db.execute(
            """SELECT id, user_id, query, display FROM subscriptions WHERE id > ?
               ORDER BY id LIMIT ?""",
            (after_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [(int(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    @serialized
    async def all_subscriptions(self) -> list[Subscription]:
        """Return every subscription of every user (to build the matching index)."""
        async with self._db.execute(
            "SELECT id, user_id, query, display FROM subscriptions ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [subscription_from_row(row) for row in rows]


def subscription_from_row(row: sqlite3.Row) -> Subscription:
    return Subscription(int(row[0]), int(row[1]), str(row[2]), str(row[3]))
