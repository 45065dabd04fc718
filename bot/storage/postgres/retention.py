"""Retention queries: old rows pruned in small batches."""

from bot.storage.models import PrunedPage
from bot.storage.postgres.search import SearchMixin


class RetentionMixin(SearchMixin):
    """Deletes what bot.storage.retention decides is past keeping (see sqlite/retention.py
    for the rules, which are the same)."""

    async def prune_outbox(self, before: float, after: tuple[float, int], limit: int) -> PrunedPage:
        """Delete finished outbox rows created (and sent) before `before`, looking at the
        `limit` rows after `after` (created_at, id), in one short transaction."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT o.id, o.created_at,
                        o.status IN ('sent', 'failed', 'dropped', 'blocked')
                        AND o.created_at < %(before)s
                        AND coalesce(o.sent_at, 0) < %(before)s
                        AND (o.broadcast_id IS NULL OR EXISTS (
                            SELECT 1 FROM broadcasts b
                            WHERE b.id = o.broadcast_id AND b.status = 'done'))
                    FROM outbox o WHERE o.id > %(after)s ORDER BY o.id LIMIT %(limit)s""",
                {"before": before, "after": after[1], "limit": limit},
            )
            rows = await cursor.fetchall()
            doomed = [int(row[0]) for row in rows if row[2]]
            if doomed:
                await db.execute("DELETE FROM outbox WHERE id = ANY(%s::bigint[])", (doomed,))
        more = len(rows) == limit and float(rows[-1][1]) < before
        return PrunedPage(len(doomed), (float(rows[-1][1]), int(rows[-1][0])) if more else None)

    async def prune_stories(
        self, before: float, after: tuple[float, int], limit: int
    ) -> PrunedPage:
        """Delete stories first seen before `before` that can never alert again, looking at
        the `limit` stories after `after` (seen_at, id), in one short transaction (which
        stories can never alert again: see the SQLite backend's)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT s.id, s.seen_at,
                       (s.feed_id IS NULL
                        OR (s.published_at IS NOT NULL AND s.published_at < %(before)s)
                        OR (s.published_at IS NULL
                            AND coalesce(s.listed_at, s.seen_at) < %(before)s
                            AND coalesce(s.listed_at, s.seen_at)
                                < (SELECT f.full_parsed_at FROM feeds f WHERE f.id = s.feed_id)))
                       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.story_id = s.id)
                   FROM stories s
                   WHERE s.seen_at < %(before)s AND (s.seen_at, s.id) > (%(seen)s, %(id)s)
                   ORDER BY s.seen_at, s.id LIMIT %(limit)s""",
                {"before": before, "seen": after[0], "id": after[1], "limit": limit},
            )
            rows = await cursor.fetchall()
            doomed = [int(row[0]) for row in rows if row[2]]
            if doomed:
                # duplicate_of only records where a copy came from; the copy outlives it.
                await db.execute(
                    "UPDATE stories SET duplicate_of = NULL WHERE duplicate_of = ANY(%s::bigint[])",
                    (doomed,),
                )
                # Their texts and index entries go with them (ON DELETE CASCADE).
                await db.execute("DELETE FROM stories WHERE id = ANY(%s::bigint[])", (doomed,))
        more = len(rows) == limit
        return PrunedPage(len(doomed), (float(rows[-1][1]), int(rows[-1][0])) if more else None)

    async def release_free_pages(self, pages: int) -> int:
        """Nothing to do: autovacuum makes deleted rows' space reusable; return 0 free."""
        return 0
