"""The burst rule: which of a chat's pending stories go as alerts and which as one digest.

A chat gets at most ALERT_BURST_LIMIT alerts in any BURST_WINDOW_SECONDS, however many
feeds and polls they come from; the rest are combined into one digest message. A chat whose
oldest pending story has waited COALESCE_AFTER_SECONDS (delivery is behind: more is due than
Telegram lets the bot send) gets everything pending as one digest, so a backlog never
becomes one queued message per story.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.claims import ClaimPlan, Lane, PlannedRow

# Ten minutes: two cycles of the default 5-minute poll interval, so feeds polled together
# or in consecutive cycles share one budget, and a fixed span the README can promise
# whatever POLL_INTERVAL_SECONDS is.
BURST_WINDOW_SECONDS = 600.0
# A story that waited two minutes for its chat's turn is late (the README promises alerts
# within a minute or two): what is pending then goes as one message. Under normal load a
# chat's turn comes within seconds (a burst of 3, then one a second).
COALESCE_AFTER_SECONDS = 120.0
# Stories one claim takes; a digest message holds far fewer, the rest wait in the outbox.
MAX_STORIES_PER_CLAIM = 200


@dataclass(frozen=True)
class PendingStory:
    """A story waiting for a chat: the match it came from and the chat's queries it met."""

    match_id: int
    story_id: int
    matched: tuple[str, ...]
    thread_id: int | None
    matched_at: float


def plan_claim(
    pending: Sequence[PendingStory],
    *,
    recent_alerts: int,
    limit: int,
    now: float,
    through: int,
) -> ClaimPlan:
    """Return the rows for a chat's pending stories (oldest first) and its new cursor.

    recent_alerts: alerts already queued to the chat within the burst window; through: the
    last match the caller has seen, where the cursor moves when everything pending is taken.
    """
    taken = list(pending[:MAX_STORIES_PER_CLAIM])
    more = len(pending) > len(taken)
    behind = len(taken) > 1 and now - taken[0].matched_at >= COALESCE_AFTER_SECONDS
    budget = 0 if behind else max(0, limit - recent_alerts)
    rows = tuple(
        PlannedRow(
            Lane.ALERT if position < budget else Lane.DIGEST,
            story.story_id,
            story.matched,
            story.thread_id,
        )
        for position, story in enumerate(taken)
    )
    return ClaimPlan(rows, taken[-1].match_id if more else through, more)
