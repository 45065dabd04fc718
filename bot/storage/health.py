"""What /healthz and /metrics ask of storage: a write that proves the database takes writes,
and the size and age of the delivery backlog. Values and the Health protocol."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Backlog:
    """Work waiting for delivery: claimed outbox rows, and stored matches not yet claimed."""

    # Every pending row, also those held until later (a retry's backoff, a held digest).
    pending_rows: int = 0
    # When the oldest row that may be sent now was queued (seconds since the epoch).
    oldest_due_at: float | None = None
    waiting_matches: int = 0
    oldest_match_at: float | None = None


class Health(Protocol):
    """Probes for the health endpoint and the metrics scrape."""

    async def probe_write(self, now: float) -> None:
        """Commit one tiny write; raise StorageUnavailable when the database takes none."""

    async def backlog(self, now: float) -> Backlog:
        """Return what waits for delivery at `now` and since when, not waiting for the writer."""
