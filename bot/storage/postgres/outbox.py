"""The outbox: rows waiting to be sent, what a send needs, and the recorded outcomes."""

from collections.abc import Sequence
from typing import Any

from bot.storage.models import Delivery, OutboxItem, PendingRow
from bot.storage.postgres.connection import Connection, PostgresBase
from bot.storage.rows import first_outlet_per_feed, outbox_item, pending_row


class OutboxMixin(PostgresBase):
    """The outbox table, as the delivery worker reads and writes it."""

    async def pending_outbox(
        self, after_id: int = 0, *, broadcasts_only: bool = False
    ) -> list[PendingRow]:
        """Return pending rows with id > after_id and their chat's type, oldest first."""
        only = " AND o.kind = 'broadcast'" if broadcasts_only else ""
        async with self._transaction() as db:
            cursor = await db.execute(
                f"""SELECT o.id, o.chat_id, o.kind, o.next_attempt_at,
                        coalesce(c.type, 'private')
                   FROM outbox o LEFT JOIN chats c ON c.id = o.chat_id
                   WHERE o.status = 'pending' AND o.id > %s{only} ORDER BY o.id""",
                (after_id,),
            )
            rows = await cursor.fetchall()
        return [pending_row(r) for r in rows]

    async def load_outbox(
        self, ids: Sequence[int], *, leased_by: str | None = None
    ) -> list[OutboxItem]:
        """Return what is needed to send each of these outbox rows (with leased_by: those
        the instance holds)."""
        if not ids:
            return []
        async with self._transaction() as db:
            if leased_by is not None:
                cursor = await db.execute(
                    "SELECT id FROM outbox WHERE id = ANY(%s::bigint[]) AND claimed_by = %s",
                    (list(ids), leased_by),
                )
                ids = [int(row[0]) for row in await cursor.fetchall()]
            return await load_outbox_items(db, ids)

    async def pending_digest(self, chat_id: int, due_by: float) -> list[OutboxItem]:
        """Return every pending digest row of a chat due by then, oldest first."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT id FROM outbox WHERE chat_id = %s AND kind = 'digest'
                       AND status = 'pending' AND next_attempt_at <= %s""",
                (chat_id, due_by),
            )
            ids = [int(row[0]) for row in await cursor.fetchall()]
            return await load_outbox_items(db, ids)

    async def record_deliveries(self, outcomes: Sequence[Delivery], now: float) -> None:
        """Write the outcome of a batch of sends in one transaction."""
        if not outcomes:
            return
        async with self._transaction() as db:
            async with db.cursor() as cursor:
                await cursor.executemany(
                    """UPDATE outbox SET status = %s, attempts = %s, next_attempt_at = %s,
                           error = %s,
                           sent_at = CASE WHEN %s = 'sent' THEN %s ELSE sent_at END,
                           message_id = coalesce(%s, message_id)
                       WHERE id = %s""",
                    [
                        (
                            o.status,
                            o.attempts,
                            o.next_attempt_at,
                            o.error,
                            o.status,
                            now,
                            o.message_id,
                            o.outbox_id,
                        )
                        for o in outcomes
                    ],
                )
            for chat_id in sorted({o.chat_id for o in outcomes if o.chat_blocked}):
                await db.execute(
                    "UPDATE chats SET status = 'blocked', updated_at = %s WHERE id = %s",
                    (now, chat_id),
                )
                await db.execute(
                    """UPDATE outbox SET status = 'blocked', error = 'user blocked the bot'
                       WHERE chat_id = %s AND status = 'pending'""",
                    (chat_id,),
                )

    async def drop_pending_for_chat(self, chat_id: int, reason: str) -> int:
        """Drop a chat's pending rows (it paused); return how many."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE outbox SET status = 'dropped', error = %s
                   WHERE chat_id = %s AND status = 'pending'""",
                (reason, chat_id),
            )
            return cursor.rowcount

    async def outbox_counts(self) -> dict[str, int]:
        """Return the number of outbox rows by status."""
        async with self._transaction() as db:
            cursor = await db.execute("SELECT status, count(*) FROM outbox GROUP BY status")
            rows = await cursor.fetchall()
        return {str(row[0]): int(row[1]) for row in rows}


async def load_outbox_items(db: Connection, ids: Sequence[int]) -> list[OutboxItem]:
    """Return what sending (or editing) each of these outbox rows needs, in id order."""
    cursor = await db.execute(
        """SELECT o.id, o.kind, o.chat_id, c.status, o.matched, o.attempts, o.status,
                s.title, s.link, s.summary, s.published_at, coalesce(f.title, ''),
                o.broadcast_id, b.text, o.thread_id, c.language, o.next_attempt_at,
                o.story_id, c.type,
                CASE WHEN o.kind = 'alert' THEN (
                    SELECT json_agg(json_build_array(coalesce(cf.title, ''), cs.link)
                                    ORDER BY cs.id)
                    FROM stories cs LEFT JOIN feeds cf ON cf.id = cs.feed_id
                    WHERE cs.duplicate_of = o.story_id
                        AND cs.feed_id IS DISTINCT FROM s.feed_id
                ) END,
                CASE WHEN c.type = 'channel' THEN coalesce(l.show_matched, false) ELSE true END
            FROM outbox o JOIN chats c ON c.id = o.chat_id
            LEFT JOIN channels l ON l.chat_id = o.chat_id
            LEFT JOIN stories s ON s.id = o.story_id
            LEFT JOIN feeds f ON f.id = s.feed_id
            LEFT JOIN broadcasts b ON b.id = o.broadcast_id
            WHERE o.id = ANY(%s::bigint[]) ORDER BY o.id""",
        (list(ids),),
    )
    return [_outbox_item(row) for row in await cursor.fetchall()]


def _outbox_item(row: tuple[Any, ...]) -> OutboxItem:
    # The other outlets come as a list of [title, link] (json_agg, decoded by psycopg).
    return outbox_item(row, first_outlet_per_feed(row[19] or ()))
