"""The burst rule: which new matches go to a chat as alerts and which as digest lines.

A chat gets at most ALERT_BURST_LIMIT alerts in any BURST_WINDOW_SECONDS, however many
feeds and polls they come from; the rest are combined into one digest message.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

# Ten minutes: two cycles of the default 5-minute poll interval, so feeds polled together
# or in consecutive cycles share one budget, and a fixed span the README can promise
# whatever POLL_INTERVAL_SECONDS is.
BURST_WINDOW_SECONDS = 600.0


class Lane(StrEnum):
    """How a story reaches a chat."""

    ALERT = "alert"
    DIGEST = "digest"


@dataclass(frozen=True)
class Queued:
    """One story for one chat, and whether it goes as an alert or a digest line."""

    lane: Lane
    story_id: int
    chat_id: int
    matched: tuple[str, ...]


def plan_alerts(
    matches: Sequence[tuple[int, Mapping[int, tuple[str, ...]]]],
    recent_alerts: Mapping[int, int],
    limit: int,
) -> list[Queued]:
    """Return a row per (story, chat) in story order: alerts while the chat is under limit.

    matches: (story id, {chat: matched subscriptions}) for each new story, in feed order;
    recent_alerts: alerts already queued to each chat within the window.
    """
    sent = Counter(recent_alerts)
    planned = []
    for story_id, chats in matches:
        for chat_id, matched in chats.items():
            lane = Lane.ALERT if sent[chat_id] < limit else Lane.DIGEST
            sent[chat_id] += lane is Lane.ALERT
            planned.append(Queued(lane, story_id, chat_id, matched))
    return planned
