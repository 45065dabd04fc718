"""Copying another database's tables into an empty PostgreSQL one (`newshound migrate-db`).

Every table goes in one transaction, in dependency order, with COPY; identity sequences are
moved past the copied ids (story_matches past the highest id ever given, which the chats'
cursors count from); each table's row count is checked against the source's before the
commit. Anything wrong and nothing is written.
"""

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from psycopg import sql

from bot.storage.errors import StorageError
from bot.storage.postgres.connection import Connection
from bot.storage.postgres.store import PostgresStorage

# Parents before children; every table the schema has.
TABLES = (
    "chats",
    "feeds",
    "stories",
    "subscriptions",
    "broadcasts",
    "outbox",
    "story_matches",
    "delivery_state",
    "story_texts",
    "chat_schedules",
    "hidden_feeds",
    "health_probe",
    "alert_edits",
    "channels",
)
IDENTITY_TABLES = ("subscriptions", "feeds", "stories", "broadcasts", "outbox", "story_matches")
# Columns left to their default: the copied texts are indexed again (a tsvector, not FTS5).
NOT_COPIED = {"story_texts": {"indexed", "keys"}}
# What an empty database (just migrated) may hold.
EMPTY = {"delivery_state": 1}


class TableSource(Protocol):
    """The database copied from (bot.storage.sqlite.export.SqliteExport)."""

    def columns(self, table: str) -> list[str]: ...

    def rows(self, table: str, columns: list[str]) -> Iterable[tuple[Any, ...]]: ...

    def count(self, table: str) -> int: ...

    def sequence(self, table: str) -> int: ...


async def copy_into(storage: PostgresStorage, source: TableSource) -> list[tuple[str, int]]:
    """Copy every table of source into storage's (empty) database; return (table, rows)."""
    async with storage._transaction() as db:
        await _refuse_unless_empty(db)
        await db.execute("DELETE FROM delivery_state")
        copied: list[tuple[str, int]] = []
        for table in TABLES:
            columns = await _common_columns(db, source, table)
            await _copy_table(db, table, columns, source.rows(table, columns))
            expected, found = source.count(table), await _count(db, table)
            if found != expected:
                raise StorageError(
                    f"{table}: {found} rows arrived of {expected}; nothing was copied"
                )
            copied.append((table, found))
        for table in IDENTITY_TABLES:
            await _move_sequence(db, table, source.sequence(table))
    return copied


async def _refuse_unless_empty(db: Connection) -> None:
    held = [(table, await _count(db, table)) for table in TABLES]
    extra = [f"{count} {table}" for table, count in held if count > EMPTY.get(table, 0)]
    if extra:
        raise StorageError(
            "the PostgreSQL database already holds Newshound data ("
            + ", ".join(extra)
            + "): copy into a new, empty database"
        )


async def _common_columns(db: Connection, source: TableSource, table: str) -> list[str]:
    cursor = await db.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = %s""",
        (table,),
    )
    target = {str(row[0]) for row in await cursor.fetchall()}
    skipped = NOT_COPIED.get(table, set())
    return [name for name in source.columns(table) if name in target and name not in skipped]


async def _copy_table(
    db: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    async with db.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(row)


async def _count(db: Connection, table: str) -> int:
    cursor = await db.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _move_sequence(db: Connection, table: str, given: int) -> None:
    """Make the table's next id follow both its rows and every id the source ever gave."""
    cursor = await db.execute(
        sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(table))
    )
    row = await cursor.fetchone()
    last = max(int(row[0]) if row else 0, given)
    # setval(seq, 1, false): nothing given yet (last_match_id() reads 0).
    await db.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)",
        (table, max(last, 1), last > 0),
    )
