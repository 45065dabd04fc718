"""A really full disk for a Storage: its database file may not grow by a single page."""

import contextlib
from collections.abc import AsyncIterator

import aiosqlite

from bot.storage.sqlite import SqliteStorage


async def _pragma(db: aiosqlite.Connection, pragma: str) -> int:
    async with db.execute(f"PRAGMA {pragma}") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


class FullDisk:
    """Fail every write of a storage that needs a new page with SQLITE_FULL, until healed.

    PRAGMA max_page_count belongs to one connection, so it is set on the one the storage
    writes with (its private `_db`: production code has no business changing it).
    """

    def __init__(self, storage: SqliteStorage) -> None:
        self._db = storage._db
        self._unlimited: int | None = None

    async def fill(self) -> None:
        """Stop the database file from growing: it is as big as the disk allows."""
        # A page on the freelist would be reused before the file grows.
        assert await _pragma(self._db, "freelist_count") == 0, "a free page absorbs writes"
        self._unlimited = await _pragma(self._db, "max_page_count")
        pages = await _pragma(self._db, "page_count")
        assert await _pragma(self._db, f"max_page_count = {pages}") == pages

    async def heal(self) -> None:
        """Let the database file grow again, as after freeing disk space."""
        assert self._unlimited is not None, "fill() first"
        await _pragma(self._db, f"max_page_count = {self._unlimited}")


@contextlib.asynccontextmanager
async def full_disk(storage: SqliteStorage) -> AsyncIterator[None]:
    """Keep the storage's disk full for the duration of the block."""
    disk = FullDisk(storage)
    await disk.fill()
    try:
        yield
    finally:
        await disk.heal()
