"""The SQLite backend's committed rows, read through a second connection (tests only)."""

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class SqlitePeek:
    """Rows as another connection sees them: only what was committed."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _rows(self, sql: str, parameters: tuple[object, ...] = ()) -> Iterator[dict[str, Any]]:
        with contextlib.closing(sqlite3.connect(self._path)) as db:
            db.row_factory = sqlite3.Row
            for row in db.execute(sql, parameters):
                yield dict(row)

    def outbox(self) -> list[dict[str, Any]]:
        return list(self._rows("SELECT * FROM outbox ORDER BY id"))

    def alerts(self) -> list[tuple[int, str]]:
        rows = self._rows(
            "SELECT o.chat_id, s.title FROM outbox o JOIN stories s ON s.id = o.story_id "
            "ORDER BY o.id"
        )
        return [(int(row["chat_id"]), str(row["title"])) for row in rows]

    def story_titles(self) -> list[str]:
        return [str(row["title"]) for row in self._rows("SELECT title FROM stories ORDER BY id")]

    def stories(self) -> dict[str, int]:
        return {str(row["title"]): int(row["id"]) for row in self._rows("SELECT * FROM stories")}

    def kept_texts(self) -> list[int]:
        return [int(row["story_id"]) for row in self._rows("SELECT story_id FROM story_texts")]

    def indexed_under(self, token: str, *, prefix: bool = False) -> list[int]:
        query = f'"{token}"' + ("*" if prefix else "")
        rows = self._rows("SELECT rowid FROM story_search WHERE story_search MATCH ?", (query,))
        return [int(row["rowid"]) for row in rows]
