"""The SQLite connections: one serialized writer, one WAL reader, and their transactions.

Every entity module builds on SqliteBase and marks its methods @serialized (writes, and
reads that must see the writer's own state) or @reading (reads a person waits for).
"""

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.storage.errors import StorageError, StorageUnavailable
from bot.storage.sqlite.faults import is_unavailable
from bot.storage.sqlite.feed_leases import Leases

log = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T")
_Base = TypeVar("_Base", bound="SqliteBase")

# Well under SQLite's limit on bound parameters per statement.
IN_CHUNK = 500


class SqliteBase:
    """One long-lived aiosqlite writer connection, a reader beside it, and their locks."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        # Handlers, the poller and the delivery worker share this one connection: a
        # transaction spans several awaits, and another task's statement in between would
        # join it (or fail on a nested BEGIN). One task at a time uses the connection.
        self._lock = asyncio.Lock()
        # Reads a user waits for (/list, /start...) go through their own connection: in WAL
        # mode they see every committed write without queueing behind a poll's transaction.
        self._reader: aiosqlite.Connection | None = None
        self._read_lock = asyncio.Lock()
        # Feed leases and instances: one process, so in memory (leases.py).
        self._leases = Leases()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """Run the body as one write transaction; the caller holds the lock."""
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            # Inside the try: a COMMIT can fail too (full disk, I/O error, a deferred
            # constraint), and SQLite may then keep the transaction open; left open, it
            # would make every later BEGIN fail and swallow every later write.
            await self._db.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise

    async def _on_writer_thread(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `work` with the writer's plain sqlite3 connection, in one call on its thread.

        The caller holds the lock. Each aiosqlite await is a hop to that thread and back
        through the event loop, queued behind the loop's other callbacks: a transaction of
        many statements held the writer for all of those waits (bench: the steady poll
        cycle). aiosqlite has no public way to run a function on its thread; `_execute` is
        the hook its own methods use (its version range is pinned in pyproject.toml, and
        tests/test_storage.py runs this path).
        """
        db = self._db
        result: _T = await db._execute(lambda: work(db._conn))  # type: ignore[no-untyped-call]
        return result

    async def _transaction_on_writer(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `work` as one write transaction in one call on the writer's thread."""
        return await self._on_writer_thread(lambda db: in_transaction(db, work))

    async def _rollback(self) -> None:
        """End a failed transaction, unless SQLite already did (it may, on SQLITE_FULL)."""
        if not self._db.in_transaction:
            return
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            # The error that made us roll back is what the caller must see; this one is
            # logged so that it is not lost.
            log.exception("Could not roll back a failed transaction")

    async def _configure(self) -> None:
        try:
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._db.execute("PRAGMA busy_timeout=5000")
        except sqlite3.DatabaseError as error:
            raise StorageError(f"DATABASE_PATH is not a usable SQLite database: {error}") from None

    async def _open_reader(self, path: Path) -> None:
        reader = await aiosqlite.connect(path, isolation_level=None)
        await reader.execute("PRAGMA query_only=ON")
        await reader.execute("PRAGMA busy_timeout=5000")
        self._reader = reader

    async def close(self) -> None:
        """Close the connections (and their threads)."""
        if self._reader is not None:
            await self._reader.close()
        await self._db.close()

    async def _pragma(self, name: str) -> int:
        async with self._db.execute(f"PRAGMA {name}") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _page_counts(self) -> tuple[int, int, int]:
        """Return page size, pages in the file, and pages free inside it."""
        return (
            await self._pragma("page_size"),
            await self._pragma("page_count"),
            await self._pragma("freelist_count"),
        )

    async def _incremental_vacuum(self, pages: int) -> int:
        """Give up to `pages` free pages back to the file system; return how many stay free."""
        # executescript steps the pragma to the end; execute() would free a single page.
        await self._db.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
        return await self._pragma("freelist_count")


def in_transaction(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """Run `work` on a plain sqlite3 connection as one write transaction (see _transaction)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("Could not roll back a failed transaction")
        raise
    return result


def serialized(
    method: Callable[Concatenate[_Base, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[_Base, _P], Coroutine[Any, Any, _R]]:
    """Make a storage method wait for the writer connection to be free (SqliteBase._lock)."""

    async def wrapper(storage: _Base, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with storage._lock:
            try:
                return await method(storage, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if not is_unavailable(error):
                    raise  # a bug ("no such column"): retrying cannot help; callers log it
                # Disk full, read-only file system, I/O error, a lock held too long: the
                # caller can wait and retry; nothing was written.
                raise StorageUnavailable(f"the database cannot be written: {error}") from error

    functools.update_wrapper(wrapper, method)
    return wrapper


def reading(
    method: Callable[Concatenate[_Base, aiosqlite.Connection, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[_Base, _P], Coroutine[Any, Any, _R]]:
    """Run a read-only storage method on the reader connection (SqliteBase._reader)."""

    async def wrapper(storage: _Base, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        reader = storage._reader or storage._db
        lock = storage._read_lock if storage._reader else storage._lock
        async with lock:
            try:
                return await method(storage, reader, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if not is_unavailable(error):
                    raise
                raise StorageUnavailable(f"the database cannot be read: {error}") from error

    functools.update_wrapper(wrapper, method)
    return wrapper


def chunks(values: Sequence[_T]) -> list[Sequence[_T]]:
    """Split values for IN lists of at most IN_CHUNK parameters."""
    return [values[i : i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK)]


def marks(values: Sequence[object]) -> str:
    """Return the placeholders of an IN list of these values."""
    return ",".join("?" * len(values))
