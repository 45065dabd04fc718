"""Subscriptions: each chat's stored queries, within its limit."""

import sqlite3
from collections.abc import Sequence

import aiosqlite

from bot.storage.models import AddedSubscriptions, Subscription
from bot.storage.sqlite.connection import SqliteBase, reading, serialized

SUBSCRIPTION_COLUMNS = "id, chat_id, query, display, thread_id"


class SubscriptionsMixin(SqliteBase):
    """The subscriptions table."""

    @serialized
    async def add_subscriptions(
        self,
        chat_id: int,
        queries: Sequence[tuple[str, str]],
        limit: int,
        now: float,
        *,
        thread_id: int | None = None,
    ) -> AddedSubscriptions:
        """Store (normalised, display) queries up to the chat's limit, in one transaction."""
        added: list[Subscription] = []
        existing: list[str] = []
        over_limit: list[str] = []
        async with self._transaction():
            count = await self._count_subscriptions(chat_id)
            for normalised, display in queries:
                if await self._find_subscription(chat_id, thread_id, normalised) is not None:
                    existing.append(display)
                elif count >= limit:
                    over_limit.append(display)
                else:
                    async with self._db.execute(
                        # Matches stored before now are not this subscription's to deliver.
                        """INSERT INTO subscriptions (chat_id, thread_id, query, display,
                                                     created_at, start_match)
                           VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0)
                                   FROM sqlite_sequence WHERE name = 'story_matches'))
                           RETURNING id""",
                        (chat_id, thread_id, normalised, display, now),
                    ) as cursor:
                        row = await cursor.fetchone()
                    assert row is not None
                    added.append(Subscription(int(row[0]), chat_id, normalised, display, thread_id))
                    count += 1
        return AddedSubscriptions(tuple(added), tuple(existing), tuple(over_limit))

    async def _count_subscriptions(self, chat_id: int) -> int:
        async with self._db.execute(
            "SELECT count(*) FROM subscriptions WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _find_subscription(
        self, chat_id: int, thread_id: int | None, normalised: str
    ) -> Subscription | None:
        # No forum topic is stored as NULL, and NULLs never compare equal: hence coalesce
        # (the unique index is on the same expression).
        async with self._db.execute(
            f"""SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions
               WHERE chat_id = ? AND coalesce(thread_id, 0) = coalesce(?, 0) AND query = ?""",
            (chat_id, thread_id, normalised),
        ) as cursor:
            row = await cursor.fetchone()
        return subscription_from_row(row) if row else None

    @reading
    async def list_subscriptions(
        self, db: aiosqlite.Connection, chat_id: int
    ) -> list[Subscription]:
        """Return the chat's subscriptions, oldest first."""
        rows = await db.execute_fetchall(  # one hop (see ChatsMixin.get_chat)
            f"""SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions
               WHERE chat_id = ? ORDER BY id""",
            (chat_id,),
        )
        return [subscription_from_row(row) for row in rows]

    @serialized
    async def remove_subscription(self, chat_id: int, normalised: str) -> Subscription | None:
        """Delete the chat's subscription with this normalised query; return it if it existed."""
        return await self._delete_one(
            f"DELETE FROM subscriptions WHERE chat_id = ? AND query = ? "
            f"RETURNING {SUBSCRIPTION_COLUMNS}",
            (chat_id, normalised),
        )

    @serialized
    async def remove_subscription_by_id(
        self, chat_id: int, subscription_id: int
    ) -> Subscription | None:
        """Delete one of the chat's subscriptions by id; someone else's id deletes nothing."""
        return await self._delete_one(
            f"DELETE FROM subscriptions WHERE chat_id = ? AND id = ? "
            f"RETURNING {SUBSCRIPTION_COLUMNS}",
            (chat_id, subscription_id),
        )

    async def _delete_one(self, sql: str, params: tuple[int | str, ...]) -> Subscription | None:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return subscription_from_row(row) if row else None

    @serialized
    async def remove_all_subscriptions(self, chat_id: int) -> list[Subscription]:
        """Delete every subscription of the chat; return what was deleted."""
        async with self._db.execute(
            f"DELETE FROM subscriptions WHERE chat_id = ? RETURNING {SUBSCRIPTION_COLUMNS}",
            (chat_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [subscription_from_row(row) for row in rows]

    @serialized
    async def move_subscriptions(
        self, chat_id: int, subscription_ids: Sequence[int], thread_id: int | None
    ) -> list[Subscription]:
        """Send these subscriptions of the chat to forum topic thread_id, one transaction."""
        moved: list[Subscription] = []
        async with self._transaction():
            for subscription_id in subscription_ids:
                async with self._db.execute(
                    f"""SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions
                       WHERE chat_id = ? AND id = ?""",
                    (chat_id, subscription_id),
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None or subscription_from_row(row).thread_id == thread_id:
                    continue
                found = subscription_from_row(row)
                there = await self._find_subscription(chat_id, thread_id, found.query)
                if there is not None:  # the topic has the query: one subscription will do
                    await self._db.execute("DELETE FROM subscriptions WHERE id = ?", (found.id,))
                    moved.append(there)
                    continue
                await self._db.execute(
                    "UPDATE subscriptions SET thread_id = ? WHERE id = ?", (thread_id, found.id)
                )
                moved.append(Subscription(found.id, chat_id, found.query, found.display, thread_id))
        return moved

    @serialized
    async def subscription_page(self, after_id: int, limit: int) -> list[tuple[int, int, str, str]]:
        """Return (id, chat, query, display) of up to limit subscriptions after after_id.

        Plain tuples, a page at a time: loading 500,000 subscriptions at start must not
        hold them all as objects at once.
        """
        async with self._db.execute(
            """SELECT id, chat_id, query, display FROM subscriptions WHERE id > ?
               ORDER BY id LIMIT ?""",
            (after_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [(int(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    @serialized
    async def all_subscriptions(self) -> list[Subscription]:
        """Return every subscription of every chat (to build the matching index)."""
        async with self._db.execute(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [subscription_from_row(row) for row in rows]


def subscription_from_row(row: sqlite3.Row) -> Subscription:
    thread_id = None if row[4] is None else int(row[4])
    return Subscription(int(row[0]), int(row[1]), str(row[2]), str(row[3]), thread_id)
