"""What one send attempt reports to the metrics sink: its outcome and, once sent, how long
after publication each story it carried arrived."""

from collections.abc import Sequence

from bot.metrics import MetricsSink
from bot.storage import OutboxItem

# Outbox statuses as outcomes a reader of /metrics understands: "pending" after an attempt
# means Telegram or the network asked for another try.
_OUTCOMES = {"pending": "retry"}


def report_attempt(
    metrics: MetricsSink, status: str, rows: Sequence[OutboxItem], now: float
) -> None:
    """Count the attempt by outcome; for a sent message, each story's publication latency."""
    metrics.send_finished(_OUTCOMES.get(status, status))
    if status != "sent":
        return
    for row in rows:
        if row.story_id is not None and row.published is not None:
            # A feed's clock ahead of ours is not a negative delay.
            metrics.alert_latency(max(0.0, now - row.published.timestamp()))
