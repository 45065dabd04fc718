"""One story across outlets: the window's titles in memory, and the alert edits copies queue.

As in sqlite/outlets.py: save_poll (stories.py) looks each story that may alert up in the
TitleIndex (bot.ingest.similar_titles) for a near-identical title from another feed inside its
transaction, and adds the originals it stored once that committed (the index never names a
story that was rolled back); this process's saves take turns (_titles_turn) from the look-up
to the adding, so none misses a title another just committed. The index is read from the
database at the first poll with stories that may alert; each later save first adds the
titles other instances (on the same schema) saved since, under the lock that orders saves
across instances (stories.py, MATCH_ORDER_LOCK). A copy from another feed queues an edit
of every alert about its original (poll_rows.py, in the poll's transaction; sent through
AlertEdits).
"""

import asyncio
from collections.abc import Sequence

from bot.ingest.similar_titles import TitleIndex
from bot.storage.edits import AlertEdit, DueEdits, EditOutcome
from bot.storage.postgres.connection import Connection
from bot.storage.postgres.outbox import OutboxMixin, load_outbox_items


class OutletsMixin(OutboxMixin):
    """The near-identical titles index, and the alert_edits table."""

    _titles: TitleIndex | None = None
    # The last story_texts id read into _titles (this process's own saves are added as
    # they commit and read again at the next look, where the index skips them).
    _titles_after = 0
    _titles_lock: asyncio.Lock | None = None

    def _titles_turn(self) -> asyncio.Lock:
        """The lock a save holds from its look-up in the index to adding its titles."""
        if self._titles_lock is None:
            self._titles_lock = asyncio.Lock()
        return self._titles_lock

    async def _title_index(self, db: Connection, now: float, window: float) -> TitleIndex:
        """Return the index of the original stories' titles seen in the window ending now,
        with those other instances saved since this one last looked (call under
        MATCH_ORDER_LOCK: every earlier save has committed, so none is skipped)."""
        index = self._titles
        if index is None or index.window != window:
            index = self._titles = TitleIndex(window)
            self._titles_after = 0
        # The originals that could alert are those whose analysis was kept for the dry run
        # (story_texts): a new feed's first poll, hundreds at a cold start, is not. Story ids
        # commit in order under the lock, so "after the last id read" is all that is new.
        cursor = await db.execute(
            """SELECT s.id, s.feed_id, s.normalised_title, s.seen_at
               FROM story_texts t JOIN stories s ON s.id = t.story_id
               WHERE t.story_id > %s AND t.seen_at >= %s AND s.duplicate_of IS NULL
               ORDER BY t.seen_at, s.id""",
            (self._titles_after, now - window),
        )
        for story_id, feed_id, title, seen_at in await cursor.fetchall():
            index.add(int(story_id), feed_id, str(title), float(seen_at))
            self._titles_after = max(self._titles_after, int(story_id))
        index.expire(now)
        return index

    async def due_alert_edits(self, now: float, limit: int) -> DueEdits:
        """Return up to limit pending edits due by now whose alert was sent."""
        async with self._transaction() as db:
            # An alert that ended unsent (failed, dropped, blocked) has nothing to edit.
            await db.execute(
                """UPDATE alert_edits e SET status = 'failed', error = 'alert not sent',
                       done_at = %s
                   FROM outbox o
                   WHERE o.id = e.outbox_id AND e.status = 'pending'
                       AND (o.status NOT IN ('pending', 'sent')
                            OR (o.status = 'sent' AND o.message_id IS NULL))""",
                (now,),
            )
            cursor = await db.execute(
                """SELECT e.outbox_id, o.message_id, e.attempts, e.generation,
                       e.next_attempt_at, o.status
                   FROM alert_edits e JOIN outbox o ON o.id = e.outbox_id
                   WHERE e.status = 'pending' ORDER BY e.next_attempt_at, e.outbox_id"""
            )
            rows = await cursor.fetchall()
            # An edit whose alert is still pending waits for it (its sending wakes the editor).
            sent = [row for row in rows if row[5] == "sent"]
            due = [row for row in sent if float(row[4]) <= now][:limit]
            later = [float(row[4]) for row in sent if float(row[4]) > now]
            loaded = await load_outbox_items(db, [int(r[0]) for r in due])
        items = {item.id: item for item in loaded}
        edits = tuple(
            AlertEdit(items[int(r[0])], int(r[1]), int(r[2]), int(r[3]))
            for r in due
            if int(r[0]) in items
        )
        return DueEdits(edits, min(later, default=None), waiting=len(rows) - len(sent))

    async def record_alert_edits(self, outcomes: Sequence[EditOutcome], now: float) -> None:
        """Write the outcome of edit attempts (an edit re-queued meanwhile stays pending)."""
        if not outcomes:
            return
        async with self._transaction() as db, db.cursor() as cursor:
            await cursor.executemany(
                """UPDATE alert_edits SET status = %s, attempts = %s, next_attempt_at = %s,
                       error = %s,
                       done_at = CASE WHEN %s = 'pending' THEN NULL ELSE %s END
                   WHERE outbox_id = %s AND generation = %s""",
                [
                    (
                        *(o.status, o.attempts, o.next_attempt_at, o.error, o.status, now),
                        o.outbox_id,
                        o.generation,
                    )
                    for o in outcomes
                ],
            )
