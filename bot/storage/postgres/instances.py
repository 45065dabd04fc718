"""The instances sharing a PostgreSQL database: a row each, kept live by heartbeats.

A heartbeat also extends the feed leases its instance holds (feeds.py): a live instance keeps
the feeds it is polling however long a poll takes, and a dead one's leases end within
INSTANCE_LEASE_SECONDS, when another instance takes its feeds.
"""

from bot.storage.instances import PollingLock
from bot.storage.postgres.connection import PostgresBase
from bot.storage.postgres.polling_lock import PostgresPollingLock

# Rows of instances silent this long are deleted by the next heartbeat of any instance.
FORGET_AFTER_SECONDS = 24 * 3600.0


class InstancesMixin(PostgresBase):
    """The instances table."""

    async def heartbeat(self, instance: str, now: float, until: float) -> None:
        """Count instance live until then, and extend its feed leases to then."""
        async with self._transaction() as db:
            await db.execute(
                """INSERT INTO instances (id, started_at, last_seen, expires_at)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (id) DO UPDATE
                   SET last_seen = excluded.last_seen, expires_at = excluded.expires_at""",
                (instance, now, now, until),
            )
            await db.execute(
                "UPDATE feeds SET lease_until = %s WHERE lease_owner = %s AND lease_until > %s",
                (until, instance, now),
            )
            await db.execute(
                "DELETE FROM instances WHERE expires_at < %s", (now - FORGET_AFTER_SECONDS,)
            )

    async def live_instances(self, now: float) -> list[str]:
        """Return the instances whose last heartbeat lasts past now, sorted."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT id FROM instances WHERE expires_at > %s ORDER BY id", (now,)
            )
            return [str(row[0]) for row in await cursor.fetchall()]

    async def retire(self, instance: str) -> None:
        """Forget a stopping instance and release the feed leases it still holds."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE feeds SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = %s",
                (instance,),
            )
            await db.execute("DELETE FROM instances WHERE id = %s", (instance,))

    def polling_lock(self) -> PollingLock | None:
        """A lock on a session of its own, to the pool's database."""
        conninfo = self._pool.conninfo
        assert isinstance(conninfo, str), "open_pool builds the pool from a URL"
        return PostgresPollingLock(conninfo)
