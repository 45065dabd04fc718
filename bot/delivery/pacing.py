"""Which chat is served next: each chat within Telegram's limits, chats and lanes in turn.

Pure scheduling on plain ids: the worker (bot/delivery/worker.py) adds pending rows, picks
what may be sent now, and reports back when a send is over. Time is read from the clock it
is given, so tests drive it.
"""

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.delivery.ratelimit import (
    CHAT_BURST,
    CHAT_RATE_PER_SECOND,
    GROUP_RATE_PER_SECOND,
    KeyedTokenBuckets,
    SharedChats,
)
from bot.storage.models import ChatType

ALERT_LANE = "alert"
BROADCAST_LANE = "broadcast"
LANES = (ALERT_LANE, BROADCAST_LANE)


def lane_of(kind: str) -> str:
    """Alerts and digests share a lane; broadcasts interleave with them in their own."""
    return BROADCAST_LANE if kind == "broadcast" else ALERT_LANE


class ChatPacer(KeyedTokenBuckets):
    """Per-chat pacing: a short burst, then about one message a second (groups: 20/min)."""

    def __init__(self, rate: float = CHAT_RATE_PER_SECOND, burst: int = CHAT_BURST) -> None:
        super().__init__(rate_of=self._chat_rate, burst=burst)
        self._private_rate = rate
        self._shared = SharedChats()

    def note_chat(self, chat_id: int, chat_type: ChatType) -> None:
        """Record the chat's type (its stored one): groups are paced slower."""
        self._shared.note(chat_id, chat_type)

    def _chat_rate(self, chat_id: int) -> float:
        return GROUP_RATE_PER_SECOND if chat_id in self._shared else self._private_rate


@dataclass
class _Lane:
    """Pending row ids per chat, and a heap of chats by the time they may be served."""

    rows: dict[int, deque[int]] = field(default_factory=dict)
    heap: list[tuple[float, int, int]] = field(default_factory=list)
    scheduled: set[int] = field(default_factory=set)


class ChatQueues:
    """Pending rows per chat in two lanes; a chat has at most one send in flight at a time."""

    def __init__(self, pacer: ChatPacer, clock: Callable[[], float]) -> None:
        self._pacer = pacer
        self._clock = clock
        self._lanes = {lane: _Lane() for lane in LANES}
        self._sequence = itertools.count()
        self._busy_chats: set[int] = set()

    def add(self, row_id: int, chat_id: int, kind: str, not_before: float) -> None:
        """Queue a pending row; it is not picked before not_before."""
        now = self._clock()
        if not_before > now:
            self._pacer.hold(chat_id, not_before, now)
        lane = self._lanes[lane_of(kind)]
        lane.rows.setdefault(chat_id, deque()).append(row_id)
        self._schedule(lane, chat_id)

    def next_ready(self) -> float | None:
        """Return when the earliest scheduled chat may be served, or None if none is."""
        return min((lane.heap[0][0] for lane in self._lanes.values() if lane.heap), default=None)

    def _schedule(self, lane: _Lane, chat_id: int) -> None:
        if chat_id in lane.scheduled or chat_id not in lane.rows:
            return
        ready = self._pacer.ready_at(chat_id, self._clock())
        heapq.heappush(lane.heap, (ready, next(self._sequence), chat_id))
        lane.scheduled.add(chat_id)

    def pick(self, limit: int) -> dict[int, int]:
        """Take up to limit rows, one per ready chat, alternating lanes: {row id: chat}.

        Each chat picked is busy until release(chat) is called for it.
        """
        picked: dict[int, int] = {}
        now = self._clock()
        exhausted: set[str] = set()
        for lane_name in itertools.cycle(LANES):
            if len(picked) >= limit or len(exhausted) == len(LANES):
                break
            if lane_name in exhausted:
                continue
            taken = self._pick_from(self._lanes[lane_name], now)
            if taken is None:
                exhausted.add(lane_name)
            else:
                picked[taken[0]] = taken[1]
        return picked

    def _pick_from(self, lane: _Lane, now: float) -> tuple[int, int] | None:
        while lane.heap and lane.heap[0][0] <= now:
            _, _, chat_id = heapq.heappop(lane.heap)
            lane.scheduled.discard(chat_id)
            queue = lane.rows.get(chat_id)
            if not queue or chat_id in self._busy_chats:
                continue  # rescheduled when its send in flight finishes
            ready = self._pacer.ready_at(chat_id, now)
            if ready > now:
                heapq.heappush(lane.heap, (ready, next(self._sequence), chat_id))
                lane.scheduled.add(chat_id)
                continue
            row_id = queue.popleft()
            if not queue:
                del lane.rows[chat_id]
            self._busy_chats.add(chat_id)
            return row_id, chat_id
        return None

    def release(self, chat_id: int) -> None:
        """Let the chat be served again once its pacing allows."""
        self._busy_chats.discard(chat_id)
        for lane in self._lanes.values():
            self._schedule(lane, chat_id)

    def requeue(self, row_id: int, kind: str, chat_id: int, retry_at: float) -> None:
        """Put a row back at the head of its chat's queue, held until retry_at."""
        self._pacer.hold(chat_id, retry_at, self._clock())
        lane = self._lanes[lane_of(kind)]
        lane.rows.setdefault(chat_id, deque()).appendleft(row_id)

    def forget_chat(self, chat_id: int) -> None:
        """Drop every queued row of the chat (it blocked the bot)."""
        for lane in self._lanes.values():
            lane.rows.pop(chat_id, None)

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Queue the chat's rows under its new id (a group became a supergroup)."""
        for lane in self._lanes.values():
            moved = lane.rows.pop(old_chat_id, None)
            if moved:
                lane.rows.setdefault(new_chat_id, deque()).extend(moved)
