"""Delivery across instances: outbox rows leased to one instance, and one shared send budget.

Several `newshound run` processes on one PostgreSQL share the outbox: a pending row is sent
only by the instance named in its lease (`claimed_by`, until `lease_until`). A claim leases
the rows it queues to the claiming instance; the instance renews its leases while it runs;
rows nobody holds (a broadcast's, or a dead instance's once its lease expired) are taken by
whichever instance sweeps first. A chat with pending rows due within a lease that another
instance holds belongs to that instance until they are done: nobody else claims for it or
takes its rows, so one chat is not sent to side by side. Rows held for later (digest lines
waiting for the chat's digest time) do not keep the chat, or other instances would wait
(their watermark with them) all night. SQLite holds the same columns (one process holds
every lease).

The send budget is a token bucket in the database (a rate, a small capacity) from which
each instance takes a few tokens at a time; the refill and grant rules are here, pure.
"""

import math
from dataclasses import dataclass
from typing import Protocol

from bot.storage.models import PendingRow


@dataclass(frozen=True)
class Lease:
    """Who holds outbox rows (an instance's id) and until when."""

    instance: str
    until: float


@dataclass(frozen=True)
class Budget:
    """The shared send budget: a refill rate (tokens a second) and the bucket's capacity."""

    rate: float
    capacity: float


def row_lease_until(lease: Lease, now: float, due: float) -> float:
    """Return when a row due at `due` stops being held: the lease's end, or for a row not due
    before then (a digest line held by its chat's schedule, a retry) as long after its due
    time. A live instance's renewals then leave it alone until it is nearly due, and if the
    instance dies, its chat waits for no longer than a lease past the row's own time."""
    return max(lease.until, due + (lease.until - now))


def refilled(tokens: float, updated: float, now: float, budget: Budget) -> float:
    """Return the bucket's tokens at `now`: refilled since `updated`, never above capacity
    (a clock that went back refills nothing)."""
    return min(budget.capacity, tokens + max(0.0, now - updated) * budget.rate)


def granted(available: float, want: int) -> int:
    """Return how many whole tokens of `available` a request for `want` gets."""
    return max(0, min(want, math.floor(available)))


def batch_for(rate: float) -> int:
    """Return how many tokens an instance asks for at once: a tenth of a second's worth, so
    1,000 messages a second cost ten budget transactions a second per instance."""
    return max(1, math.ceil(rate / 10))


class DeliveryLeases(Protocol):
    """Outbox rows leased to instances, and the send budget they share."""

    async def take_outbox(self, lease: Lease, now: float, limit: int) -> list[PendingRow]:
        """Lease to `lease.instance` up to `limit` pending rows nobody holds (never leased,
        released, or their lease expired before `now`), skipping chats whose pending rows
        another instance holds and rows another take is locking; return them, oldest first."""

    async def renew_outbox_leases(self, lease: Lease) -> int:
        """Extend the lease of every pending row the instance holds that ends before
        `lease.until` to then; return how many were extended."""

    async def release_outbox_leases(self, instance: str) -> int:
        """Give up the instance's leases on its pending rows (it stops); return how many."""

    async def take_send_tokens(self, want: int, budget: Budget, now: float) -> int:
        """Take up to `want` tokens from the shared send budget; return how many were given."""
