"""Prometheus series for /metrics, in a registry of their own, fed through MetricsSink.

Labels are bounded and carry nothing personal: a feed's id (feeds are few and added by
admins), an outcome from a fixed set, a Bot API method name. Never a chat id or a query.
"""

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from bot.storage import Backlog

SEND_OUTCOMES = ("sent", "retry", "failed", "blocked")
# From a fast poll of a 304 to a slow body that waited for a parser worker.
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# From a story alerted within one poll interval to one that waited for a digest's release.
LATENCY_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0, 86400.0)


class PrometheusMetrics:
    """A MetricsSink keeping Prometheus series, and the delivery gauges set at each scrape."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        # When the last send attempt ended (the health check's sign of delivery's progress).
        self.last_send_at: float | None = None
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._polls = Counter(
            "newshound_feed_polls",
            "Polls of a feed by outcome",
            ["feed_id", "outcome"],
            registry=registry,
        )
        self._fetch_errors = Counter(
            "newshound_feed_errors",
            "Polls of a feed that failed (fetch, HTTP or parse error)",
            ["feed_id"],
            registry=registry,
        )
        self._poll_seconds = Histogram(
            "newshound_feed_poll_duration_seconds",
            "Time from the start of a feed's poll to its stored result",
            buckets=POLL_BUCKETS,
            registry=registry,
        )
        self._stories = Counter(
            "newshound_stories_new", "New stories stored by polls", registry=registry
        )
        self._matched = Counter(
            "newshound_stories_matched",
            "New stories that matched at least one query (fanned out to chats at delivery)",
            registry=registry,
        )
        self._sends = Counter(
            "newshound_sends",
            "Send attempts of alerts, digests and broadcasts by outcome",
            ["outcome"],
            registry=registry,
        )
        for outcome in SEND_OUTCOMES:
            self._sends.labels(outcome)
        self._rate_limited = Counter(
            "newshound_telegram_rate_limited",
            "Bot API calls Telegram answered with 429 Too Many Requests",
            ["method"],
            registry=registry,
        )
        self._latency = Histogram(
            "newshound_alert_latency_seconds",
            "Time from a story's publication to the message that carried it",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._backlog = {
            name: Gauge(f"newshound_{name}", text, registry=registry)
            for name, text in _BACKLOG_GAUGES.items()
        }

    # --- MetricsSink ---

    def feed_polled(self, feed_id: int, outcome: str, seconds: float) -> None:
        """Count the poll by outcome ("not modified" as not_modified); time it; count a
        failure as the feed's error."""
        self._polls.labels(str(feed_id), outcome.replace(" ", "_")).inc()
        self._poll_seconds.observe(seconds)
        if outcome == "error":
            self._fetch_errors.labels(str(feed_id)).inc()

    def stories_stored(self, new: int, matched: int) -> None:
        """Count a poll's new and matched stories."""
        self._stories.inc(new)
        self._matched.inc(matched)

    def send_finished(self, outcome: str) -> None:
        """Count a send attempt by outcome and note that delivery moved."""
        self._sends.labels(outcome).inc()
        self.last_send_at = self._clock()

    def alert_latency(self, seconds: float) -> None:
        """Observe one story's publication-to-delivery time."""
        self._latency.observe(seconds)

    def rate_limited(self, method: str) -> None:
        """Count a 429 by Bot API method."""
        self._rate_limited.labels(method).inc()

    # --- scrape ---

    def set_backlog(self, backlog: Backlog, now: float) -> None:
        """Set the delivery gauges from storage's figures, read for this scrape."""
        gauges = self._backlog
        gauges["outbox_pending_rows"].set(backlog.pending_rows)
        gauges["outbox_oldest_due_age_seconds"].set(_age(backlog.oldest_due_at, now))
        gauges["matches_waiting"].set(backlog.waiting_matches)
        gauges["matches_oldest_age_seconds"].set(_age(backlog.oldest_match_at, now))

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """Return the registry in the format the scraper asked for, and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


_BACKLOG_GAUGES = {
    "outbox_pending_rows": "Outbox rows waiting to be sent (held digests and retries too)",
    "outbox_oldest_due_age_seconds": (
        "Age of the oldest outbox row that is due to be sent now (0 when none)"
    ),
    "matches_waiting": "Stored matches some chat has not yet claimed",
    "matches_oldest_age_seconds": "Age of the oldest unclaimed match (0 when none)",
}


def _age(since: float | None, now: float) -> float:
    return 0.0 if since is None else max(0.0, now - since)
