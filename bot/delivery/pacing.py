"""Which chat is served next: each chat within Telegram's limits, chats and lanes in turn.

Pure scheduling on plain ids: the worker (bot/delivery/worker.py) adds pending rows and
chats with pending matches (fan-out on read: a chat's turn to claim its stories), picks what
may be sent or claimed now, and reports back when a send is over. Chats with matches take
turns in order, a chat served goes to the back of the line, so under overload every chat
waits about one round for its next message. Time is read from the clock it is given, so
tests drive it.
"""

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Collection, Mapping
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
        # Chats with pending matches to claim, in turn order; those whose turn came while
        # Telegram's pacing held them (by when), or while they were busy (until released).
        self._wanting: set[int] = set()
        self._turns: deque[int] = deque()
        self._held: list[tuple[float, int, int]] = []
        self._deferred: set[int] = set()
        # Digest lines a chat's schedule holds, by release time: (at, seq, row, chat). They
        # join their lane then; meanwhile the chat is paced and claims as usual.
        self._later: list[tuple[float, int, int, int]] = []
        # The chats that were waiting for a turn when the claimer's round began and have
        # not finished a claim since (None: no round).
        self._owing: set[int] | None = None

    def want(self, chats: Mapping[int, object] | Collection[int]) -> None:
        """Give these chats a turn to claim their pending matches (once, however often)."""
        keys = chats.keys() if isinstance(chats, Mapping) else set(chats)
        fresh = keys - self._wanting
        self._wanting |= fresh
        self._turns.extend(fresh)

    @property
    def wanting(self) -> int:
        """Return how many chats wait for a turn to claim their matches."""
        return len(self._wanting)

    def waits_for_turn(self, chat_id: int) -> bool:
        """Whether the chat waits for a turn to claim its matches."""
        return chat_id in self._wanting

    def start_round(self) -> None:
        """Note the chats waiting for a turn now: the round is over once each has finished
        a claim (dealt_with), or left (forget_chat)."""
        self._owing = set(self._wanting)

    def dealt_with(self, chat_id: int) -> None:
        """The chat finished a claim: everything logged before it began is dealt with."""
        if self._owing is not None:
            self._owing.discard(chat_id)

    @property
    def round_over(self) -> bool:
        """Whether every chat waiting when the round began has since finished a claim."""
        return self._owing is not None and not self._owing

    @property
    def chats_with_rows(self) -> int:
        """Return how many chats have alert or digest rows queued, not yet picked."""
        return len(self._lanes[ALERT_LANE].rows)

    @property
    def queued_rows(self) -> int:
        """Return how many rows are queued, in either lane or held for later."""
        lanes = sum(len(rows) for lane in self._lanes.values() for rows in lane.rows.values())
        return lanes + len(self._later)

    def drop_rows(self, chat_id: int, row_ids: Collection[int]) -> None:
        """Forget queued rows a message already carried (the lines of a digest sent)."""
        lane = self._lanes[ALERT_LANE]
        queue = lane.rows.get(chat_id)
        if queue is None or not row_ids:
            return
        kept = deque(row for row in queue if row not in row_ids)
        if kept:
            lane.rows[chat_id] = kept
        else:
            del lane.rows[chat_id]

    def pick_claims(self, limit: int) -> list[int]:
        """Take up to limit chats whose turn to claim has come and whose pacing allows a
        message now; each is busy until release(chat)."""
        now = self._clock()
        picked: list[int] = []
        while self._held and self._held[0][0] <= now and len(picked) < limit:
            self._consider(heapq.heappop(self._held)[2], now, picked)
        for _ in range(len(self._turns)):
            if len(picked) >= limit:
                break
            self._consider(self._turns.popleft(), now, picked)
        return picked

    def _consider(self, chat_id: int, now: float, picked: list[int]) -> None:
        if chat_id not in self._wanting:
            return  # forgotten meanwhile
        if chat_id in self._busy_chats or chat_id in self._lanes[ALERT_LANE].rows:
            # Its queued rows go first; its turn comes back when a send of it is over.
            self._deferred.add(chat_id)
            return
        ready = self._pacer.ready_at(chat_id, now)
        if ready > now:
            heapq.heappush(self._held, (ready, next(self._sequence), chat_id))
            return
        self._wanting.discard(chat_id)
        self._busy_chats.add(chat_id)
        picked.append(chat_id)

    def add(self, row_id: int, chat_id: int, kind: str, not_before: float) -> None:
        """Queue a pending row; it is not picked before not_before (a digest line held
        till then waits on its own; any other row holds its chat's pacing till then)."""
        now = self._clock()
        if not_before > now and kind == "digest":
            heapq.heappush(self._later, (not_before, next(self._sequence), row_id, chat_id))
            return
        if not_before > now:
            self._pacer.hold(chat_id, not_before, now)
        lane = self._lanes[lane_of(kind)]
        lane.rows.setdefault(chat_id, deque()).append(row_id)
        self._schedule(lane, chat_id)

    def retime(self, chat_id: int, at: float) -> None:
        """Release the chat's held digest lines at `at` instead (its schedule changed)."""
        self._later = [
            (at if chat == chat_id else when, seq, row, chat)
            for when, seq, row, chat in self._later
        ]
        heapq.heapify(self._later)

    def _release_due(self, now: float) -> None:
        while self._later and self._later[0][0] <= now:
            _, _, row_id, chat_id = heapq.heappop(self._later)
            lane = self._lanes[ALERT_LANE]
            lane.rows.setdefault(chat_id, deque()).append(row_id)
            self._schedule(lane, chat_id)

    def next_ready(self) -> float | None:
        """Return when the earliest scheduled chat may be served, or None if none is."""
        times = [lane.heap[0][0] for lane in self._lanes.values() if lane.heap]
        if self._later:
            times.append(self._later[0][0])
        if self._held:
            times.append(self._held[0][0])
        if self._turns:
            times.append(self._clock())
        return min(times, default=None)

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
        self._release_due(now)
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
        if chat_id in self._deferred:
            self._deferred.discard(chat_id)
            if chat_id in self._wanting:
                self._turns.append(chat_id)

    def requeue(self, row_id: int, kind: str, chat_id: int, retry_at: float) -> None:
        """Put a row back at the head of its chat's queue, held until retry_at."""
        self._pacer.hold(chat_id, retry_at, self._clock())
        lane = self._lanes[lane_of(kind)]
        lane.rows.setdefault(chat_id, deque()).appendleft(row_id)

    def forget_chat(self, chat_id: int) -> None:
        """Drop every queued row of the chat (it blocked the bot), and its turn."""
        for lane in self._lanes.values():
            lane.rows.pop(chat_id, None)
        self._later = [entry for entry in self._later if entry[3] != chat_id]
        heapq.heapify(self._later)
        self._wanting.discard(chat_id)
        self.dealt_with(chat_id)  # nothing more goes to it

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Queue the chat's rows under its new id (a group became a supergroup)."""
        for lane in self._lanes.values():
            moved = lane.rows.pop(old_chat_id, None)
            if moved:
                lane.rows.setdefault(new_chat_id, deque()).extend(moved)
        self._later = [
            (at, seq, row, new_chat_id if chat == old_chat_id else chat)
            for at, seq, row, chat in self._later
        ]
        heapq.heapify(self._later)
        if self._owing is not None and old_chat_id in self._owing:
            self._owing.discard(old_chat_id)
            self._owing.add(new_chat_id)
        if old_chat_id in self._wanting:
            self._wanting.discard(old_chat_id)
            self.want([new_chat_id])
