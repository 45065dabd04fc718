"""The polling lock on PostgreSQL: a session advisory lock on a connection of its own.

Not one of the pool's connections: a session lock lives as long as its session, and the pool
lends connections out and resets them. When the holder's process dies or its connection drops,
the server ends the session and the lock with it, and another instance's next try takes it.
TCP keepalives, on both ends, make a connection lost without a word (a dead host, a cut
network) count as dropped within seconds rather than hours.
"""

import logging

import psycopg

from bot.storage.errors import StorageUnavailable
from bot.storage.postgres.connection import CONNECT_TIMEOUT_SECONDS, Connection, redact

log = logging.getLogger(__name__)

# Advisory lock keys are per database: this one, with the schema's hash, names the lock of
# the bots sharing one schema (the transaction-level keys are in schema.py, 0x4E53_00xx).
POLLING_LOCK = 0x4E53_0100
TRY_LOCK_SQL = "SELECT pg_try_advisory_lock(%s::integer, hashtext(current_schema()))"
UNLOCK_SQL = "SELECT pg_advisory_unlock(%s::integer, hashtext(current_schema()))"
# The server's side of the keepalives (settable per session): probe after 5 s of silence,
# every 2 s, give up after 3 unanswered probes.
SERVER_KEEPALIVES = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
)


class PostgresPollingLock:
    """The polling lock of the bots sharing one database schema."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._db: Connection | None = None
        self._held = False

    async def acquire(self) -> bool:
        """Try once to take the lock (connecting first if needed); return whether held."""
        try:
            db = await self._connection()
            cursor = await db.execute(TRY_LOCK_SQL, (POLLING_LOCK,))
            row = await cursor.fetchone()
        except psycopg.Error as error:
            await self._drop()
            raise StorageUnavailable(f"the polling lock cannot be taken now: {error}") from error
        self._held = bool(row and row[0])
        return self._held

    async def held(self) -> bool:
        """Return whether the lock's session is still there (it holds the lock while it is)."""
        if not self._held or self._db is None or self._db.closed:
            return False
        try:
            await self._db.execute("SELECT 1")
        except psycopg.Error as error:
            log.warning("The polling lock's database session is gone: %s", error)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        """Unlock and close the session (closing alone would release it too)."""
        try:
            if self._db is not None and not self._db.closed and self._held:
                await self._db.execute(UNLOCK_SQL, (POLLING_LOCK,))
        except psycopg.Error as error:
            log.warning("Could not unlock the polling lock (closing its session): %s", error)
        finally:
            # Even when cancelled: a session left open would hold the lock.
            await self._drop()

    async def _connection(self) -> Connection:
        if self._db is not None and not self._db.closed:
            return self._db
        self._db = None
        db = await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=int(CONNECT_TIMEOUT_SECONDS),
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        )
        self._db = db
        for statement in SERVER_KEEPALIVES:
            await db.execute(statement)
        log.debug("Opened the polling lock's session to %s", redact(self._conninfo))
        return db

    async def _drop(self) -> None:
        self._held = False
        db, self._db = self._db, None
        if db is not None and not db.closed:
            try:
                await db.close()
            except psycopg.Error as error:
                log.debug("Closing the polling lock's session failed: %s", error)
