"""The figures /stats shows, counted in the database."""

from bot.storage.models import Stats
from bot.storage.postgres.connection import Connection, PostgresBase


class StatsMixin(PostgresBase):
    """Counts over every table."""

    async def stats(self, now: float, top: int = 10) -> Stats:
        """Return the figures /stats shows (the database's size is the server's figure for
        the whole database; PostgreSQL keeps no free-page count: VACUUM reuses the space)."""
        day_ago = now - 24 * 3600
        async with self._transaction() as db:
            cursor = await db.execute("SELECT status, count(*) FROM chats GROUP BY status")
            chats = {str(row[0]): int(row[1]) for row in await cursor.fetchall()}
            cursor = await db.execute(
                """SELECT query, count(*) AS n, min(display) FROM subscriptions
                   GROUP BY query ORDER BY n DESC, query LIMIT %s""",
                (top,),
            )
            top_queries = [(str(r[2]), int(r[1])) for r in await cursor.fetchall()]
            return Stats(
                chats=chats,
                subscriptions=int(await _scalar(db, "SELECT count(*) FROM subscriptions") or 0),
                top_queries=top_queries,
                feeds=int(await _scalar(db, "SELECT count(*) FROM feeds") or 0),
                failing_feeds=int(
                    await _scalar(db, "SELECT count(*) FROM feeds WHERE failures > 0") or 0
                ),
                stories_24h=int(
                    await _scalar(db, "SELECT count(*) FROM stories WHERE seen_at >= %s", day_ago)
                    or 0
                ),
                alerts_24h=int(
                    await _scalar(
                        db,
                        """SELECT count(*) FROM outbox
                           WHERE kind != 'broadcast' AND status = 'sent' AND sent_at >= %s""",
                        day_ago,
                    )
                    or 0
                ),
                pending=int(
                    await _scalar(db, "SELECT count(*) FROM outbox WHERE status = 'pending'") or 0
                ),
                oldest_pending_at=await _scalar(
                    db, "SELECT min(created_at) FROM outbox WHERE status = 'pending'"
                ),
                database_bytes=int(
                    await _scalar(db, "SELECT pg_database_size(current_database())") or 0
                ),
                free_bytes=0,
                matches_waiting=int(await _scalar(db, f"SELECT count(*) {_WAITING}") or 0),
                oldest_match_at=await _scalar(db, f"SELECT min(matched_at) {_WAITING}"),
            )


async def _scalar(db: Connection, sql: str, *params: float) -> float | None:
    cursor = await db.execute(sql, params)
    row = await cursor.fetchone()
    return float(row[0]) if row and row[0] is not None else None


# Matches after the watermark: some chat may still have to claim them.
_WAITING = "FROM story_matches WHERE id > (SELECT watermark FROM delivery_state)"
