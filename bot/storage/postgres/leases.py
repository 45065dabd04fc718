"""Delivery across instances: outbox rows leased to instances, and the shared send budget.

A take locks the chats it takes rows of (FOR NO KEY UPDATE ... SKIP LOCKED: chats another
instance is taking or claiming right now are left to it), then, in a statement that sees
every lease committed before it got those locks, leases their unheld pending rows unless
another instance holds a live lease on one of them (the chat is that instance's).
"""

from bot.storage.leases import Budget, Lease, granted, refilled
from bot.storage.models import PendingRow
from bot.storage.postgres.connection import PostgresBase
from bot.storage.rows import pending_row


class LeasesMixin(PostgresBase):
    """Leases on outbox rows (claimed_by, lease_until) and delivery_state's send tokens."""

    async def take_outbox(self, lease: Lease, now: float, limit: int) -> list[PendingRow]:
        """Lease up to `limit` unheld pending rows (whole chats) to the instance."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT c.id FROM chats c
                   WHERE c.id IN (
                       SELECT o.chat_id FROM outbox o
                       WHERE o.status = 'pending' AND (o.claimed_by IS NULL
                           OR (o.claimed_by <> %(me)s AND o.lease_until < %(now)s))
                       ORDER BY o.id LIMIT %(limit)s)
                   FOR NO KEY UPDATE OF c SKIP LOCKED""",
                {"me": lease.instance, "now": now, "limit": limit},
            )
            chats = [int(row[0]) for row in await cursor.fetchall()]
            if not chats:
                return []
            cursor = await db.execute(
                """UPDATE outbox o SET claimed_by = %(me)s,
                       lease_until = greatest(%(until)s, o.next_attempt_at + %(hold)s)
                   FROM chats c
                   WHERE c.id = o.chat_id AND o.chat_id = ANY(%(chats)s::bigint[])
                       AND o.status = 'pending'
                       AND (o.claimed_by IS NULL
                           OR (o.claimed_by <> %(me)s AND o.lease_until < %(now)s))
                       AND NOT EXISTS (
                           SELECT 1 FROM outbox h
                           WHERE h.chat_id = o.chat_id AND h.status = 'pending'
                               AND h.claimed_by <> %(me)s AND h.lease_until >= %(now)s
                               AND h.next_attempt_at <= %(until)s)
                   RETURNING o.id, o.chat_id, o.kind, o.next_attempt_at, c.type""",
                {
                    "me": lease.instance,
                    "until": lease.until,
                    "hold": lease.until - now,  # see row_lease_until
                    "now": now,
                    "chats": chats,
                },
            )
            rows = await cursor.fetchall()
        taken = [pending_row(r) for r in rows]
        return sorted(taken, key=lambda row: row.id)

    async def renew_outbox_leases(self, lease: Lease) -> int:
        """Extend the instance's leases ending before lease.until; return how many."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE outbox SET lease_until = %s
                   WHERE claimed_by = %s AND status = 'pending' AND lease_until < %s""",
                (lease.until, lease.instance, lease.until),
            )
            return cursor.rowcount

    async def release_outbox_leases(self, instance: str) -> int:
        """Give up the instance's leases on its pending rows; return how many."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE outbox SET claimed_by = NULL, lease_until = NULL
                   WHERE claimed_by = %s AND status = 'pending'""",
                (instance,),
            )
            return cursor.rowcount

    async def take_send_tokens(self, want: int, budget: Budget, now: float) -> int:
        """Take up to `want` tokens from the bucket every instance shares."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT send_tokens, send_tokens_at FROM delivery_state FOR UPDATE"
            )
            row = await cursor.fetchone()
            if row is None:
                return 0
            available = refilled(float(row[0]), float(row[1]), now, budget)
            given = granted(available, want)
            await db.execute(
                """UPDATE delivery_state
                   SET send_tokens = %s, send_tokens_at = greatest(send_tokens_at, %s)""",
                (available - given, now),
            )
        return given
