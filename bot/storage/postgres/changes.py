"""Changes every instance hears: NOTIFY in the changing transaction, one LISTEN per process.

A storage method that changes what instances keep in memory calls `announce` inside its
transaction: PostgreSQL sends the notification when (and only if) it commits, in commit
order. Each process listens on a connection of its own (autocommit, outside the pool); when
that connection drops it reconnects and applies RESYNC, since what was committed meanwhile
was not heard. The channel is named after the schema, so bots on other schemas of the same
database (tests, staging) do not hear each other.
"""

import asyncio
import contextlib
import logging

import psycopg
from psycopg import sql

from bot.storage.changes import RESYNC, ApplyChange, Change, ChangeStream, parse_change
from bot.storage.errors import StorageUnavailable
from bot.storage.postgres.connection import CONNECT_TIMEOUT_SECONDS, Connection, PostgresBase

log = logging.getLogger(__name__)

# The channel's name: an identifier, so at most 63 bytes (NAMEDATALEN - 1).
CHANNEL_SQL = "left('newshound_' || current_schema(), 63)"
# With no notification for this long the connection is probed: a peer that vanished without
# closing the socket is noticed within this, not at the next change.
PROBE_SECONDS = 30.0
# The first wait before reconnecting, or resynchronising while the database is unavailable.
RETRY_SECONDS = 1.0
# The wait doubles while the server stays away, up to this.
MAX_RETRY_SECONDS = 30.0


async def announce(db: Connection, *changes: Change) -> None:
    """Notify every listening instance of these changes when db's transaction commits."""
    for change in changes:
        await db.execute(f"SELECT pg_notify({CHANNEL_SQL}, %s)", (change.payload(),))


class PostgresChanges:
    """This process's listening connection, reconnected (and RESYNC applied) when lost."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._db: Connection | None = None

    async def connect(self) -> None:
        """Open the connection and LISTEN; notifications committed from now on are kept."""
        db = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT_SECONDS)
        )
        try:
            cursor = await db.execute(f"SELECT {CHANNEL_SQL}")
            row = await cursor.fetchone()
            assert row is not None
            await db.execute(sql.SQL("LISTEN {}").format(sql.Identifier(str(row[0]))))
        except BaseException:
            await db.close()
            raise
        self._db = db

    async def run(self, apply: ApplyChange, stop: asyncio.Event) -> None:
        """Apply each change heard until stop (see bot.storage.changes.ChangeStream)."""
        follow = asyncio.create_task(self._follow(apply), name="change notifications")
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([follow, stopped], return_when=asyncio.FIRST_COMPLETED)
            if follow.done():
                follow.result()  # an error applying a change: the caller's to report
        finally:
            for task in (follow, stopped):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _follow(self, apply: ApplyChange) -> None:
        resync, delay = False, RETRY_SECONDS
        while True:
            try:
                if self._db is None:
                    await self.connect()
                    log.info("Listening for other instances' changes again")
                    resync = True
                if resync:
                    await apply(RESYNC)
                    resync, delay = False, RETRY_SECONDS
                await self._hear(self._db, apply)
            except psycopg.Error as error:
                log.warning("Lost the change notifications (%s); reconnecting", error)
                await self._drop()
            except StorageUnavailable as error:
                log.warning("Cannot apply a change now (%s); reading everything again", error)
                resync = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    async def _hear(self, db: Connection | None, apply: ApplyChange) -> None:
        """Apply notifications as they come; probe the connection when none comes."""
        assert db is not None
        while True:
            async for notify in db.notifies(timeout=PROBE_SECONDS):
                change = parse_change(notify.payload)
                if change is None:
                    log.warning("Ignoring a change notification not understood: %r", notify)
                    continue
                await apply(change)
            await db.execute("SELECT 1")

    async def _drop(self) -> None:
        if self._db is not None:
            with contextlib.suppress(psycopg.Error):
                await self._db.close()
            self._db = None

    async def close(self) -> None:
        """Stop listening."""
        await self._drop()


class ChangesMixin(PostgresBase):
    """listen_changes: this process's stream of every instance's changes."""

    async def listen_changes(self) -> ChangeStream:
        """Listen from now on (raise StorageUnavailable if the server cannot be reached)."""
        conninfo = self._pool.conninfo
        assert isinstance(conninfo, str)  # open_pool gives a URL
        stream = PostgresChanges(conninfo)
        try:
            await stream.connect()
        except psycopg.OperationalError as error:
            raise StorageUnavailable(f"cannot listen for changes: {error}") from error
        return stream
