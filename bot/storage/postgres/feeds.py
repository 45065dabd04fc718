"""Feeds and their polling state (what the scheduler asks, what a failed poll records)."""

from typing import Any

from bot.storage.models import Feed
from bot.storage.postgres.connection import Connection, PostgresBase

FEED_COLUMNS = """feeds.id, url, title, trusted, primed, etag, last_modified, next_poll_at,
    last_polled_at, last_ok_at, failures, last_error, entries_seen, body_digest"""
FEED_SELECT = f"SELECT {FEED_COLUMNS} FROM feeds"
# A lease the leasing instance holds already (it comes after the feeds no one holds).
HELD_BY_INSTANCE = "(lease_owner = %(instance)s AND lease_until > %(now)s) IS TRUE"


class FeedsMixin(PostgresBase):
    """The feeds table."""

    async def add_feed(
        self, url: str, now: float, *, trusted: bool, title: str = ""
    ) -> tuple[Feed, bool]:
        """Add a feed unless its URL is known; return it and whether it was new."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """INSERT INTO feeds (url, title, trusted, added_at) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (url) DO NOTHING""",
                (url, title, trusted, now),
            )
            created = cursor.rowcount > 0
            feed = await _feed_by_url(db, url)
        assert feed is not None
        return feed, created

    async def get_feed_by_url(self, url: str) -> Feed | None:
        """Return the feed with this URL, if any."""
        async with self._transaction() as db:
            return await _feed_by_url(db, url)

    async def list_feeds(self) -> list[Feed]:
        """Return every feed in the order they were added."""
        return await self._feeds(f"{FEED_SELECT} ORDER BY id", ())

    async def remove_feed(self, feed_id: int) -> bool:
        """Delete a feed; its stories stay (unlinked) so they still deduplicate."""
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM feeds WHERE id = %s", (feed_id,))
            return cursor.rowcount > 0

    async def lease_due_feeds(
        self, instance: str, now: float, until: float, limit: int
    ) -> list[Feed]:
        """Lease up to limit due feeds no other instance holds, most overdue first."""
        # SKIP LOCKED: a feed another instance is leasing right now is left to it, not waited
        # for; a row locked and changed meanwhile is checked again against the WHERE.
        async with self._transaction() as db:
            cursor = await db.execute(
                f"""WITH picked AS MATERIALIZED (
                        SELECT id, {HELD_BY_INSTANCE} AS mine FROM feeds
                        WHERE next_poll_at <= %(now)s
                          AND (lease_until IS NULL OR lease_until <= %(now)s
                               OR lease_owner = %(instance)s)
                        ORDER BY {HELD_BY_INSTANCE}, next_poll_at, id LIMIT %(limit)s
                        FOR UPDATE SKIP LOCKED)
                    UPDATE feeds SET lease_owner = %(instance)s, lease_until = %(until)s
                    FROM picked WHERE feeds.id = picked.id
                    RETURNING {FEED_COLUMNS}, picked.mine""",
                {"now": now, "limit": limit, "instance": instance, "until": until},
            )
            rows = await cursor.fetchall()
        rows.sort(key=lambda row: (bool(row[-1]), float(row[7]), int(row[0])))
        return [_feed(row) for row in rows]

    async def next_poll_time(self) -> float | None:
        """Return the earliest time a feed may be leased (its lease's end if later)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT min(greatest(next_poll_at, coalesce(lease_until, next_poll_at))) FROM feeds"
            )
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def record_poll_failure(
        self, feed_id: int, error: str, next_poll_at: float, now: float
    ) -> None:
        """Count one more consecutive failure and keep its reason."""
        async with self._transaction() as db:
            await db.execute(
                """UPDATE feeds SET failures = failures + 1, last_error = %s, next_poll_at = %s,
                       last_polled_at = %s, lease_owner = NULL, lease_until = NULL
                   WHERE id = %s""",
                (error, next_poll_at, now, feed_id),
            )

    async def record_not_modified(self, feed_id: int, next_poll_at: float, now: float) -> None:
        """Note a successful poll that found the feed unchanged (a 304, or the body last saved)."""
        async with self._transaction() as db:
            await db.execute(
                """UPDATE feeds SET failures = 0, last_error = NULL, next_poll_at = %s,
                       last_polled_at = %s, last_ok_at = %s, lease_owner = NULL,
                       lease_until = NULL WHERE id = %s""",
                (next_poll_at, now, now, feed_id),
            )

    async def _feeds(self, sql: str, params: tuple[object, ...] | dict[str, object]) -> list[Feed]:
        async with self._transaction() as db:
            cursor = await db.execute(sql, params)
            rows = await cursor.fetchall()
        return [_feed(row) for row in rows]


async def _feed_by_url(db: Connection, url: str) -> Feed | None:
    cursor = await db.execute(f"{FEED_SELECT} WHERE url = %s", (url,))
    row = await cursor.fetchone()
    return _feed(row) if row else None


def _feed(row: tuple[Any, ...]) -> Feed:
    return Feed(
        id=int(row[0]),
        url=str(row[1]),
        title=str(row[2]),
        trusted=bool(row[3]),
        primed=bool(row[4]),
        etag=row[5],
        last_modified=row[6],
        next_poll_at=float(row[7]),
        last_polled_at=row[8],
        last_ok_at=row[9],
        failures=int(row[10]),
        last_error=row[11],
        entries_seen=int(row[12]),
        body_digest=row[13],
    )
