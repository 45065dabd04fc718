"""Where a backend is chosen and opened: PostgreSQL for a DATABASE_URL, else SQLite; and a
SQLite database copied into PostgreSQL (`newshound migrate-db`)."""

import asyncio
from pathlib import Path

from bot.storage.errors import StorageError
from bot.storage.postgres import PostgresStorage
from bot.storage.postgres.connection import redact
from bot.storage.postgres.copy import copy_into
from bot.storage.protocols import Storage
from bot.storage.sqlite import SqliteStorage
from bot.storage.sqlite.export import SqliteExport

__all__ = ["copy_sqlite_to_postgres", "open_storage", "redact"]


async def open_storage(database_url: str | None, database_path: Path) -> Storage:
    """Open (creating and migrating as needed) the database the settings choose."""
    if database_url is not None:
        return await PostgresStorage.open(database_url)
    return await SqliteStorage.open(database_path)


async def copy_sqlite_to_postgres(path: Path, url: str) -> list[tuple[str, int]]:
    """Copy the SQLite database at path into the empty PostgreSQL database at url; return
    (table, rows) of every table, each count checked against the source's."""
    if not await asyncio.to_thread(path.is_file):
        raise StorageError(f"there is no database at {path} (DATABASE_PATH) to copy")
    # Brought to the current schema first: the copy maps today's tables.
    source = await SqliteStorage.open(path)
    await source.close()
    target = await PostgresStorage.open(url)
    try:
        with SqliteExport(path) as tables:
            return await copy_into(target, tables)
    finally:
        await target.close()
