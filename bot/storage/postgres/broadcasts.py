"""Admin broadcasts: a draft, its one confirmation (queueing every active chat), progress."""

from typing import Any

from bot.storage.models import Broadcast, BroadcastStatus
from bot.storage.postgres.connection import PostgresBase

BROADCAST_SELECT = """SELECT id, admin_id, text, status, recipients, status_chat_id,
    status_message_id FROM broadcasts"""


class BroadcastsMixin(PostgresBase):
    """The broadcasts table and its outbox rows."""

    async def create_broadcast(self, admin_id: int, text: str, now: float) -> Broadcast:
        """Store a draft broadcast awaiting its admin's confirmation."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """INSERT INTO broadcasts (admin_id, text, created_at) VALUES (%s, %s, %s)
                   RETURNING id""",
                (admin_id, text, now),
            )
            row = await cursor.fetchone()
        assert row is not None
        return Broadcast(int(row[0]), admin_id, text, BroadcastStatus.DRAFT, 0, None, None)

    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None:
        """Return the broadcast, if it exists."""
        found = await self._broadcasts(f"{BROADCAST_SELECT} WHERE id = %s", (broadcast_id,))
        return found[0] if found else None

    async def broadcasts_in_progress(self) -> list[Broadcast]:
        """Return confirmed broadcasts not yet reported as finished."""
        return await self._broadcasts(
            f"{BROADCAST_SELECT} WHERE status = 'sending' ORDER BY id", ()
        )

    async def _broadcasts(self, sql: str, params: tuple[object, ...]) -> list[Broadcast]:
        async with self._transaction() as db:
            cursor = await db.execute(sql, params)
            rows = await cursor.fetchall()
        return [_broadcast(row) for row in rows]

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
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE broadcasts SET status = 'sending', confirmed_at = %s,
                       status_chat_id = %s, status_message_id = %s
                   WHERE id = %s AND admin_id = %s AND status = 'draft'""",
                (now, status_chat_id, status_message_id, broadcast_id, admin_id),
            )
            if cursor.rowcount == 0:
                return None
            cursor = await db.execute(
                """INSERT INTO outbox (kind, broadcast_id, chat_id, created_at)
                   SELECT 'broadcast', %s, id, %s FROM chats WHERE status = 'active'
                   ORDER BY id""",
                (broadcast_id, now),
            )
            recipients = cursor.rowcount
            await db.execute(
                "UPDATE broadcasts SET recipients = %s WHERE id = %s", (recipients, broadcast_id)
            )
        return recipients

    async def cancel_broadcast(self, broadcast_id: int, admin_id: int) -> bool:
        """Cancel this admin's draft; False if it was not a draft of theirs."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE broadcasts SET status = 'cancelled'
                   WHERE id = %s AND admin_id = %s AND status = 'draft'""",
                (broadcast_id, admin_id),
            )
            return cursor.rowcount > 0

    async def broadcast_progress(self, broadcast_id: int) -> dict[str, int]:
        """Return the broadcast's outbox rows counted by status."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT status, count(*) FROM outbox WHERE broadcast_id = %s GROUP BY status",
                (broadcast_id,),
            )
            rows = await cursor.fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    async def finish_broadcast(self, broadcast_id: int, now: float) -> bool:
        """Mark a broadcast as fully processed and reported; False if it already was."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE broadcasts SET status = 'done', finished_at = %s
                   WHERE id = %s AND status = 'sending'""",
                (now, broadcast_id),
            )
            return cursor.rowcount > 0


def _broadcast(row: tuple[Any, ...]) -> Broadcast:
    return Broadcast(
        id=int(row[0]),
        admin_id=int(row[1]),
        text=str(row[2]),
        status=BroadcastStatus(row[3]),
        recipients=int(row[4]),
        status_chat_id=row[5],
        status_message_id=row[6],
    )
