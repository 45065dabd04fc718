"""What the storage protocols take and return: plain frozen values, no database in sight."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.ingest.stories import CROSS_FEED_DEDUP_WINDOW, Story
from bot.text.analyzer import AnalyzedText


class ChatStatus(StrEnum):
    """Whether a subscribing chat gets alerts."""

    ACTIVE = "active"
    PAUSED = "paused"
    BLOCKED = "blocked"


class ChatType(StrEnum):
    """Telegram's kind of chat, as its updates name it (Chat.type)."""

    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"

    @classmethod
    def of(cls, telegram_type: str | None) -> "ChatType":
        """Return the type Telegram named; an unknown or missing name counts as private."""
        try:
            return cls(telegram_type or cls.PRIVATE)
        except ValueError:
            return cls.PRIVATE

    @property
    def shared(self) -> bool:
        """Whether several people read the chat (Telegram paces the bot slower there)."""
        return self is not ChatType.PRIVATE


@dataclass(frozen=True)
class Chat:
    """A subscriber: a private chat, group, supergroup or channel that talks to the bot."""

    id: int
    type: ChatType
    # The group's or channel's title, or the person's first name in a private chat.
    title: str | None
    username: str | None
    # IETF tag from the first contact's language_code (None: unknown), until the chat picks
    # one with /language (then a supported locale: "en", "uk", "ru").
    language: str | None
    status: ChatStatus
    created_at: float


@dataclass(frozen=True)
class ChatSeen:
    """What an update says about its chat: registered on first contact, kept current."""

    id: int
    type: ChatType
    title: str | None
    username: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Subscription:
    """One stored query of one chat, and the forum topic it was made in (None: none)."""

    id: int
    chat_id: int
    query: str
    display: str
    thread_id: int | None = None


@dataclass(frozen=True)
class AddedSubscriptions:
    """What happened to each query asked for in one /subscribe."""

    added: tuple[Subscription, ...]
    existing: tuple[str, ...]
    over_limit: tuple[str, ...]


@dataclass(frozen=True)
class Feed:
    """A watched feed and its polling state."""

    id: int
    url: str
    title: str
    trusted: bool
    primed: bool
    etag: str | None
    last_modified: str | None
    next_poll_at: float
    last_polled_at: float | None
    last_ok_at: float | None
    failures: int
    last_error: str | None
    entries_seen: int
    # A digest of the last saved poll's response (URL, parser headers, body): the same
    # body again is not parsed (bot.ingest.incremental.response_digest).
    body_digest: str | None = None


@dataclass(frozen=True)
class StoryToSave:
    """A story from a poll, its text as matching sees it, and whether it may alert anyone."""

    story: Story
    analyzed: AnalyzedText
    alertable: bool
    # The analysis packed for the dry run (bot.text.packed), when it has words.
    packed: bytes = b""


# The distinct normalised queries a story matches (fan-out to chats happens at delivery).
StoryMatcher = Callable[[StoryToSave], tuple[str, ...]]


@dataclass(frozen=True)
class PollToSave:
    """Everything one successful poll of a feed writes."""

    feed_id: int
    url: str
    title: str
    etag: str | None
    last_modified: str | None
    next_poll_at: float
    now: float
    alerts_enabled: bool
    stories: tuple[StoryToSave, ...]
    warning: str | None = None
    title_dedup_seconds: float = CROSS_FEED_DEDUP_WINDOW.total_seconds()
    # The response's digest, stored with the poll: the next poll skips the same body.
    body_digest: str | None = None
    # The parser left out the items of the feed's last saved poll: the stories are new but
    # for edited items (save_poll then matches them without first looking which are known).
    new_items_only: bool = False
    # The body parsed without an error: what was not new_items_only lists every entry the
    # feed has (retention forgets an undated story only after such a listing left it out).
    complete: bool = True

    @property
    def full_listing(self) -> bool:
        """Whether the stories are every entry the feed lists now."""
        return self.complete and not self.new_items_only


