"""Several `newshound run` processes on one database: the instances alive, and the lock on
receiving Telegram's updates by long polling.

Protocols only (pure). On PostgreSQL the instances are rows another process can read and the
polling lock is a session advisory lock; on SQLite, one process, every method is trivial
(bot/storage/sqlite/instances.py). The feed leases themselves are in the Feeds protocol
(`lease_due_feeds`); a heartbeat extends those the instance holds.
"""

from typing import Protocol


class PollingLock(Protocol):
    """The right to call getUpdates: one holder among the instances sharing a database.

    Held by a session of its own (not one of the pool's): it is released when that session
    ends, so another instance takes over when the holder dies or loses its connection."""

    async def acquire(self) -> bool:
        """Try once to take the lock; return whether this instance holds it now.

        Raise StorageUnavailable when the database cannot be reached."""

    async def held(self) -> bool:
        """Return whether the lock is still held (False once its session is gone: acquire
        again to take it back)."""

    async def release(self) -> None:
        """Give the lock up and close its session."""


class Instances(Protocol):
    """The bot processes sharing the database, each known by a random id."""

    async def heartbeat(self, instance: str, now: float, until: float) -> None:
        """Record that `instance` is alive at `now` and counts as live until `until`; the feed
        leases it holds are extended to `until` too."""

    async def live_instances(self, now: float) -> list[str]:
        """Return the ids of the instances live at `now` (their last heartbeat's `until` is
        later), sorted."""

    async def retire(self, instance: str) -> None:
        """Forget a stopping instance and release the feed leases it still holds."""

    def polling_lock(self) -> PollingLock | None:
        """Return a new polling lock, or None where one process is all there can be."""
