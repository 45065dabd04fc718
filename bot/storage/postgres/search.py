"""The dry run's store: story texts as live matching saw them, and their index.

As in sqlite/search.py, but the index is a tsvector column of story_texts (GIN-indexed) built
with array_to_tsvector from the story's tokens (bot.matching.dryrun.story_tokens): the tokens
as given, no text search parser or dictionary in between, so a tsquery of the same tokens
finds exactly the stories FTS5 does. A story leaves the index with its row.
"""

from datetime import UTC, datetime

from bot.matching.dryrun import AllOf, Ask, Expression, Token, story_tokens
from bot.storage.models import TriedStory
from bot.storage.postgres.connection import PostgresBase
from bot.text.packed import PackedTextError, unpack

# PostgreSQL refuses lexemes of 2048 bytes or more. Tokens are ASCII (hex and markers), so a
# longer one is cut to this length, in the index and in a query alike, and matched as a
# prefix: a superset, as the dry run's candidates may be (each is matched exactly after).
LEXEME_LIMIT = 2000


class SearchMixin(PostgresBase):
    """Story texts for /try: kept, indexed, searched and pruned."""

    async def index_story_texts(self, limit: int) -> int:
        """Add up to `limit` kept texts not yet indexed to the index; return how many."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT story_id, packed FROM story_texts WHERE NOT indexed
                   ORDER BY story_id LIMIT %s FOR UPDATE SKIP LOCKED""",
                (limit,),
            )
            rows = await cursor.fetchall()
            if not rows:
                return 0
            async with db.cursor() as writer:
                await writer.executemany(
                    """UPDATE story_texts SET keys = array_to_tsvector(%s::text[]),
                           indexed = true
                       WHERE story_id = %s""",
                    [(_tokens(bytes(row[1])), int(row[0])) for row in rows],
                )
        return len(rows)

    async def search_story_ids(self, ask: Ask, since: float) -> list[int]:
        """Return the indexed stories seen since `since` that hold what is asked, newest
        first (with nothing wanted in particular, every one of them but the unwanted)."""
        condition = "indexed"
        params: tuple[object, ...] = (since,)
        if ask.wanted is not None or ask.unwanted is not None:
            condition = "indexed AND keys @@ %s::tsquery"
            params = (since, tsquery(ask))
        async with self._transaction() as db:
            cursor = await db.execute(
                f"""SELECT story_id FROM story_texts WHERE seen_at >= %s AND {condition}
                    ORDER BY story_id DESC""",
                params,
            )
            return [int(row[0]) for row in await cursor.fetchall()]

    async def story_texts(self, ids: list[int]) -> list[tuple[int, bytes]]:
        """Return (story id, packed analysis) of those of these stories that have one."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT story_id, packed FROM story_texts WHERE story_id = ANY(%s::bigint[])",
                (ids,),
            )
            return [(int(row[0]), bytes(row[1])) for row in await cursor.fetchall()]

    async def tried_stories(self, ids: list[int]) -> list[TriedStory]:
        """Return what a dry run shows of these stories (in the order given)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT s.id, s.title, s.link, s.published_at, s.seen_at,
                        coalesce(f.title, ''), coalesce(f.url, '')
                    FROM stories s LEFT JOIN feeds f ON f.id = s.feed_id
                    WHERE s.id = ANY(%s::bigint[])""",
                (ids,),
            )
            rows = await cursor.fetchall()
        found: dict[int, TriedStory] = {}
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

    async def prune_story_texts(self, before: float, limit: int) -> int:
        """Forget up to `limit` kept texts of stories seen before `before`; return how many."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """DELETE FROM story_texts WHERE story_id IN (
                       SELECT story_id FROM story_texts WHERE seen_at < %s
                       ORDER BY seen_at LIMIT %s)""",
                (before, limit),
            )
            return cursor.rowcount


def _tokens(packed: bytes) -> list[str]:
    """Return the index tokens of a packed analysis (none when it is unreadable)."""
    try:
        tokens = story_tokens(unpack(packed))
    except PackedTextError:
        return []  # unreadable: indexed under nothing, so never found
    return sorted({token[:LEXEME_LIMIT] for token in tokens if token})


def tsquery(ask: Ask) -> str:
    """Return the tsquery text for what is asked."""
    parts = [] if ask.wanted is None else [_tsquery(ask.wanted)]
    if ask.unwanted is not None:
        parts.append(f"!{_tsquery(ask.unwanted)}")
    return " & ".join(parts)


def _tsquery(expression: Expression) -> str:
    if isinstance(expression, Token):
        text = expression.text[:LEXEME_LIMIT]
        quoted = "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
        prefix = expression.prefix or len(expression.text) > LEXEME_LIMIT
        return quoted + (":*" if prefix else "")
    joiner = " & " if isinstance(expression, AllOf) else " | "
    return "(" + joiner.join(_tsquery(part) for part in expression.parts) + ")"
