"""The PostgreSQL connections: a psycopg async pool, and one transaction per storage call.

Every entity module builds on PostgresBase; a method runs its statements in
`async with self._transaction() as db:`, which commits when the body ends and rolls back when
it raises. Unlike SQLite's single writer, transactions run side by side: where order matters
(match ids, a chat's claim) a module takes a lock of its own (see stories.py, claims.py).
"""

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.storage.errors import StorageError, StorageUnavailable

log = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[tuple[Any, ...]]
Pool = AsyncConnectionPool[Connection]

# Connections the bot keeps: the poller, the delivery worker, handlers and the dry run each
# hold one for a transaction at a time.
POOL_MIN_SIZE = 2
POOL_MAX_SIZE = 10
# How long a call waits for a free connection (or for the server at start) before the
# database counts as unavailable.
CONNECT_TIMEOUT_SECONDS = 10.0


class PostgresBase:
    """A pool of connections to one PostgreSQL database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        """Lend a connection for one transaction: committed at the end, rolled back on error."""
        try:
            async with self._pool.connection() as db:
                yield db
        except PoolTimeout as error:
            raise StorageUnavailable(f"no database connection is free: {error}") from error
        except psycopg.OperationalError as error:
            # A lost connection, a server shutting down, a serialization failure: the caller
            # can wait and retry; the transaction was rolled back.
            raise StorageUnavailable(f"the database cannot be used now: {error}") from error

    async def close(self) -> None:
        """Close every connection of the pool."""
        await self._pool.close()


async def open_pool(url: str) -> Pool:
    """Open a pool to the database at url; raise StorageError naming DATABASE_URL if it fails."""
    # One connection first: its error says what is wrong (refused, no such database, bad
    # password) at once, where the pool would retry in the background until its timeout.
    try:
        probe = await psycopg.AsyncConnection.connect(
            url, connect_timeout=int(CONNECT_TIMEOUT_SECONDS)
        )
    except psycopg.Error as error:
        raise StorageError(
            f"DATABASE_URL {redact(url)} cannot be used: {_first_line(error)}; check the "
            "server, the user and the database name"
        ) from None
    await probe.close()
    pool: Pool = AsyncConnectionPool(
        url,
        min_size=POOL_MIN_SIZE,
        max_size=POOL_MAX_SIZE,
        timeout=CONNECT_TIMEOUT_SECONDS,
        open=False,
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
    except PoolTimeout as error:
        await pool.close()
        raise StorageError(f"DATABASE_URL {redact(url)} cannot be used: {error}") from None
    return pool


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def redact(url: str) -> str:
    """Return the URL (or key=value conninfo) without its password, for messages and logs."""
    url = _PASSWORD_PARAMETER.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


# password=... in a URL's query string or in a key=value conninfo.
_PASSWORD_PARAMETER = re.compile(r"(password=)[^&\s]*")
