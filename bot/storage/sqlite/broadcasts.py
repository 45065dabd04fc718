"""Admin broadcasts: a draft, its one confirmation (queueing every active chat), progress."""

import sqlite3

from bot.storage.models import Broadcast, BroadcastStatus
from bot.storage.sqlite.connection import SqliteBase, serialized

BROADCAST_SELECT = """SELECT id, admin_id, text, status, recipients, status_chat_id,
    status_message_id FROM broadcasts"""


class BroadcastsMixin(SqliteBase):
    """The broadcasts table and its outbox rows."""

    @serialized
    async def create_broadcast(self, admin_id: int, text: str, now: float) -> Broadcast:
        """Store a draft broadcast awaiting its admin's confirmation."""
        async with self._db.execute(
            "INSERT INTO broadcasts (admin_id, text, created_at) VALUES (?, ?, ?) RETURNING id",
            (admin_id, text, now),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return Broadcast(int(row[0]), admin_id, text, BroadcastStatus.DRAFT, 0, None, None)

    @serialized
    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None:
        """Return the broadcast, if it exists."""
        async with self._db.execute(f"{BROADCAST_SELECT} WHERE id = ?", (broadcast_id,)) as cursor:
            row = await cursor.fetchone()
        return _broadcast(row) if row else None

    @serialized
    async def broadcasts_in_progress(self) -> list[Broadcast]:
        """Return confirmed broadcasts not yet reported as finished."""
        async with self._db.execute(
            f"{BROADCAST_SELECT} WHERE status = 'sending' ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [_broadcast(row) for row in rows]

    @serialized
    async def confirm_broadcast(
        self,
        broadcast_id: int,
        admin_id: int,
        now: float,
        *,
        status_chat_id: int | None = None,
        status_message_id: int | None = None,
    ) -> int | None:
        """Queue a draft for every active chat; None unless it was this admin's draft.

        The message that will show the progress is recorded in the same transaction: a
        crash right after confirming must still end with a report.
        """
        async with self._transaction():
            cursor = await self._db.execute(
                """UPDATE broadcasts SET status = 'sending', confirmed_at = ?,
                       status_chat_id = ?, status_message_id = ?
                   WHERE id = ? AND admin_id = ? AND status = 'draft'""",
                (now, status_chat_id, status_message_id, broadcast_id, admin_id),
            )
            if cursor.rowcount == 0:
                return None
            cursor = await self._db.execute(
                """INSERT INTO outbox (kind, broadcast_id, chat_id, created_at)
                   SELECT 'broadcast', ?, id, ? FROM chats WHERE status = 'active'
                   ORDER BY id""",
                (broadcast_id, now),
            )
            recipients = cursor.rowcount
            await self._db.execute(
                "UPDATE broadcasts SET recipients = ? WHERE id = ?", (recipients, broadcast_id)
            )
        return recipients

    @serialized
    async def cancel_broadcast(self, broadcast_id: int, admin_id: int) -> bool:
        """Cancel this admin's draft; False if it was not a draft of theirs."""
        cursor = await self._db.execute(
            """UPDATE broadcasts SET status = 'cancelled'
               WHERE id = ? AND admin_id = ? AND status = 'draft'""",
            (broadcast_id, admin_id),
        )
        return cursor.rowcount > 0

    @serialized
    async def broadcast_progress(self, broadcast_id: int) -> dict[str, int]:
        """Return the broadcast's outbox rows counted by status."""
        async with self._db.execute(
            "SELECT status, count(*) FROM outbox WHERE broadcast_id = ? GROUP BY status",
            (broadcast_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    @serialized
    async def finish_broadcast(self, broadcast_id: int, now: float) -> bool:
        """Mark a broadcast as fully processed and reported; False if it already was."""
        cursor = await self._db.execute(
            """UPDATE broadcasts SET status = 'done', finished_at = ?
               WHERE id = ? AND status = 'sending'""",
            (now, broadcast_id),
        )
        return cursor.rowcount > 0


def _broadcast(row: sqlite3.Row) -> Broadcast:
    return Broadcast(
        id=int(row[0]),
        admin_id=int(row[1]),
        text=str(row[2]),
        status=BroadcastStatus(row[3]),
        recipients=int(row[4]),
        status_chat_id=row[5],
        status_message_id=row[6],
    )
