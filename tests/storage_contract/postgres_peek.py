"""The PostgreSQL backend's committed rows, read through a connection of its own (tests only)."""

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bot.matching.dryrun import Ask, Token
from bot.storage.postgres.search import tsquery


class PostgresPeek:
    """Rows as another connection sees them: only what was committed."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo

    def _rows(self, query: str, parameters: tuple[object, ...] = ()) -> Iterator[dict[str, Any]]:
        with contextlib.closing(psycopg.connect(self._conninfo, row_factory=dict_row)) as db:
            yield from db.execute(query.encode(), parameters).fetchall()

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
        rows = self._rows(
            "SELECT story_id FROM story_texts WHERE keys @@ %s::tsquery ORDER BY story_id",
            (tsquery(Ask(Token(token, prefix))),),
        )
        return [int(row["story_id"]) for row in rows]
