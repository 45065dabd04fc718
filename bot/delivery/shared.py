"""Delivery across instances (PostgreSQL): this instance's leases, and its share of one budget.

Several `newshound run` processes on one database share the outbox (bot/storage/leases.py):
rows a claim queues are leased to the claiming instance; a sweep, every SWEEP_FRACTION of the
lease and whenever the worker is woken, renews this instance's leases and takes rows nobody
holds (a broadcast's, or a dead instance's once its lease expired), up to a queue's worth. A row
is loaded for sending only while this instance holds it, so a row another instance took over
is not sent twice. Every send first takes a token from the send budget all instances share:
a token bucket in the database, taken a tenth of a second's worth at a time.
"""

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.config import Settings
from bot.storage import OutboxItem, PendingRow, Storage, StorageUnavailable
from bot.storage.leases import Budget, Lease, batch_for

log = logging.getLogger(__name__)

# How long a lease lasts unless renewed: an instance that died leaves its rows to the others
# after this (plus a sweep). Long enough that a stalled loop or a slow database rarely loses
# a lease; short enough that a dead instance's alerts are late by half a minute at most.
LEASE_SECONDS = 30.0
# Sweeps per lease period: a live instance renews its leases this often.
SWEEPS_PER_LEASE = 6
# Rows an instance keeps queued from sweeps: this many seconds of the whole rate, so one
# instance alone can keep the rate between sweeps, and none hoards much more.
QUEUE_SECONDS = 2 * LEASE_SECONDS / SWEEPS_PER_LEASE


@dataclass(frozen=True)
class Sharing:
    """How this instance shares delivery: its id, the instances' total send rate, the lease."""

    instance: str
    rate: float
    lease_seconds: float = LEASE_SECONDS


def delivery_sharing(settings: Settings, instance: str) -> Sharing | None:
    """On PostgreSQL, how this process shares delivery with other instances on the database:
    its id (bot.instance) for its leases, and MAX_MESSAGES_PER_SECOND as the instances'
    total."""
    if settings.database_url is None:
        return None  # SQLite: one process, PTB's limiter is the whole budget
    return Sharing(instance, rate=settings.max_messages_per_second)


class SharedDelivery:
    """This instance's leases on outbox rows, its sweeps and its tokens from the budget."""

    def __init__(self, storage: Storage, sharing: Sharing, clock: Callable[[], float]) -> None:
        self._storage = storage
        self._sharing = sharing
        self._clock = clock
        self._next_sweep = 0.0
        self._queue_target = max(1, math.ceil(sharing.rate * QUEUE_SECONDS))
        # A tenth of a second's worth of sends, and a bucket no deeper: no burst after a lull.
        batch = batch_for(sharing.rate)
        self._budget = Budget(sharing.rate, float(batch))
        self._batch = batch
        self._tokens = 0
        self._refill = asyncio.Lock()

    @property
    def instance(self) -> str:
        """Return this instance's id, as its leases name it."""
        return self._sharing.instance

    def lease(self) -> Lease:
        """Return a lease for rows taken or queued now."""
        return Lease(self._sharing.instance, self._clock() + self._sharing.lease_seconds)

    def sweep_due(self) -> bool:
        """Tell whether leases need renewing (and unheld rows a look) now."""
        return self._clock() >= self._next_sweep

    async def sweep(self, queued: int) -> list[PendingRow]:
        """Renew this instance's leases, then take unheld rows up to a queue's worth."""
        now = self._clock()
        lease = self.lease()
        await self._storage.renew_outbox_leases(lease)
        self._next_sweep = now + self._sharing.lease_seconds / SWEEPS_PER_LEASE
        room = self._queue_target - queued
        return await self._storage.take_outbox(lease, now, room) if room > 0 else []

    async def held(self, rows: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Return these rows as they are now, those this instance holds only."""
        ids = [row.id for row in rows]
        return await self._storage.load_outbox(ids, leased_by=self._sharing.instance)

    async def take_tokens(self, count: int) -> bool:
        """Wait for `count` tokens of the shared send budget (the instances' sends stay within
        it); False if the database cannot give them (the send waits for the pause)."""
        async with self._refill:
            try:
                while self._tokens < count:
                    got = await self._storage.take_send_tokens(
                        self._batch, self._budget, self._clock()
                    )
                    self._tokens += got
                    if got == 0:
                        # The bucket refills a batch in this long; others may take it first.
                        await asyncio.sleep(self._batch / self._sharing.rate)
            except StorageUnavailable as error:
                log.warning("No send tokens from the database: %s", error)
                return False
            self._tokens -= count
            return True

    async def release(self) -> None:
        """Give this instance's leases up (it stops): others take its rows at their sweep."""
        try:
            released = await self._storage.release_outbox_leases(self._sharing.instance)
        except StorageUnavailable as error:
            log.warning("Could not release outbox leases; they expire by themselves: %s", error)
            return
        if released:
            log.info("Released %d pending outbox rows to the other instances", released)
