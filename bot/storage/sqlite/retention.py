"""Retention queries: old rows pruned in small batches, their space given back."""

from bot.storage.models import PrunedPage
from bot.storage.sqlite.connection import marks, serialized
from bot.storage.sqlite.search import SearchMixin


class RetentionMixin(SearchMixin):
    """Deletes what bot.storage.retention decides is past keeping."""

    @serialized
    async def prune_outbox(self, before: float, after: tuple[float, int], limit: int) -> PrunedPage:
        """Delete finished outbox rows created (and sent) before `before`, looking at the
        `limit` rows after `after` (created_at, id), in one short transaction.

        Finished is sent, failed, dropped or blocked: a blocked row is never retried (a user
        coming back gets new alerts), so it is history like the others.

        Pending rows are never touched, nor the rows of a broadcast still being reported.
        Rows are scanned in id order, which is creation order: a page ending in a row newer
        than `before` ends the pass.
        """
        async with self._transaction():
            async with self._db.execute(
                """SELECT o.id, o.created_at,
                        o.status IN ('sent', 'failed', 'dropped', 'blocked')
                        AND o.created_at < :before
                        AND coalesce(o.sent_at, 0) < :before
                        AND (o.broadcast_id IS NULL OR EXISTS (
                            SELECT 1 FROM broadcasts b
                            WHERE b.id = o.broadcast_id AND b.status = 'done'))
                    FROM outbox o WHERE o.id > :after ORDER BY o.id LIMIT :limit""",
                {"before": before, "after": after[1], "limit": limit},
            ) as cursor:
                rows = list(await cursor.fetchall())
            doomed = [int(row[0]) for row in rows if row[2]]
            if doomed:
                await self._db.execute(
                    f"DELETE FROM outbox WHERE id IN ({marks(doomed)})", tuple(doomed)
                )
        more = len(rows) == limit and float(rows[-1][1]) < before
        return PrunedPage(len(doomed), (float(rows[-1][1]), int(rows[-1][0])) if more else None)

    @serialized
    async def prune_stories(
        self, before: float, after: tuple[float, int], limit: int
    ) -> PrunedPage:
        """Delete stories first seen before `before` that can never alert again, looking at
        the `limit` stories after `after` (seen_at, id), in one short transaction.

        A story goes only when nothing refers to it (no outbox row of any status) and a feed
        still listing it cannot make it alert: it carries a publication date before `before`
        (so a re-sighting is older than the 24 h first-sight limit and is recorded, not
        sent), or its feed was removed. An undated story of a watched feed is its only
        memory of that entry (a re-sighting would alert again): it stays while the feed
        lists it, and goes once no full parse of the feed listed it since `before` and the
        feed's latest full parse did not (a feed that stopped answering keeps its stories).
        """
        async with self._transaction():
            async with self._db.execute(
                """SELECT s.id, s.seen_at,
                       (s.feed_id IS NULL
                        OR (s.published_at IS NOT NULL AND s.published_at < :before)
                        OR (s.published_at IS NULL
                            AND coalesce(s.listed_at, s.seen_at) < :before
                            AND coalesce(s.listed_at, s.seen_at)
                                < (SELECT f.full_parsed_at FROM feeds f WHERE f.id = s.feed_id)))
                       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.story_id = s.id)
                   FROM stories s
                   WHERE s.seen_at < :before AND (s.seen_at, s.id) > (:seen, :id)
                   ORDER BY s.seen_at, s.id LIMIT :limit""",
                {"before": before, "seen": after[0], "id": after[1], "limit": limit},
            ) as cursor:
                rows = list(await cursor.fetchall())
            doomed = tuple(int(row[0]) for row in rows if row[2])
            if doomed:
                # duplicate_of only records where a copy came from; the copy outlives it.
                await self._db.execute(
                    f"UPDATE stories SET duplicate_of = NULL WHERE duplicate_of IN "
                    f"({marks(doomed)})",
                    doomed,
                )
                # Out of the dry run's index first: its entries are removed by their text.
                await self._forget_story_texts(list(doomed))
                await self._db.execute(f"DELETE FROM stories WHERE id IN ({marks(doomed)})", doomed)
        more = len(rows) == limit
        return PrunedPage(len(doomed), (float(rows[-1][1]), int(rows[-1][0])) if more else None)

    @serialized
    async def release_free_pages(self, pages: int) -> int:
        """Give up to `pages` free pages back to the file system; return how many stay free."""
        return await self._incremental_vacuum(pages)
