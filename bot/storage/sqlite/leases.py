"""Delivery across instances, as SQLite keeps it: the same leases and send budget as the
PostgreSQL backend (bot/storage/leases.py), without row locks (one writer at a time)."""

from bot.storage.leases import Budget, Lease, granted, refilled, row_lease_until
from bot.storage.models import PendingRow
from bot.storage.rows import pending_row
from bot.storage.sqlite.connection import SqliteBase, marks, serialized

_UNHELD = "(o.claimed_by IS NULL OR (o.claimed_by <> ? AND o.lease_until < ?))"


class LeasesMixin(SqliteBase):
    """Leases on outbox rows (claimed_by, lease_until) and delivery_state's send tokens."""

    @serialized
    async def take_outbox(self, lease: Lease, now: float, limit: int) -> list[PendingRow]:
        """Lease up to `limit` unheld pending rows (whole chats) to the instance."""
        me = lease.instance
        async with self._transaction():
            found = await self._db.execute_fetchall(
                f"""SELECT DISTINCT chat_id FROM (
                        SELECT o.chat_id FROM outbox o WHERE o.status = 'pending' AND {_UNHELD}
                        ORDER BY o.id LIMIT ?) AS candidates
                    WHERE NOT EXISTS (
                        SELECT 1 FROM outbox h
                        WHERE h.chat_id = candidates.chat_id AND h.status = 'pending'
                            AND h.claimed_by <> ? AND h.lease_until >= ?
                            AND h.next_attempt_at <= ?)""",
                (me, now, limit, me, now, lease.until),
            )
            chats = [int(row[0]) for row in found]
            if not chats:
                return []
            rows = list(
                await self._db.execute_fetchall(
                    f"""SELECT o.id, o.chat_id, o.kind, o.next_attempt_at,
                            coalesce(c.type, 'private')
                        FROM outbox o LEFT JOIN chats c ON c.id = o.chat_id
                        WHERE o.status = 'pending' AND {_UNHELD}
                            AND o.chat_id IN ({marks(chats)}) ORDER BY o.id""",
                    (me, now, *chats),
                )
            )
            await self._db.executemany(
                "UPDATE outbox SET claimed_by = ?, lease_until = ? WHERE id = ?",
                [(me, row_lease_until(lease, now, float(row[3])), int(row[0])) for row in rows],
            )
        return [pending_row(r) for r in rows]

    @serialized
    async def renew_outbox_leases(self, lease: Lease) -> int:
        """Extend the instance's leases ending before lease.until; return how many."""
        async with self._transaction():
            cursor = await self._db.execute(
                """UPDATE outbox SET lease_until = ?
                   WHERE claimed_by = ? AND status = 'pending' AND lease_until < ?""",
                (lease.until, lease.instance, lease.until),
            )
            return cursor.rowcount

    @serialized
    async def release_outbox_leases(self, instance: str) -> int:
        """Give up the instance's leases on its pending rows; return how many."""
        async with self._transaction():
            cursor = await self._db.execute(
                """UPDATE outbox SET claimed_by = NULL, lease_until = NULL
                   WHERE claimed_by = ? AND status = 'pending'""",
                (instance,),
            )
            return cursor.rowcount

    @serialized
    async def take_send_tokens(self, want: int, budget: Budget, now: float) -> int:
        """Take up to `want` tokens from the bucket (one process: its own budget)."""
        async with self._transaction():
            found = await self._db.execute_fetchall(
                "SELECT send_tokens, send_tokens_at FROM delivery_state"
            )
            if not found:
                return 0
            [(tokens, at)] = found
            available = refilled(float(tokens), float(at), now, budget)
            given = granted(available, want)
            await self._db.execute(
                """UPDATE delivery_state
                   SET send_tokens = ?, send_tokens_at = max(send_tokens_at, ?)""",
                (available - given, now),
            )
        return given
