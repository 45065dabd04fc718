"""Where a backend is chosen and opened: PostgreSQL for a DATABASE_URL, else SQLite."""

from pathlib import Path

from bot.storage.postgres import PostgresStorage
from bot.storage.protocols import Storage
from bot.storage.sqlite import SqliteStorage


async def open_storage(database_url: str | None, database_path: Path) -> Storage:
    """Open (creating and migrating as needed) the database the settings choose."""
    if database_url is not None:
        return await PostgresStorage.open(database_url)
    return await SqliteStorage.open(database_path)
