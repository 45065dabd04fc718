"""Instances on SQLite: one process serves a SQLite database, so they live in its memory.

There is no polling lock: a second process polling with the same token meets Telegram's
409 Conflict and stops (bot/receiving.py).
"""

from bot.storage.instances import PollingLock
from bot.storage.sqlite.connection import SqliteBase


class InstancesMixin(SqliteBase):
    """The Instances protocol, in memory (leases.py)."""

    async def heartbeat(self, instance: str, now: float, until: float) -> None:
        """Count instance live until then, and its feed leases held until then."""
        self._leases.instances[instance] = until
        self._leases.extend(instance, until)

    async def live_instances(self, now: float) -> list[str]:
        """Return the instances whose last heartbeat lasts past now, sorted."""
        return sorted(i for i, until in self._leases.instances.items() if until > now)

    async def retire(self, instance: str) -> None:
        """Forget a stopping instance and end its feed leases."""
        self._leases.instances.pop(instance, None)
        self._leases.release_all(instance)

    def polling_lock(self) -> PollingLock | None:
        """None: one process is all a SQLite database serves."""
        return None