@dataclass(frozen=True)
class TriedStory:
    """What a dry run (/try) shows of a story that would have matched."""

    id: int
    title: str
    link: str | None
    source: str
    # When it was published, or first seen when the feed gives no date.
    published: datetime
    # The feed's URL: with `source` (its title), the outlet `source:` filters look at.
    source_url: str = ""


@dataclass(frozen=True)
class SavedPoll:
    """What a saved poll added."""

    new_stories: int
    # New stories that matched at least one query (stored for delivery to fan out).
    matched: int
    # The feed was removed while it was being polled: nothing was written.
    feed_removed: bool = False
    # Alerts queued for an edit: a new story repeated theirs from another outlet.
    edits: int = 0


@dataclass(frozen=True)
class PendingRow:
    """An outbox row waiting to be sent, as the delivery worker queues it."""

    id: int
    chat_id: int
    kind: str
    next_attempt_at: float
    # The chat's stored type: Telegram paces groups slower than private chats.
    chat_type: ChatType = ChatType.PRIVATE


@dataclass(frozen=True)
class OutboxItem:
    """An outbox row with what is needed to format and send it."""

    id: int
    kind: str
    chat_id: int
    chat_status: ChatStatus
    matched: tuple[str, ...]
    attempts: int
    status: str
    title: str
    link: str | None
    summary: str | None
    published: datetime | None
    source: str
    broadcast_id: int | None
    text: str | None = None
    # The forum topic the alert goes to (its subscription's), None for the chat itself.
    thread_id: int | None = None
    # The chat's stored language (Chat.language): the labels around the story follow it.
    chat_language: str | None = None
    # Not sent before then: a retry's backoff, or a digest line the chat's schedule holds.
    next_attempt_at: float = 0.0
    # The story an alert or digest line is about (None: a broadcast), and the chat's type:
    # alerts in private chats carry the tuning buttons, which name the story.
    story_id: int | None = None
    chat_type: ChatType = ChatType.PRIVATE
    # An alert's story from other outlets: (feed title, link) of each, first seen first.
    also: tuple[tuple[str, str | None], ...] = ()
    # Whether the alert ends with "Matched: ...": always, except in a channel whose admins
    # did not turn it on (its readers did not choose the queries).
    show_matched: bool = True


@dataclass(frozen=True)
class Delivery:
    """The outcome of one send attempt, to record."""

    outbox_id: int
    chat_id: int
    status: str
    attempts: int
    next_attempt_at: float = 0.0
    error: str | None = None
    chat_blocked: bool = False
    # The chat became a supergroup with this id; the row is retried there.
    migrated_to: int | None = None
    # Telegram's id of the message sent (an alert's, kept so it can be edited).
    message_id: int | None = None


class BroadcastStatus(StrEnum):
    """Where an admin broadcast is in its life."""

    DRAFT = "draft"
    CANCELLED = "cancelled"
    SENDING = "sending"
    DONE = "done"


@dataclass(frozen=True)
class Broadcast:
    """An admin's announcement to every active subscriber."""

    id: int
    admin_id: int
    text: str
    status: BroadcastStatus
    recipients: int
    status_chat_id: int | None
    status_message_id: int | None


@dataclass(frozen=True)
class PrunedPage:
    """What one pruning batch deleted, and where the next batch starts (None: done)."""

    deleted: int
    resume_after: tuple[float, int] | None


@dataclass(frozen=True)
class Stats:
    """The bot's health figures for /stats."""

    chats: dict[str, int]
    subscriptions: int
    top_queries: list[tuple[str, int]]
    feeds: int
    failing_feeds: int
    stories_24h: int
    alerts_24h: int
    pending: int
    oldest_pending_at: float | None
    database_bytes: int = 0
    free_bytes: int = 0
    # Fan-out on read: stored matches some chat has still to claim, and the oldest one's time.
    matches_waiting: int = 0
    oldest_match_at: float | None = None
