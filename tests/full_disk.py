"""A really full disk for a Storage: its database file may not grow by a single page."""

import contextlib
from collections.abc import AsyncIterator

import aiosqlite

from bot.storage import Storage


async def _pragma(db: aiosqlite.Connection, pragma: str) -> int:
    async with db.execute(f"PRAGMA {pragma}") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


@contextlib.asynccontextmanager
async def full_disk(storage: Storage) -> AsyncIterator[None]:
    """Fail every write that needs a new page with SQLITE_FULL, until the block ends.

    PRAGMA max_page_count belongs to one connection, so it is set on the one the storage
    writes with (its private `_db`: production code has no business changing it). A page on
    the freelist would be reused before the file grows, so there must be none.
    """
    db = storage._db
    assert await _pragma(db, "freelist_count") == 0, "a free page would absorb the next write"
    unlimited = await _pragma(db, "max_page_count")
    pages = await _pragma(db, "page_count")
    assert await _pragma(db, f"max_page_count = {pages}") == pages
    try:
        yield
    finally:
        await _pragma(db, f"max_page_count = {unlimited}")
