"""The figures /stats shows, counted in the database."""

from bot.storage.models import Stats
from bot.storage.sqlite.connection import SqliteBase, serialized


class StatsMixin(SqliteBase):
    """Counts over every table."""

    @serialized
    async def stats(self, now: float, top: int = 10) -> Stats:
        """Return the figures /stats shows."""
        chats = await self._grouped("SELECT status, count(*) FROM chats GROUP BY status")
        async with self._db.execute(
            """SELECT query, count(*) AS n, min(display) FROM subscriptions
               GROUP BY query ORDER BY n DESC, query LIMIT ?""",
            (top,),
        ) as cursor:
            top_queries = [(str(r[2]), int(r[1])) for r in await cursor.fetchall()]
        day_ago = now - 24 * 3600
        page_size, pages, free_pages = await self._page_counts()
        return Stats(
            chats=chats,
            subscriptions=await self._scalar("SELECT count(*) FROM subscriptions"),
            top_queries=top_queries,
            feeds=await self._scalar("SELECT count(*) FROM feeds"),
            failing_feeds=await self._scalar("SELECT count(*) FROM feeds WHERE failures > 0"),
            stories_24h=await self._scalar(
                "SELECT count(*) FROM stories WHERE seen_at >= ?", (day_ago,)
            ),
            alerts_24h=await self._scalar(
                """SELECT count(*) FROM outbox
                   WHERE kind != 'broadcast' AND status = 'sent' AND sent_at >= ?""",
                (day_ago,),
            ),
            pending=await self._scalar("SELECT count(*) FROM outbox WHERE status = 'pending'"),
            oldest_pending_at=await self._optional(
                "SELECT min(created_at) FROM outbox WHERE status = 'pending'"
            ),
            database_bytes=page_size * pages,
            free_bytes=page_size * free_pages,
            matches_waiting=await self._scalar(f"SELECT count(*) {_WAITING}"),
            oldest_match_at=await self._optional(f"SELECT min(matched_at) {_WAITING}"),
        )

    async def _scalar(self, sql: str, params: tuple[float, ...] = ()) -> int:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def _optional(self, sql: str) -> float | None:
        async with self._db.execute(sql) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def _grouped(self, sql: str) -> dict[str, int]:
        async with self._db.execute(sql) as cursor:
            rows = await cursor.fetchall()
        return {str(row[0]): int(row[1]) for row in rows}


# Matches after the watermark: some chat may still have to claim them.
_WAITING = "FROM story_matches WHERE id > (SELECT watermark FROM delivery_state)"
