"""Reading a SQLite database table by table, for `newshound migrate-db` (read-only)."""

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from bot.storage.errors import StorageError


class SqliteExport:
    """A read-only view of a database file: its tables' columns, rows, counts and sequences."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(
                f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None
            )
            # One read transaction for every table: a snapshot, even if a bot still writes.
            self._db.execute("BEGIN")
        except sqlite3.Error as error:
            raise StorageError(f"DATABASE_PATH {path} cannot be read: {error}") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self._db.close()

    def columns(self, table: str) -> list[str]:
        """Return the table's column names, in their order."""
        return [str(row[1]) for row in self._db.execute(f"PRAGMA table_info({table})")]

    def rows(self, table: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
        """Yield the table's rows (these columns) in key order (the first column: parents
        before the copies that refer to them), without loading them all."""
        names = ", ".join(columns)
        try:
            with contextlib.closing(
                self._db.execute(f"SELECT {names} FROM {table} ORDER BY 1")
            ) as rows:
                yield from rows
        except sqlite3.Error as error:
            raise StorageError(f"{table} cannot be read: {error}") from None

    def count(self, table: str) -> int:
        """Return how many rows the table holds."""
        [(count,)] = self._db.execute(f"SELECT count(*) FROM {table}")
        return int(count)

    def sequence(self, table: str) -> int:
        """Return the highest id an AUTOINCREMENT table ever gave (0 if none)."""
        found = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
        row = found.fetchone()
        return int(row[0]) if row else 0
