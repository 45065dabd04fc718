"""The health probe's write and the delivery backlog, for /healthz and /metrics."""

from bot.storage.health import Backlog
from bot.storage.postgres.connection import PostgresBase

# Matches after the watermark: some chat may still have to claim them.
_WAITING = "FROM story_matches WHERE id > (SELECT watermark FROM delivery_state)"


class HealthMixin(PostgresBase):
    """One row rewritten by each probe; backlog figures read from indexes."""

    async def probe_write(self, now: float) -> None:
        """Commit one tiny write; raise StorageUnavailable when the database takes none."""
        async with self._transaction() as db:
            await db.execute(
                """INSERT INTO health_probe (id, written_at) VALUES (1, %s)
                   ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at""",
                (now,),
            )

    async def backlog(self, now: float) -> Backlog:
        """Return what waits for delivery at `now` and since when."""
        # Rows and matches are numbered as they are queued: the lowest id is the oldest, read
        # from the index instead of scanning every pending row for the smallest time.
        async with self._transaction() as db:
            cursor = await db.execute(
                f"""SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'),
                          (SELECT created_at FROM outbox
                           WHERE status = 'pending' AND next_attempt_at <= %s
                           ORDER BY id LIMIT 1),
                          (SELECT count(*) {_WAITING}),
                          (SELECT matched_at {_WAITING} ORDER BY id LIMIT 1)""",
                (now,),
            )
            row = await cursor.fetchone()
        assert row is not None  # a SELECT without FROM always gives one row
        return Backlog(
            pending_rows=int(row[0]),
            oldest_due_at=None if row[1] is None else float(row[1]),
            waiting_matches=int(row[2]),
            oldest_match_at=None if row[3] is None else float(row[3]),
        )
