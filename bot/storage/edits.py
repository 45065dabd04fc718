"""Sent alerts edited when their story arrives from another outlet: values and protocol.

A story saved as a copy of an earlier one from another feed (same canonical link, or a
near-identical title: bot.ingest.similar_titles) queues one pending edit per alert about
the original, pending or sent; repeated outlets coalesce into that one edit. The edit
re-renders the alert with its "Also:" line (every copy's outlet and link) and replaces the
message Telegram gave the alert (its message_id, stored when it was sent).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.storage.models import OutboxItem


@dataclass(frozen=True)
class AlertEdit:
    """A pending edit of a sent alert: the alert as sent now would render, and its message."""

    alert: OutboxItem  # alert.also holds the other outlets
    message_id: int
    attempts: int
    # Bumped by every copy queued: an outcome for an older one leaves the edit pending.
    generation: int


@dataclass(frozen=True)
class DueEdits:
    """The edits due now, when the next of the others is (None: none waits), and how many
    wait for their alert to be sent."""

    edits: tuple[AlertEdit, ...]
    next_due: float | None
    waiting: int = 0


@dataclass(frozen=True)
class EditOutcome:
    """How one edit attempt ended: done, failed (never retried) or pending (retried then)."""

    outbox_id: int
    status: str
    attempts: int
    generation: int
    next_attempt_at: float = 0.0
    error: str | None = None


class AlertEdits(Protocol):
    """The edits waiting for sent alerts."""

    async def due_alert_edits(self, now: float, limit: int) -> DueEdits:
        """Return up to limit pending edits due by now whose alert was sent (an edit whose
        alert ended unsent is dropped; one whose alert is still pending waits for it)."""

    async def record_alert_edits(self, outcomes: Sequence[EditOutcome], now: float) -> None:
        """Write the outcome of edit attempts; an edit a newer copy re-queued meanwhile (its
        generation moved on) stays pending."""
