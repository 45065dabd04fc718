"""Values of fan-out on read: a story's matched queries, and a chat's claim of its pending work.

The poller stores, per new story, which queries it matched (`StoryMatch`), never a row per
chat. The delivery worker later claims a chat's pending stories: storage reads the chat's
state (`ChatWork`), a pure planner (bot.delivery.fanout) says which stories become which
outbox rows and how far the chat's cursor moves (`ClaimPlan`), and storage writes both in
one transaction (`Claim` is what it wrote); `Claims` is that protocol. Schedules is the
protocol of a chat's delivery schedule (`ChatSchedule`), which every claim reads.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.storage.leases import Lease
from bot.storage.models import ChatType


class Lane(StrEnum):
    """How a story reaches a chat."""

    ALERT = "alert"
    DIGEST = "digest"


@dataclass(frozen=True)
class StoryMatch:
    """One new story and the distinct normalised queries it matched, as the poll stored it."""

    id: int
    story_id: int
    queries: tuple[str, ...]
    matched_at: float
    # The story's feed (None: removed since), for the chats that hid it.
    feed_id: int | None = None


@dataclass(frozen=True)
class ChatSubscription:
    """A subscription as a claim needs it: which matches count for it, and where they go."""

    id: int
    query: str
    display: str
    thread_id: int | None
    # Matches with an id at or below this were stored before the subscription was.
    start_match: int
    # Muted from an alert's button until this time (None: not muted).
    muted_until: float | None = None


@dataclass(frozen=True)
class ChatSchedule:
    """When a chat wants its alerts: its time zone, quiet hours, digest times (local)."""

    # An IANA name ("Europe/Kyiv") or a fixed offset ("UTC+02:00"), see bot.delivery.zones.
    timezone: str = "UTC"
    # Minutes after local midnight: held from the first to the second (may cross midnight).
    quiet: tuple[int, int] | None = None
    # Minutes after local midnight, ascending: no instant alerts, a digest at each.
    digest_times: tuple[int, ...] = ()


@dataclass(frozen=True)
class ChatWork:
    """What a claim reads about an active chat before planning."""

    chat_id: int
    cursor: int
    subscriptions: tuple[ChatSubscription, ...]
    # Alerts (not digest lines) queued to the chat within the burst window.
    recent_alerts: int
    schedule: ChatSchedule = ChatSchedule()
    # Feeds the chat hid from all its alerts.
    hidden_feeds: frozenset[int] = frozenset()
    # Groups and channels: Telegram lets the bot write there far slower (burst.py).
    shared: bool = False


@dataclass(frozen=True)
class PlannedRow:
    """One outbox row a claim writes: a story for the chat, as an alert or a digest line."""

    lane: Lane
    story_id: int
    matched: tuple[str, ...]
    thread_id: int | None
    # Not sent before this time (0: at once): a digest line held by the chat's schedule.
    not_before: float = 0.0


@dataclass(frozen=True)
class ClaimPlan:
    """The rows to queue and the chat's new cursor; more: pending work is left for later."""

    rows: tuple[PlannedRow, ...]
    through: int
    more: bool = False


ClaimPlanner = Callable[[ChatWork], ClaimPlan]


@dataclass(frozen=True)
class ClaimedRow:
    """An outbox row a claim queued."""

    id: int
    kind: str
    not_before: float = 0.0


@dataclass(frozen=True)
class Claim:
    """What a claim wrote for a chat (no rows: nothing pending, or the chat is not active)."""

    chat_id: int
    chat_type: ChatType
    rows: tuple[ClaimedRow, ...]
    more: bool = False
    # Set when another instance holds the chat's pending rows (bot.storage.leases): nothing
    # was queued and the cursor did not move; ask again then.
    held_until: float | None = None


def schedule_of(
    zone: str | None, start: int | None, end: int | None, times: str | None
) -> ChatSchedule:
    """Return the schedule a chat_schedules row holds, in either backend (no row, all None:
    the default)."""
    if zone is None or times is None:
        return ChatSchedule()
    quiet = None if start is None or end is None else (int(start), int(end))
    return ChatSchedule(str(zone), quiet, tuple(int(t) for t in json.loads(times)))


class Schedules(Protocol):
    """Chats' delivery schedules: time zone, quiet hours, digest times."""

    async def get_schedule(self, chat_id: int) -> ChatSchedule:
        """Return the chat's schedule (the default one if it never set any)."""

    async def save_schedule(
        self, chat_id: int, schedule: ChatSchedule, *, release_held_at: float, now: float
    ) -> bool:
        """Store the chat's schedule and move the digest lines it holds (not yet due) to
        release_held_at, in one transaction; False (nothing stored) for an unknown chat."""


class Claims(Protocol):
    """Fan-out on read: the queries stories matched, and chats claiming their pending work."""

    async def story_matches(self, after_id: int, limit: int) -> list[StoryMatch]:
        """Return up to limit stored matches with an id above after_id, in id order."""

    async def delivery_watermark(self) -> int:
        """Return the match id every chat has dealt with everything up to."""

    async def advance_watermark(self, through: int) -> None:
        """Record that every chat has dealt with every match up to through; forget them."""

    async def claim_chat(
        self, chat_id: int, plan: ClaimPlanner, now: float, *, lease: Lease | None = None
    ) -> Claim:
        """Queue a chat's pending stories as `plan` decides from the chat's state, and move
        its cursor, in one transaction. An inactive chat queues nothing; when it is active
        again its cursor is at the newest match: what matched meanwhile is not sent. With a
        lease, rows are leased to it, unless another instance holds the chat (held_until)."""

    async def claim_chats(
        self,
        chat_ids: Sequence[int],
        plan: ClaimPlanner,
        now: float,
        *,
        lease: Lease | None = None,
    ) -> list[Claim]:
        """claim_chat for each of these distinct chats, all in one transaction (the delivery
        worker claims every chat whose turn came at once); their Claims in the order given."""
