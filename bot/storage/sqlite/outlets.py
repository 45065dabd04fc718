"""One story across outlets: the window's titles in memory, and the alert edits copies queue.

save_poll (stories.py) looks each story that may alert up in the TitleIndex
(bot.ingest.similar_titles) for a near-identical title from another feed, and records the
originals that may alert it stored there once its transaction committed (so the index never
names a story that was rolled back). The index is read from storage once, at the first poll
with stories that may alert.
A copy from another feed queues an edit of every alert about its original (queued in the
poll's transaction, poll_rows.py; sent through AlertEdits).
"""

from collections.abc import Sequence

from bot.ingest.similar_titles import TitleIndex
from bot.storage.edits import AlertEdit, DueEdits, EditOutcome
from bot.storage.sqlite.connection import serialized
from bot.storage.sqlite.outbox import OutboxMixin


class OutletsMixin(OutboxMixin):
    """The near-identical titles index, and the alert_edits table."""

    _titles: TitleIndex | None = None

    async def _title_index(self, now: float, window: float) -> TitleIndex:
        """Return the index of the original stories' titles seen in the window ending now."""
        index = self._titles
        if index is None or index.window != window:
            index = TitleIndex(window)
            # The originals that could alert are those whose analysis was kept for the dry
            # run (story_texts): a new feed's first poll, hundreds at a cold start, is not.
            rows = await self._db.execute_fetchall(
                """SELECT s.id, s.feed_id, s.normalised_title, s.seen_at
                   FROM story_texts t JOIN stories s ON s.id = t.story_id
                   WHERE t.seen_at >= ? AND s.duplicate_of IS NULL ORDER BY t.seen_at, s.id""",
                (now - window,),
            )
            for story_id, feed_id, title, seen_at in rows:
                index.add(int(story_id), feed_id, str(title), float(seen_at))
            self._titles = index
        index.expire(now)
        return index

    @serialized
    async def due_alert_edits(self, now: float, limit: int) -> DueEdits:
        """Return up to limit pending edits due by now whose alert was sent."""
        async with self._transaction():
            # An alert that ended unsent (failed, dropped, blocked) has nothing to edit.
            await self._db.execute(
                """UPDATE alert_edits SET status = 'failed', error = 'alert not sent',
                       done_at = ?
                   WHERE status = 'pending' AND outbox_id IN (
                       SELECT e.outbox_id FROM alert_edits e JOIN outbox o ON o.id = e.outbox_id
                       WHERE e.status = 'pending' AND (o.status NOT IN ('pending', 'sent')
                           OR (o.status = 'sent' AND o.message_id IS NULL)))""",
                (now,),
            )
            rows = list(
                await self._db.execute_fetchall(
                    """SELECT e.outbox_id, o.message_id, e.attempts, e.generation,
                           e.next_attempt_at, o.status
                       FROM alert_edits e JOIN outbox o ON o.id = e.outbox_id
                       WHERE e.status = 'pending' ORDER BY e.next_attempt_at, e.outbox_id""",
                )
            )
        # An edit whose alert is still pending waits for it (its sending wakes the editor).
        sent = [row for row in rows if row[5] == "sent"]
        due = [row for row in sent if float(row[4]) <= now][:limit]
        later = [float(row[4]) for row in sent if float(row[4]) > now]
        items = {item.id: item for item in await self._load_outbox([int(r[0]) for r in due])}
        edits = tuple(
            AlertEdit(items[int(r[0])], int(r[1]), int(r[2]), int(r[3]))
            for r in due
            if int(r[0]) in items
        )
        return DueEdits(edits, min(later, default=None), waiting=len(rows) - len(sent))

    @serialized
    async def record_alert_edits(self, outcomes: Sequence[EditOutcome], now: float) -> None:
        """Write the outcome of edit attempts (an edit re-queued meanwhile stays pending)."""
        if not outcomes:
            return
        async with self._transaction():
            await self._db.executemany(
                """UPDATE alert_edits SET status = ?, attempts = ?, next_attempt_at = ?,
                       error = ?, done_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END
                   WHERE outbox_id = ? AND generation = ?""",
                [
                    (
                        *(o.status, o.attempts, o.next_attempt_at, o.error, o.status, now),
                        o.outbox_id,
                        o.generation,
                    )
                    for o in outcomes
                ],
            )
