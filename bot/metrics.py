"""What the poller, the delivery worker and the Telegram client report for /metrics.

They call a MetricsSink passed in; NO_METRICS (the default) drops everything, and
bot/web/metrics.py turns the calls into Prometheus series. Nothing here names a chat or a
query: feeds are named by their id, a number an admin gave no personal meaning.
"""

from typing import Protocol


class MetricsSink(Protocol):
    """Counts and timings of the bot's work, reported where they happen."""

    def feed_polled(self, feed_id: int, outcome: str, seconds: float) -> None:
        """One poll of a feed ended ("ok", "not modified", "unchanged", "error", ...)."""

    def stories_stored(self, new: int, matched: int) -> None:
        """A poll stored `new` stories, `matched` of them matching some query."""

    def send_finished(self, outcome: str) -> None:
        """One send ended: "sent", "retry", "failed", "blocked" or "dropped"."""

    def alert_latency(self, seconds: float) -> None:
        """A story was delivered `seconds` after its publication time."""

    def rate_limited(self, method: str) -> None:
        """Telegram answered a Bot API call with 429 Too Many Requests."""


class NoMetrics:
    """A MetricsSink that keeps nothing: the default wherever no metrics are served."""

    def feed_polled(self, feed_id: int, outcome: str, seconds: float) -> None:
        """Drop it."""

    def stories_stored(self, new: int, matched: int) -> None:
        """Drop it."""

    def send_finished(self, outcome: str) -> None:
        """Drop it."""

    def alert_latency(self, seconds: float) -> None:
        """Drop it."""

    def rate_limited(self, method: str) -> None:
        """Drop it."""


NO_METRICS: MetricsSink = NoMetrics()
