"""The health probe's write and the delivery backlog, for /healthz and /metrics."""

import aiosqlite

from bot.storage.health import Backlog
from bot.storage.sqlite.connection import SqliteBase, reading, serialized

# Matches after the watermark: some chat may still have to claim them.
_WAITING = "FROM story_matches WHERE id > (SELECT watermark FROM delivery_state)"


class HealthMixin(SqliteBase):
    """One row rewritten by each probe; backlog figures read from indexes."""

    @serialized
    async def probe_write(self, now: float) -> None:
        """Commit one tiny write; raise StorageUnavailable when the database takes none."""
        async with self._transaction():
            await self._db.execute(
                "INSERT OR REPLACE INTO health_probe (id, written_at) VALUES (1, ?)", (now,)
            )

    @reading
    async def backlog(self, reader: aiosqlite.Connection, now: float) -> Backlog:
        """Return what waits for delivery at `now` and since when, not waiting for the writer."""
        # Rows and matches are numbered as they are queued: the lowest id is the oldest, read
        # from the index instead of scanning every pending row for the smallest time.
        async with reader.execute(
            """SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'),
                      (SELECT created_at FROM outbox
                       WHERE status = 'pending' AND next_attempt_at <= ?
                       ORDER BY id LIMIT 1),
                      (SELECT count(*) """
            + _WAITING
            + """), (SELECT matched_at """
            + _WAITING
            + " ORDER BY id LIMIT 1)",
            (now,),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None  # a SELECT without FROM always gives one row
        return Backlog(
            pending_rows=int(row[0]),
            oldest_due_at=None if row[1] is None else float(row[1]),
            waiting_matches=int(row[2]),
            oldest_match_at=None if row[3] is None else float(row[3]),
        )
