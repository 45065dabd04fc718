"""The outbox: rows waiting to be sent, what a send needs, and the recorded outcomes."""

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.storage.models import Delivery, OutboxItem, PendingRow, UserStatus
from bot.storage.sqlite.connection import SqliteBase, marks, serialized


class OutboxMixin(SqliteBase):
    """The outbox table, as the delivery worker reads and writes it."""

    @serialized
    async def pending_outbox(self, after_id: int = 0) -> list[PendingRow]:
        """Return (id, user, lane) of pending rows with id > after_id, oldest first."""
        async with self._db.execute(
            """SELECT id, user_id, kind, next_attempt_at FROM outbox
               WHERE status = 'pending' AND id > ? ORDER BY id""",
            (after_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [PendingRow(int(r[0]), int(r[1]), str(r[2]), float(r[3])) for r in rows]

    @serialized
    async def load_outbox(self, ids: Sequence[int]) -> list[OutboxItem]:
        """Return what is needed to send each of these outbox rows."""
        return await self._load_outbox(ids)

    async def _load_outbox(self, ids: Sequence[int]) -> list[OutboxItem]:
        if not ids:
            return []
        async with self._db.execute(
            f"""SELECT o.id, o.kind, o.user_id, u.status, o.matched, o.attempts, o.status,
                    s.title, s.link, s.summary, s.published_at, coalesce(f.title, ''),
                    o.broadcast_id, b.text
                FROM outbox o JOIN users u ON u.id = o.user_id
                LEFT JOIN stories s ON s.id = o.story_id
                LEFT JOIN feeds f ON f.id = s.feed_id
                LEFT JOIN broadcasts b ON b.id = o.broadcast_id
                WHERE o.id IN ({marks(ids)}) ORDER BY o.id""",
            tuple(ids),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_outbox_item(row) for row in rows]

    @serialized
    async def pending_digest(self, user_id: int) -> list[OutboxItem]:
        """Return every pending digest row of a user, oldest first."""
        async with self._db.execute(
            "SELECT id FROM outbox WHERE user_id = ? AND kind = 'digest' AND status = 'pending'",
            (user_id,),
        ) as cursor:
            ids = [int(row[0]) for row in await cursor.fetchall()]
        return await self._load_outbox(ids)

    @serialized
    async def record_deliveries(self, outcomes: Sequence[Delivery], now: float) -> None:
        """Write the outcome of a batch of sends in one transaction."""
        if not outcomes:
            return
        async with self._transaction():
            await self._db.executemany(
                """UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, error = ?,
                       sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
                   WHERE id = ?""",
                [
                    (o.status, o.attempts, o.next_attempt_at, o.error, o.status, now, o.outbox_id)
                    for o in outcomes
                ],
            )
            blocked = {o.user_id for o in outcomes if o.user_blocked}
            for user_id in blocked:
                await self._block_user(user_id, now)

    async def _block_user(self, user_id: int, now: float) -> None:
        await self._db.execute(
            "UPDATE users SET status = 'blocked', updated_at = ? WHERE id = ?", (now, user_id)
        )
        await self._db.execute(
            """UPDATE outbox SET status = 'blocked', error = 'user blocked the bot'
               WHERE user_id = ? AND status = 'pending'""",
            (user_id,),
        )

    @serialized
    async def drop_pending_for_user(self, user_id: int, reason: str) -> int:
        """Drop a user's pending rows (they paused); return how many."""
        cursor = await self._db.execute(
            """UPDATE outbox SET status = 'dropped', error = ?
               WHERE user_id = ? AND status = 'pending'""",
            (reason, user_id),
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


def _outbox_item(row: sqlite3.Row) -> OutboxItem:
    published = row[10]
    return OutboxItem(
        id=int(row[0]),
        kind=str(row[1]),
        user_id=int(row[2]),
        user_status=UserStatus(row[3]),
        matched=tuple(json.loads(row[4])),
        attempts=int(row[5]),
        status=str(row[6]),
        title=row[7] or "",
        link=row[8],
        summary=row[9],
        published=datetime.fromtimestamp(published, UTC) if published is not None else None,
        source=str(row[11]),
        broadcast_id=row[12],
        text=row[13],
    )
