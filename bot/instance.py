"""This process among the instances sharing a database: its id and its heartbeat.

Every `newshound run` gets a random id at start (logged). The heartbeat tells the database
the instance is alive, three times per INSTANCE_LEASE_SECONDS, which keeps the feed leases
it holds; when it stops, it retires (its row and leases go at once). An instance that dies
leaves leases that end within INSTANCE_LEASE_SECONDS. On SQLite all of it is in memory.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

from bot.storage import Instances, StorageUnavailable

log = logging.getLogger(__name__)

HEARTBEATS_PER_LEASE = 3


def new_instance_id() -> str:
    """Return a new id for this process: host and pid for people, random bits for uniqueness."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Heartbeat:
    """Keeps one instance live in storage until stopped, then retires it."""

    def __init__(
        self,
        storage: Instances,
        instance: str,
        lease_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.instance = instance
        self._storage = storage
        self._lease_seconds = lease_seconds
        self._clock = clock

    async def beat(self) -> None:
        """Say once that the instance is alive (for a lease from now)."""
        now = self._clock()
        await self._storage.heartbeat(self.instance, now, now + self._lease_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every third of the lease until stop."""
        period = self._lease_seconds / HEARTBEATS_PER_LEASE
        while not stop.is_set():
            try:
                await self.beat()
            except StorageUnavailable as error:
                # The leases run out unless a later beat gets through: another instance may
                # then take this one's feeds, which is what a dead instance would want.
                log.error("Instance %s could not send its heartbeat: %s", self.instance, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=period)

    async def retire(self) -> None:
        """Leave the registry, with the leases still held (after the last poll ended)."""
        try:
            await self._storage.retire(self.instance)
        except StorageUnavailable as error:
            log.warning(
                "Instance %s could not retire (its leases run out): %s", self.instance, error
            )
