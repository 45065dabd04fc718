"""Applying the schema (schema.py) at open, and the database's health."""

import logging

from bot.storage.errors import StorageError
from bot.storage.postgres.connection import Connection, PostgresBase
from bot.storage.postgres.schema import LOCK_SQL, MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)


class MigrationsMixin(PostgresBase):
    """Bring the database to the current schema; report its version and health."""

    async def _migrate(self) -> None:
        async with self._transaction() as db:
            # Two bots starting at once: the second waits, then finds the work done.
            await db.execute(LOCK_SQL, (MIGRATION_LOCK,))
            await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
            version = await _version(db)
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"the database has schema version {version}, newer than this Newshound "
                    f"understands ({SCHEMA_VERSION}): upgrade Newshound or use another "
                    "DATABASE_URL"
                )
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                log.info("Applying PostgreSQL migration %d: %s", number, migration.name)
                async with db.transaction():  # a savepoint: the step and its number together
                    for statement in migration.statements:
                        await db.execute(statement)
                    await db.execute("DELETE FROM schema_version")
                    await db.execute("INSERT INTO schema_version VALUES (%s)", (number,))

    async def schema_version(self) -> int:
        """Return the version of the schema the database is at."""
        async with self._transaction() as db:
            return await _version(db)

    async def integrity_check(self) -> str:
        """Return "ok" when the server answers and the schema is the one this code knows."""
        version = await self.schema_version()
        if version != SCHEMA_VERSION:
            return f"schema version {version}, expected {SCHEMA_VERSION}"
        return "ok"


async def _version(db: Connection) -> int:
    cursor = await db.execute("SELECT max(version) FROM schema_version")
    row = await cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0
