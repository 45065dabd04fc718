"""Subscriptions: each chat's stored queries, within its limit."""

from collections.abc import Sequence
from typing import Any

from bot.storage.changes import Change, ChangeKind
from bot.storage.models import AddedSubscriptions, Subscription
from bot.storage.postgres.changes import announce
from bot.storage.postgres.connection import Connection, PostgresBase

SUBSCRIPTION_COLUMNS = "id, chat_id, query, display, thread_id"


class SubscriptionsMixin(PostgresBase):
    """The subscriptions table."""

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
        async with self._transaction() as db:
            # The chat's row locked: two /subscribe at once cannot both fit under the limit.
            await db.execute("SELECT 1 FROM chats WHERE id = %s FOR UPDATE", (chat_id,))
            count = await _count(db, chat_id)
            for normalised, display in queries:
                if await _find(db, chat_id, thread_id, normalised) is not None:
                    existing.append(display)
                elif count >= limit:
                    over_limit.append(display)
                else:
                    cursor = await db.execute(
                        # Matches stored before now are not this subscription's to deliver.
                        """INSERT INTO subscriptions (chat_id, thread_id, query, display,
                                                     created_at, start_match)
                           VALUES (%s, %s, %s, %s, %s, last_match_id())
                           RETURNING id""",
                        (chat_id, thread_id, normalised, display, now),
                    )
                    row = await cursor.fetchone()
                    assert row is not None
                    added.append(Subscription(int(row[0]), chat_id, normalised, display, thread_id))
                    count += 1
            if added:
                await announce(db, Change(ChangeKind.SUBSCRIPTIONS, chat_id))
        return AddedSubscriptions(tuple(added), tuple(existing), tuple(over_limit))

    async def list_subscriptions(self, chat_id: int) -> list[Subscription]:
        """Return the chat's subscriptions, oldest first."""
        return await self._subscriptions(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE chat_id = %s ORDER BY id",
            (chat_id,),
        )

    async def remove_subscription(self, chat_id: int, normalised: str) -> Subscription | None:
        """Delete the chat's subscription with this normalised query; return it if it existed."""
        deleted = await self._subscriptions(
            f"DELETE FROM subscriptions WHERE chat_id = %s AND query = %s "
            f"RETURNING {SUBSCRIPTION_COLUMNS}",
            (chat_id, normalised),
            changed=chat_id,
        )
        return deleted[0] if deleted else None

    async def remove_subscription_by_id(
        self, chat_id: int, subscription_id: int
    ) -> Subscription | None:
        """Delete one of the chat's subscriptions by id; someone else's id deletes nothing."""
        deleted = await self._subscriptions(
            f"DELETE FROM subscriptions WHERE chat_id = %s AND id = %s "
            f"RETURNING {SUBSCRIPTION_COLUMNS}",
            (chat_id, subscription_id),
            changed=chat_id,
        )
        return deleted[0] if deleted else None

    async def remove_all_subscriptions(self, chat_id: int) -> list[Subscription]:
        """Delete every subscription of the chat; return what was deleted."""
        deleted = await self._subscriptions(
            f"DELETE FROM subscriptions WHERE chat_id = %s RETURNING {SUBSCRIPTION_COLUMNS}",
            (chat_id,),
            changed=chat_id,
        )
        return sorted(deleted, key=lambda subscription: subscription.id)

    async def move_subscriptions(
        self, chat_id: int, subscription_ids: Sequence[int], thread_id: int | None
    ) -> list[Subscription]:
        """Send these subscriptions of the chat to forum topic thread_id, one transaction."""
        moved: list[Subscription] = []
        async with self._transaction() as db:
            # The chat's row locked, as add_subscriptions does: a query added to the topic
            # meanwhile would break the move on the unique index instead of merging.
            await db.execute("SELECT 1 FROM chats WHERE id = %s FOR UPDATE", (chat_id,))
            for subscription_id in subscription_ids:
                cursor = await db.execute(
                    f"""SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions
                       WHERE chat_id = %s AND id = %s""",
                    (chat_id, subscription_id),
                )
                row = await cursor.fetchone()
                if row is None or subscription_from_row(row).thread_id == thread_id:
                    continue
                found = subscription_from_row(row)
                there = await _find(db, chat_id, thread_id, found.query)
                if there is not None:  # the topic has the query: one subscription will do
                    await db.execute("DELETE FROM subscriptions WHERE id = %s", (found.id,))
                    moved.append(there)
                    continue
                await db.execute(
                    "UPDATE subscriptions SET thread_id = %s WHERE id = %s", (thread_id, found.id)
                )
                moved.append(Subscription(found.id, chat_id, found.query, found.display, thread_id))
            if moved:  # a display may have gone with a merged row
                await announce(db, Change(ChangeKind.SUBSCRIPTIONS, chat_id))
        return moved

    async def subscription_page(self, after_id: int, limit: int) -> list[tuple[int, int, str, str]]:
        """Return (id, chat, query, display) of up to limit subscriptions after after_id."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT id, chat_id, query, display FROM subscriptions WHERE id > %s
                   ORDER BY id LIMIT %s""",
                (after_id, limit),
            )
            rows = await cursor.fetchall()
        return [(int(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    async def all_subscriptions(self) -> list[Subscription]:
        """Return every subscription of every chat (to build the matching index)."""
        return await self._subscriptions(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY id", ()
        )

    async def _subscriptions(
        self, sql: str, params: tuple[object, ...], changed: int | None = None
    ) -> list[Subscription]:
        """Run sql; when it returns rows of chat `changed`, announce the chat's change."""
        async with self._transaction() as db:
            cursor = await db.execute(sql, params)
            rows = await cursor.fetchall()
            if rows and changed is not None:
                await announce(db, Change(ChangeKind.SUBSCRIPTIONS, changed))
        return [subscription_from_row(row) for row in rows]


async def _count(db: Connection, chat_id: int) -> int:
    cursor = await db.execute("SELECT count(*) FROM subscriptions WHERE chat_id = %s", (chat_id,))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _find(
    db: Connection, chat_id: int, thread_id: int | None, normalised: str
) -> Subscription | None:
    # No forum topic is stored as NULL, and NULLs never compare equal: hence coalesce (the
    # unique index is on the same expression).
    cursor = await db.execute(
        f"""SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions
           WHERE chat_id = %s AND coalesce(thread_id, 0) = coalesce(%s::bigint, 0)
               AND query = %s""",
        (chat_id, thread_id, normalised),
    )
    row = await cursor.fetchone()
    return subscription_from_row(row) if row else None


def subscription_from_row(row: tuple[Any, ...]) -> Subscription:
    thread_id = None if row[4] is None else int(row[4])
    return Subscription(int(row[0]), int(row[1]), str(row[2]), str(row[3]), thread_id)
