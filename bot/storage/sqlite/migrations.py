"""Applying the schema (schema.py) at open, and the one-off switch to incremental vacuum."""

import logging
import sqlite3

from bot.storage.errors import StorageError
from bot.storage.sqlite.connection import SqliteBase, serialized
from bot.storage.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)


AUTO_VACUUM_INCREMENTAL = 2


class MigrationsMixin(SqliteBase):
    """Bring the file to the current schema; report its version and health."""

    async def _migrate(self) -> None:
        version = await self.schema_version()
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the database has schema version {version}, newer than this Newshound "
                f"understands ({SCHEMA_VERSION}): upgrade Newshound or use another DATABASE_PATH"
            )
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("Applying database migration %d: %s", number, migration.name)
            async with self._transaction():
                for statement in migration.statements:
                    await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {number}")
        if version < SCHEMA_VERSION:
            # A migration that rebuilds a table frees the old one's pages: give them back.
            await self._incremental_vacuum(await self._pragma("freelist_count"))

    @serialized
    async def schema_version(self) -> int:
        """Return PRAGMA user_version."""
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @serialized
    async def integrity_check(self) -> str:
        """Return SQLite's integrity check verdict ("ok" when healthy)."""
        async with self._db.execute("PRAGMA integrity_check") as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else "no answer"

    async def _use_incremental_vacuum(self) -> None:
        """Switch the file to incremental auto-vacuum, once, so pruning can shrink it.

        The mode only changes on an empty database or through a VACUUM, which cannot run
        inside a transaction: so it is done here, at open, outside the migrations. A file
        that cannot be rewritten now (disk full, busy) still works; freed pages are reused
        and the switch is tried again at the next start.
        """
        if await self._pragma("auto_vacuum") == AUTO_VACUUM_INCREMENTAL:
            return
        await self._db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        if await self._pragma("auto_vacuum") == AUTO_VACUUM_INCREMENTAL:
            return
        size = await self._pragma("page_count") * await self._pragma("page_size")
        log.info("Rewriting the database once (%d bytes) to enable incremental vacuum", size)
        try:
            await self._db.execute("VACUUM")
        except sqlite3.OperationalError as error:
            log.warning(
                "Could not rewrite the database for incremental vacuum, will retry at the "
                "next start (freed space is still reused meanwhile): %s",
                error,
            )
