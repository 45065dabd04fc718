"""Feed leases and instances on SQLite: in this process's memory, since one process is all a
SQLite database serves (several instances need PostgreSQL). The same contract, at no cost."""

from collections.abc import Iterable


class Leases:
    """Which feeds this process leased, to whom and until when; and its live instances."""

    def __init__(self) -> None:
        self._feeds: dict[int, tuple[str, float]] = {}
        self.instances: dict[str, float] = {}

    def held(self, now: float) -> dict[int, str]:
        """Return feed -> owner of the leases still running at now (ended ones forgotten)."""
        self._feeds = {f: lease for f, lease in self._feeds.items() if lease[1] > now}
        return {feed_id: owner for feed_id, (owner, _) in self._feeds.items()}

    def ends(self) -> dict[int, float]:
        """Return feed -> lease end of every lease taken and not released, ended or not."""
        return {feed_id: until for feed_id, (_, until) in self._feeds.items()}

    def take(self, instance: str, feed_ids: Iterable[int], until: float) -> None:
        """Lease these feeds to instance until then."""
        for feed_id in feed_ids:
            self._feeds[feed_id] = (instance, until)

    def extend(self, instance: str, until: float) -> None:
        """Move the end of every lease instance holds to until."""
        for feed_id, (owner, _) in list(self._feeds.items()):
            if owner == instance:
                self._feeds[feed_id] = (owner, until)

    def release(self, feed_id: int) -> None:
        """End a feed's lease (its poll's outcome is stored)."""
        self._feeds.pop(feed_id, None)

    def release_all(self, instance: str) -> None:
        """End every lease instance holds."""
        self._feeds = {f: lease for f, lease in self._feeds.items() if lease[0] != instance}
