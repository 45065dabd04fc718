"""Feeds and their polling state (what the scheduler asks, what a failed poll records)."""

import sqlite3

import aiosqlite

from bot.storage.models import Feed
from bot.storage.sqlite.connection import SqliteBase, reading, serialized

FEED_SELECT = """SELECT id, url, title, trusted, primed, etag, last_modified, next_poll_at,
    last_polled_at, last_ok_at, failures, last_error, entries_seen, body_digest FROM feeds"""


class FeedsMixin(SqliteBase):
    """The feeds table."""

    @serialized
    async def add_feed(
        self, url: str, now: float, *, trusted: bool, title: str = ""
    ) -> tuple[Feed, bool]:
        """Add a feed unless its URL is known; return it and whether it was new."""
        cursor = await self._db.execute(
            """INSERT INTO feeds (url, title, trusted, added_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (url) DO NOTHING""",
            (url, title, trusted, now),
        )
        created = cursor.rowcount > 0
        feed = await self._feed_by_url(url)
        assert feed is not None
        return feed, created

    @serialized
    async def get_feed_by_url(self, url: str) -> Feed | None:
        """Return the feed with this URL, if any."""
        return await self._feed_by_url(url)

    async def _feed_by_url(self, url: str) -> Feed | None:
        async with self._db.execute(f"{FEED_SELECT} WHERE url = ?", (url,)) as cursor:
            row = await cursor.fetchone()
        return _feed(row) if row else None

    @reading
    async def list_feeds(self, db: aiosqlite.Connection) -> list[Feed]:
        """Return every feed in the order they were added."""
        async with db.execute(f"{FEED_SELECT} ORDER BY id") as cursor:
            rows = await cursor.fetchall()
        return [_feed(row) for row in rows]

    @serialized
    async def remove_feed(self, feed_id: int) -> bool:
        """Delete a feed; its stories stay (unlinked) so they still deduplicate."""
        cursor = await self._db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return cursor.rowcount > 0

    # The scheduler asks these two every second: on the reader connection they never wait
    # behind a long write transaction (a big poll's save), so polls start on time. The leases
    # are this process's own (leases.py); the read lock makes a read and its lease one step.
    @reading
    async def lease_due_feeds(
        self, db: aiosqlite.Connection, instance: str, now: float, until: float, limit: int
    ) -> list[Feed]:
        """Lease up to limit due feeds no other instance holds, most overdue first."""
        held = self._leases.held(now)
        async with db.execute(
            f"{FEED_SELECT} WHERE next_poll_at <= ? ORDER BY next_poll_at, id LIMIT ?",
            (now, limit + len(held)),
        ) as cursor:
            rows = await cursor.fetchall()
        free = [feed for feed in map(_feed, rows) if held.get(feed.id, instance) == instance]
        # Those it held already last (sorted() is stable: most overdue first within each).
        feeds = sorted(free, key=lambda feed: feed.id in held)[:limit]
        self._leases.take(instance, (feed.id for feed in feeds), until)
        return feeds

    @reading
    async def next_poll_time(self, db: aiosqlite.Connection) -> float | None:
        """Return the earliest time a feed may be leased (its lease's end if later)."""
        ends = self._leases.ends()
        # The first feed no one leased is among the len(ends) + 1 earliest.
        async with db.execute(
            "SELECT id, next_poll_at FROM feeds ORDER BY next_poll_at, id LIMIT ?",
            (len(ends) + 1,),
        ) as cursor:
            rows = await cursor.fetchall()
        times = [max(float(row[1]), ends.get(int(row[0]), float(row[1]))) for row in rows]
        return min(times) if times else None

    @serialized
    async def record_poll_failure(
        self, feed_id: int, error: str, next_poll_at: float, now: float
    ) -> None:
        """Count one more consecutive failure and keep its reason."""
        await self._db.execute(
            """UPDATE feeds SET failures = failures + 1, last_error = ?, next_poll_at = ?,
                   last_polled_at = ? WHERE id = ?""",
            (error, next_poll_at, now, feed_id),
        )
        self._leases.release(feed_id)

    @serialized
    async def record_not_modified(self, feed_id: int, next_poll_at: float, now: float) -> None:
        """Note a successful poll that found the feed unchanged (a 304, or the body last saved)."""
        await self._db.execute(
            """UPDATE feeds SET failures = 0, last_error = NULL, next_poll_at = ?,
                   last_polled_at = ?, last_ok_at = ? WHERE id = ?""",
            (next_poll_at, now, now, feed_id),
        )
        self._leases.release(feed_id)


def _feed(row: sqlite3.Row) -> Feed:
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
