"""Feeds and their polling state (what the scheduler asks, what a failed poll records)."""

from typing import Any

from bot.storage.models import Feed
from bot.storage.postgres.connection import Connection, PostgresBase

FEED_SELECT = """SELECT id, url, title, trusted, primed, etag, last_modified, next_poll_at,
    last_polled_at, last_ok_at, failures, last_error, entries_seen, body_digest FROM feeds"""


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

    async def due_feeds(self, now: float) -> list[Feed]:
        """Return feeds whose next poll time has come, most overdue first."""
        return await self._feeds(
            f"{FEED_SELECT} WHERE next_poll_at <= %s ORDER BY next_poll_at", (now,)
        )

    async def next_poll_time(self) -> float | None:
        """Return the earliest next poll time of any feed."""
        async with self._transaction() as db:
            cursor = await db.execute("SELECT min(next_poll_at) FROM feeds")
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def record_poll_failure(
        self, feed_id: int, error: str, next_poll_at: float, now: float
    ) -> None:
        """Count one more consecutive failure and keep its reason."""
        async with self._transaction() as db:
            await db.execute(
                """UPDATE feeds SET failures = failures + 1, last_error = %s, next_poll_at = %s,
                       last_polled_at = %s WHERE id = %s""",
                (error, next_poll_at, now, feed_id),
            )

    async def record_not_modified(self, feed_id: int, next_poll_at: float, now: float) -> None:
        """Note a successful poll that found the feed unchanged (a 304, or the body last saved)."""
        async with self._transaction() as db:
            await db.execute(
                """UPDATE feeds SET failures = 0, last_error = NULL, next_poll_at = %s,
                       last_polled_at = %s, last_ok_at = %s WHERE id = %s""",
                (next_poll_at, now, now, feed_id),
            )

    async def _feeds(self, sql: str, params: tuple[object, ...]) -> list[Feed]:
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
