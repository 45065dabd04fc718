"""The outbox: rows waiting to be sent, what a send needs, and the recorded outcomes."""

import json
import sqlite3
from collections.abc import Sequence

from bot.storage.models import Delivery, OutboxItem, PendingRow
from bot.storage.rows import first_outlet_per_feed, outbox_item, pending_row
from bot.storage.sqlite.connection import SqliteBase, marks, serialized


class OutboxMixin(SqliteBase):
    """The outbox table, as the delivery worker reads and writes it."""

    @serialized
    async def pending_outbox(
        self, after_id: int = 0, *, broadcasts_only: bool = False
    ) -> list[PendingRow]:
        """Return pending rows with id > after_id and their chat's type, oldest first."""
        only = " AND o.kind = 'broadcast'" if broadcasts_only else ""
        async with self._db.execute(
            f"""SELECT o.id, o.chat_id, o.kind, o.next_attempt_at, coalesce(c.type, 'private')
               FROM outbox o LEFT JOIN chats c ON c.id = o.chat_id
               WHERE o.status = 'pending' AND o.id > ?{only} ORDER BY o.id""",
            (after_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [pending_row(r) for r in rows]

    @serialized
    async def load_outbox(
        self, ids: Sequence[int], *, leased_by: str | None = None
    ) -> list[OutboxItem]:
        """Return what is needed to send each of these outbox rows (with leased_by: those
        the instance holds)."""
        if not ids:
            return []
        rows = await self._on_writer_thread(lambda db: outbox_rows(db, ids, leased_by))
        return [_outbox_item(row) for row in rows]

    async def _load_outbox(self, ids: Sequence[int]) -> list[OutboxItem]:
        if not ids:
            return []
        rows = await self._on_writer_thread(lambda db: outbox_rows(db, ids))
        return [_outbox_item(row) for row in rows]

    @serialized
    async def pending_digest(self, chat_id: int, due_by: float) -> list[OutboxItem]:
        """Return every pending digest row of a chat due by then, oldest first."""
        rows = await self._on_writer_thread(lambda db: _due_digest_rows(db, chat_id, due_by))
        return [_outbox_item(row) for row in rows]

    @serialized
    async def record_deliveries(self, outcomes: Sequence[Delivery], now: float) -> None:
        """Write the outcome of a batch of sends in one transaction."""
        if not outcomes:
            return
        await self._transaction_on_writer(lambda db: record_outcomes(db, outcomes, now))

    @serialized
    async def drop_pending_for_chat(self, chat_id: int, reason: str) -> int:
        """Drop a chat's pending rows (it paused); return how many."""
        cursor = await self._db.execute(
            """UPDATE outbox SET status = 'dropped', error = ?
               WHERE chat_id = ? AND status = 'pending'""",
            (reason, chat_id),
        )
        return cursor.rowcount

    @serialized
    async def outbox_counts(self) -> dict[str, int]:
        """Return the number of outbox rows by status."""
        async with self._db.execute(
            "SELECT status, count(*) FROM outbox GROUP BY status"
        ) as cursor:
            rows = await cursor.fetchall()
        return {str(row[0]): int(row[1]) for row in rows}


_LOAD = """SELECT o.id, o.kind, o.chat_id, c.status, o.matched, o.attempts, o.status,
        s.title, s.link, s.summary, s.published_at, coalesce(f.title, ''),
        o.broadcast_id, b.text, o.thread_id, c.language, o.next_attempt_at,
        o.story_id, c.type,
        CASE WHEN o.kind = 'alert' THEN (
            SELECT json_group_array(json_array(coalesce(cf.title, ''), cs.link))
            FROM stories cs LEFT JOIN feeds cf ON cf.id = cs.feed_id
            WHERE cs.duplicate_of = o.story_id AND cs.feed_id IS NOT s.feed_id
        ) END,
        CASE WHEN c.type = 'channel' THEN coalesce(l.show_matched, 0) ELSE 1 END
    FROM outbox o JOIN chats c ON c.id = o.chat_id
    LEFT JOIN channels l ON l.chat_id = o.chat_id
    LEFT JOIN stories s ON s.id = o.story_id
    LEFT JOIN feeds f ON f.id = s.feed_id
    LEFT JOIN broadcasts b ON b.id = o.broadcast_id
    WHERE o.id IN ({ids}) ORDER BY o.id"""


# The delivery worker loads and records a batch of rows per round of sends: each runs as
# one call on the writer's thread (SqliteBase._on_writer_thread), not an await per
# statement and per fetch, each a hop to that thread and back through the event loop.
def outbox_rows(
    db: sqlite3.Connection, ids: Sequence[int], leased_by: str | None = None
) -> list[sqlite3.Row]:
    """The rows of these outbox ids that load_outbox reads (with leased_by: those the
    instance holds), in id order."""
    if leased_by is not None:
        held = db.execute(
            f"SELECT id FROM outbox WHERE id IN ({marks(ids)}) AND claimed_by = ?",
            (*ids, leased_by),
        )
        ids = [int(row[0]) for row in held.fetchall()]
        if not ids:
            return []
    return db.execute(_LOAD.format(ids=marks(ids)), tuple(ids)).fetchall()


def _due_digest_rows(db: sqlite3.Connection, chat_id: int, due_by: float) -> list[sqlite3.Row]:
    # The ids, then their rows: one call on the writer's thread for both.
    ids = [
        int(row[0])
        for row in db.execute(
            """SELECT id FROM outbox WHERE chat_id = ? AND kind = 'digest'
                   AND status = 'pending' AND next_attempt_at <= ?""",
            (chat_id, due_by),
        )
    ]
    return outbox_rows(db, ids) if ids else []


def record_outcomes(db: sqlite3.Connection, outcomes: Sequence[Delivery], now: float) -> None:
    """Write the outcomes of sends (the caller's transaction): each row's, then each
    blocked chat's."""
    db.executemany(
        """UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, error = ?,
               sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END,
               message_id = coalesce(?, message_id)
           WHERE id = ?""",
        [
            (
                *(o.status, o.attempts, o.next_attempt_at, o.error, o.status, now),
                o.message_id,
                o.outbox_id,
            )
            for o in outcomes
        ],
    )
    for chat_id in sorted({o.chat_id for o in outcomes if o.chat_blocked}):
        db.execute(
            "UPDATE chats SET status = 'blocked', updated_at = ? WHERE id = ?", (now, chat_id)
        )
        db.execute(
            """UPDATE outbox SET status = 'blocked', error = 'user blocked the bot'
               WHERE chat_id = ? AND status = 'pending'""",
            (chat_id,),
        )


def _outbox_item(row: sqlite3.Row) -> OutboxItem:
    # The other outlets come as JSON text (json_group_array).
    return outbox_item(row, first_outlet_per_feed(json.loads(row[19])) if row[19] else ())
