"""The commands that move data without Telegram: `newshound backup`, `newshound feeds
import|export` and `newshound migrate-db` (bot/cli.py parses and dispatches)."""

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config import POSTGRES_SCHEMES, ConfigError
from bot.config_tools import (
    FeedToolSettings,
    database_path_from_process,
    database_url_from_process,
    feed_tool_settings_from_process,
)
from bot.feedlists import export_document, import_with_own_fetcher, read_source, write_target
from bot.ingest.opml import ImportOutcome, OpmlError, read_opml
from bot.render.opml import import_report
from bot.storage import StorageError
from bot.storage.backends import copy_sqlite_to_postgres, open_storage, redact
from bot.storage.sqlite import backup_database

EXIT_CONFIG_ERROR = 2
# `newshound feeds import`: the file was read, but some feeds were refused (the report says
# which and why); 2 means nothing was imported at all.
EXIT_SOME_REFUSED = 1


def fail(message: str) -> int:
    """Say what went wrong on stderr, in one line; return the exit status for it."""
    print(f"newshound: error: {message}", file=sys.stderr)
    return EXIT_CONFIG_ERROR


def backup_command(target: Path) -> int:
    if database_url_from_process() is not None:
        return fail(
            "backup copies the SQLite file at DATABASE_PATH; with DATABASE_URL set, back up "
            "PostgreSQL with pg_dump"
        )
    source = database_path_from_process()
    try:
        backup_database(source, target)
    except StorageError as error:
        return fail(str(error))
    print(f"Backed up {source} to {target}", flush=True)
    return 0


def feeds_command(action: str, file: str) -> int:
    try:
        settings = feed_tool_settings_from_process()
        if action == "export":
            return asyncio.run(_export_feeds(settings, file))
        return asyncio.run(_import_feeds(settings, file))
    except (ConfigError, OpmlError, StorageError) as error:
        return fail(str(error))
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            raise
        return fail(f"{file}: {error.strerror or error}")


async def _export_feeds(settings: FeedToolSettings, target: str) -> int:
    if settings.database_url is None and not settings.database_path.exists():
        return fail(f"no database at {settings.database_path} (DATABASE_PATH)")
    storage = await open_storage(settings.database_url, settings.database_path)
    try:
        document, count = await export_document(storage, datetime.now(UTC))
    finally:
        await storage.close()
    write_target(target, document)
    print(f"Exported {count} feed{'' if count == 1 else 's'} to {target}", file=sys.stderr)
    return 0


async def _import_feeds(settings: FeedToolSettings, source: str) -> int:
    listed = read_opml(read_source(source))
    storage = await open_storage(settings.database_url, settings.database_path)
    try:
        results = await import_with_own_fetcher(listed, storage, settings)
    finally:
        await storage.close()
    print(import_report(results, html=False)[0], flush=True)
    refused = any(result.outcome is ImportOutcome.REFUSED for result in results)
    return EXIT_SOME_REFUSED if refused else 0


def migrate_db_command(url: str) -> int:
    if not url.startswith(POSTGRES_SCHEMES):
        return fail(f"--to must be a postgresql:// URL (got {redact(url)!r})")
    source = database_path_from_process()
    try:
        copied = asyncio.run(copy_sqlite_to_postgres(source, url))
    except StorageError as error:
        return fail(str(error))
    for table, rows in copied:
        print(f"{table}: {rows} rows")
    total = sum(rows for _, rows in copied)
    print(
        f"Copied {source} to {redact(url)}: {total} rows in {len(copied)} tables, every "
        "count checked. Set DATABASE_URL to use it.",
        flush=True,
    )
    return 0
