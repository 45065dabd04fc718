"""Tuning a chat's alerts from the alerts themselves: muted queries and hidden sources.

The values storage returns for them and the Tuning protocol. What a mute or a hidden source
holds back is decided at a claim (bot.delivery.tuning, pure); storage only keeps the state.
"""

from dataclasses import dataclass
from typing import Protocol

from bot.storage.models import Subscription


@dataclass(frozen=True)
class MutedSubscription:
    """One of a chat's subscriptions, muted until a time (seconds since the epoch)."""

    subscription: Subscription
    until: float


@dataclass(frozen=True)
class HiddenFeed:
    """A feed a chat hid from all its alerts."""

    feed_id: int
    title: str
    url: str


@dataclass(frozen=True)
class SentAlert:
    """An alert the chat was sent: its story, the story's feed and the queries it named."""

    story_id: int
    # None once the feed was removed (its stories stay, unlinked).
    feed_id: int | None
    source: str
    matched: tuple[str, ...]
    thread_id: int | None


class Tuning(Protocol):
    """Muted subscriptions and hidden feeds, per chat; another chat's ids change nothing."""

    async def mute_subscription(
        self, chat_id: int, subscription_id: int, until: float | None
    ) -> Subscription | None:
        """Mute one of the chat's subscriptions until a time (None: unmute it); return it,
        or None when the chat has no subscription with that id."""

    async def muted_subscriptions(self, chat_id: int, now: float) -> list[MutedSubscription]:
        """Return the chat's subscriptions muted beyond now, oldest subscription first."""

    async def hide_feed(self, chat_id: int, feed_id: int, now: float) -> bool:
        """Hide a feed from the chat's alerts; False when the feed is unknown or hidden."""

    async def show_feed(self, chat_id: int, feed_id: int) -> bool:
        """Show a hidden feed in the chat's alerts again; False when it was not hidden."""

    async def hidden_feeds(self, chat_id: int) -> list[HiddenFeed]:
        """Return the feeds the chat hid, in the order it hid them."""

    async def sent_alert(
        self, chat_id: int, story_id: int, thread_id: int | None = None
    ) -> SentAlert | None:
        """Return the alert about this story queued to this chat's forum topic thread_id
        (None: the chat itself), or None (never queued there, or pruned since). A story that
        went to two topics of a forum has an alert in each, with its own matched queries."""
