"""The dry run's store: story texts as live matching saw them, and their full-text index.

save_poll keeps the packed analysis of every story it matched for (stories.py); the index
is filled a little later (index_story_texts, by the dry-run service and a background task)
so a poll's own transaction stays small. The index is contentless: to take a story out, its
tokens are computed again from its packed text. A story's text goes after DRY_RUN_DAYS
(prune_story_texts) or with the story (retention: forget_story_texts first).
"""

from datetime import UTC, datetime

import aiosqlite

from bot.matching.dryrun import AllOf, Ask, Expression, Token, story_tokens
from bot.storage.models import TriedStory
from bot.storage.sqlite.connection import SqliteBase, chunks, marks, reading, serialized
from bot.text.packed import PackedTextError, unpack


class SearchMixin(SqliteBase):
    """Story texts for /try: kept, indexed, searched and pruned."""

    @serialized
    async def index_story_texts(self, limit: int) -> int:
        """Add up to `limit` kept texts not yet indexed to the index; return how many."""
        async with self._transaction():
            rows = list(
                await self._db.execute_fetchall(
                    """SELECT story_id, packed FROM story_texts WHERE indexed = 0
                       ORDER BY story_id LIMIT ?""",
                    (limit,),
                )
            )
            if not rows:
                return 0
            await self._db.executemany(
                "INSERT INTO story_search (rowid, keys) VALUES (?, ?)",
                [(int(row[0]), _tokens(bytes(row[1]))) for row in rows],
            )
            ids = [int(row[0]) for row in rows]
            for chunk in chunks(ids):
                await self._db.execute(
                    f"UPDATE story_texts SET indexed = 1 WHERE story_id IN ({marks(chunk)})",
                    tuple(chunk),
                )
        return len(rows)

    @reading
    async def search_story_ids(self, db: aiosqlite.Connection, ask: Ask, since: float) -> list[int]:
        """Return the indexed stories seen since `since` that hold what is asked, newest
        first (with nothing wanted in particular, every one of them but the unwanted)."""
        if ask.wanted is None:
            rows = await db.execute_fetchall(
                """SELECT story_id FROM story_texts
                   WHERE indexed = 1 AND seen_at >= ? ORDER BY story_id DESC""",
                (since,),
            )
            if ask.unwanted is not None:
                unwanted = set(await self._holding(db, _fts(ask.unwanted)))
                rows = [row for row in rows if int(row[0]) not in unwanted]
        else:
            rows = await db.execute_fetchall(
                """SELECT t.story_id FROM story_search
                   JOIN story_texts t ON t.story_id = story_search.rowid
                   WHERE story_search MATCH ? AND t.seen_at >= ?
                   ORDER BY t.story_id DESC""",
                (_match_expression(ask), since),
            )
        return [int(row[0]) for row in rows]

    async def _holding(self, db: aiosqlite.Connection, expression: str) -> list[int]:
        rows = await db.execute_fetchall(
            "SELECT rowid FROM story_search WHERE story_search MATCH ?", (expression,)
        )
        return [int(row[0]) for row in rows]

    @reading
    async def story_texts(
        self, db: aiosqlite.Connection, ids: list[int]
    ) -> list[tuple[int, bytes]]:
        """Return (story id, packed analysis) of those of these stories that have one."""
        found: list[tuple[int, bytes]] = []
        for chunk in chunks(ids):
            rows = await db.execute_fetchall(
                f"SELECT story_id, packed FROM story_texts WHERE story_id IN ({marks(chunk)})",
                tuple(chunk),
            )
            found.extend((int(row[0]), bytes(row[1])) for row in rows)
        return found

    @reading
    async def tried_stories(self, db: aiosqlite.Connection, ids: list[int]) -> list[TriedStory]:
        """Return what a dry run shows of these stories (in the order given)."""
        found: dict[int, TriedStory] = {}
        for chunk in chunks(ids):
            rows = await db.execute_fetchall(
                f"""SELECT s.id, s.title, s.link, s.published_at, s.seen_at,
                        coalesce(f.title, ''), coalesce(f.url, '')
                    FROM stories s LEFT JOIN feeds f ON f.id = s.feed_id
                    WHERE s.id IN ({marks(chunk)})""",
                tuple(chunk),
            )
            for row in rows:
                published = row[3] if row[3] is not None else row[4]
                found[int(row[0])] = TriedStory(
                    id=int(row[0]),
                    title=row[1] or "",
                    link=row[2],
                    source=str(row[5]),
                    published=datetime.fromtimestamp(float(published), UTC),
                    source_url=str(row[6]),
                )
        return [found[story_id] for story_id in ids if story_id in found]

    @serialized
    async def prune_story_texts(self, before: float, limit: int) -> int:
        """Forget up to `limit` kept texts of stories seen before `before`; return how many."""
        async with self._transaction():
            rows = await self._db.execute_fetchall(
                "SELECT story_id FROM story_texts WHERE seen_at < ? ORDER BY seen_at LIMIT ?",
                (before, limit),
            )
            ids = [int(row[0]) for row in rows]
            await self._forget_story_texts(ids)
        return len(ids)

    async def _forget_story_texts(self, ids: list[int]) -> None:
        """Take these stories' texts out of the index and the table (inside a transaction)."""
        for chunk in chunks(ids):
            rows = await self._db.execute_fetchall(
                f"""SELECT story_id, packed FROM story_texts
                    WHERE indexed = 1 AND story_id IN ({marks(chunk)})""",
                tuple(chunk),
            )
            await self._db.executemany(
                "INSERT INTO story_search (story_search, rowid, keys) VALUES ('delete', ?, ?)",
                [(int(row[0]), _tokens(bytes(row[1]))) for row in rows],
            )
            await self._db.execute(
                f"DELETE FROM story_texts WHERE story_id IN ({marks(chunk)})", tuple(chunk)
            )


def _tokens(packed: bytes) -> str:
    """Return the index text of a packed analysis (the same every time: it is deleted by it)."""
    try:
        return " ".join(story_tokens(unpack(packed)))
    except PackedTextError:
        return ""  # unreadable: indexed under nothing, so never found


def _match_expression(ask: Ask) -> str:
    """Return the FTS5 query for what is asked (something is wanted)."""
    assert ask.wanted is not None
    wanted = _fts(ask.wanted)
    return wanted if ask.unwanted is None else f"{wanted} NOT {_fts(ask.unwanted)}"


def _fts(expression: Expression) -> str:
    """Return an expression in FTS5 syntax (tokens are letters and digits only)."""
    if isinstance(expression, Token):
        return f'"{expression.text}"' + ("*" if expression.prefix else "")
    joiner = " AND " if isinstance(expression, AllOf) else " OR "
    return "(" + joiner.join(_fts(part) for part in expression.parts) + ")"
