"""The outbox worker: send pending rows fairly and within Telegram's limits, then mark them."""

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.formatting import Alert, format_alert
from bot.storage import Delivery, OutboxItem, PendingRow, Storage, UserStatus

log = logging.getLogger(__name__)

# Telegram allows about one message per second to a private chat, with short bursts.
CHAT_RATE_PER_SECOND = 1.0
CHAT_BURST = 3
# Groups are limited to 20 messages a minute.
GROUP_RATE_PER_SECOND = 20 / 60
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 2.0
# Outcomes are written in batches: per-row commits cost ~100x more. A crash can repeat at
# most the sends in flight plus those not yet flushed.
FLUSH_ROWS = 50
FLUSH_SECONDS = 0.25
IDLE_WAIT_SECONDS = 1.0
ALERT_LANE = "alert"
BROADCAST_LANE = "broadcast"
LANES = (ALERT_LANE, BROADCAST_LANE)


def lane_of(kind: str) -> str:
    """Alerts and digests share a lane; broadcasts interleave with them in their own."""
    return BROADCAST_LANE if kind == "broadcast" else ALERT_LANE


@dataclass
class _Bucket:
    tokens: float
    updated: float
    hold_until: float = 0.0


class ChatPacer:
    """Token bucket per chat: a short burst, then about one message a second."""

    def __init__(self, rate: float = CHAT_RATE_PER_SECOND, burst: int = CHAT_BURST) -> None:
        self._rate = rate
        self._burst = burst
        self._buckets: dict[int, _Bucket] = {}

    def _rate_of(self, chat_id: int) -> float:
        return GROUP_RATE_PER_SECOND if chat_id < 0 else self._rate

    def _bucket(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            bucket = self._buckets[chat_id] = _Bucket(float(self._burst), now)
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(self._burst), bucket.tokens + elapsed * self._rate_of(chat_id))
        bucket.updated = now
        return bucket

    def ready_at(self, chat_id: int, now: float) -> float:
        """Return the earliest time a message may go to the chat."""
        bucket = self._bucket(chat_id, now)
        refill = 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self._rate_of(chat_id)
        return max(now + refill, bucket.hold_until)

    def take(self, chat_id: int, now: float) -> None:
        """Spend one message of the chat's allowance."""
        self._bucket(chat_id, now).tokens -= 1

    def hold(self, chat_id: int, until: float, now: float) -> None:
        """Send nothing to the chat before `until` (Telegram asked us to wait)."""
        bucket = self._bucket(chat_id, now)
        bucket.hold_until = max(bucket.hold_until, until)


@dataclass
class _Lane:
    """Pending row ids per chat, and a heap of chats by the time they may be served."""

    rows: dict[int, deque[int]] = field(default_factory=dict)
    heap: list[tuple[float, int, int]] = field(default_factory=list)
    scheduled: set[int] = field(default_factory=set)


class DeliveryWorker:
    """Claims pending outbox rows, sends them, and records the outcome of each."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        *,
        concurrency: int = 30,
        pacer: ChatPacer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bot = bot
        self._storage = storage
        self._concurrency = concurrency
        self._pacer = pacer or ChatPacer()
        self._clock = clock
        self._lanes = {lane: _Lane() for lane in LANES}
        self._sequence = itertools.count()
        self._last_loaded_id = 0
        self._busy_chats: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[Delivery] = []
        self._last_flush = 0.0
        self._wake = asyncio.Event()
        self._wake.set()

    def notify(self) -> None:
        """Tell the worker new rows were committed to the outbox."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until stop is set, then finish the sends in flight and record them."""
        try:
            while not stop.is_set():
                if self._wake.is_set():
                    self._wake.clear()
                    await self._load_new_rows()
                await self._flush_if_due()
                if await self._start_sends():
                    continue
                await self._wait(stop)
        finally:
            if self._tasks:
                await asyncio.wait(self._tasks)
            await self._flush()

    async def _load_new_rows(self) -> None:
        for row in await self._storage.pending_outbox(after_id=self._last_loaded_id):
            self._enqueue(row)
            self._last_loaded_id = max(self._last_loaded_id, row.id)

    def _enqueue(self, row: PendingRow) -> None:
        now = self._clock()
        if row.next_attempt_at > now:
            self._pacer.hold(row.user_id, row.next_attempt_at, now)
        lane = self._lanes[lane_of(row.kind)]
        lane.rows.setdefault(row.user_id, deque()).append(row.id)
        self._schedule(lane, row.user_id)

    def _schedule(self, lane: _Lane, chat_id: int) -> None:
        if chat_id in lane.scheduled or chat_id not in lane.rows:
            return
        ready = self._pacer.ready_at(chat_id, self._clock())
        heapq.heappush(lane.heap, (ready, next(self._sequence), chat_id))
        lane.scheduled.add(chat_id)

    def _pick(self, limit: int) -> list[int]:
        """Take up to limit row ids, one per ready chat, alternating between lanes."""
        picked: list[int] = []
        now = self._clock()
        exhausted: set[str] = set()
        for lane_name in itertools.cycle(LANES):
            if len(picked) >= limit or len(exhausted) == len(LANES):
                break
            if lane_name in exhausted:
                continue
            row_id = self._pick_from(self._lanes[lane_name], now)
            if row_id is None:
                exhausted.add(lane_name)
            else:
                picked.append(row_id)
        return picked

    def _pick_from(self, lane: _Lane, now: float) -> int | None:
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
            self._pacer.take(chat_id, now)
            self._busy_chats.add(chat_id)
            return row_id
        return None

    async def _start_sends(self) -> bool:
        free = self._concurrency - len(self._tasks)
        if free <= 0:
            return False
        picked = self._pick(free)
        if not picked:
            return False
        for item in await self._storage.load_outbox(picked):
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True

    async def _wait(self, stop: asyncio.Event) -> None:
        now = self._clock()
        next_ready = min(
            (lane.heap[0][0] for lane in self._lanes.values() if lane.heap), default=None
        )
        timeout = IDLE_WAIT_SECONDS if next_ready is None else max(next_ready - now, 0.001)
        if self._outcomes:
            timeout = min(timeout, FLUSH_SECONDS)
        waiters: list[asyncio.Task[Any]] = [
            asyncio.create_task(self._wake.wait()),
            asyncio.create_task(stop.wait()),
        ]
        waiters += self._tasks
        await asyncio.wait(
            waiters, timeout=min(timeout, IDLE_WAIT_SECONDS), return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waiters[:2]:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter

    async def _flush_if_due(self) -> None:
        if len(self._outcomes) >= FLUSH_ROWS or (
            self._outcomes and self._clock() - self._last_flush >= FLUSH_SECONDS
        ):
            await self._flush()

    async def _flush(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        self._last_flush = self._clock()
        await self._storage.record_deliveries(outcomes, self._clock())

    async def _deliver(self, item: OutboxItem) -> None:
        try:
            outcome = await self._send(item)
        except Exception:  # a bug must cost one message, not the chat's whole queue
            log.exception("Unexpected error sending outbox row %s", item.id)
            outcome = Delivery(item.id, item.user_id, "failed", item.attempts + 1, error="bug")
        self._outcomes.append(outcome)
        self._busy_chats.discard(item.user_id)
        if outcome.status == "pending":
            self._requeue(item, outcome.next_attempt_at)
        elif outcome.user_blocked:
            self._forget_chat(item.user_id)
        for lane in self._lanes.values():
            self._schedule(lane, item.user_id)

    def _requeue(self, item: OutboxItem, retry_at: float) -> None:
        self._pacer.hold(item.user_id, retry_at, self._clock())
        lane = self._lanes[lane_of(item.kind)]
        lane.rows.setdefault(item.user_id, deque()).appendleft(item.id)

    def _forget_chat(self, chat_id: int) -> None:
        for lane in self._lanes.values():
            lane.rows.pop(chat_id, None)

    async def _send(self, item: OutboxItem) -> Delivery:
        attempts = item.attempts + 1
        if item.user_status is not UserStatus.ACTIVE:
            reason = f"user is {item.user_status.value}"
            return Delivery(item.id, item.user_id, "dropped", item.attempts, error=reason)
        try:
            await self._bot.send_message(chat_id=item.user_id, text=render(item))
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
            log.info(
                "Telegram asked to wait %.0f s before writing to chat %s", seconds, item.user_id
            )
            return Delivery(
                item.id, item.user_id, "pending", item.attempts, self._clock() + seconds
            )
        except Forbidden as error:
            log.info("Chat %s blocked the bot or is gone: %s", item.user_id, error.message)
            return Delivery(
                item.id, item.user_id, "blocked", attempts, error=error.message, user_blocked=True
            )
        except ChatMigrated as error:
            log.warning("Chat %s migrated to %s", item.user_id, error.new_chat_id)
            return Delivery(item.id, item.user_id, "failed", attempts, error="chat migrated")
        except BadRequest as error:
            log.warning("Telegram refused message %s to %s: %s", item.id, item.user_id, error)
            return Delivery(item.id, item.user_id, "failed", attempts, error=error.message)
        except NetworkError as error:  # includes TimedOut: the message may have gone through
            return self._retry_later(item, attempts, error)
        except TelegramError as error:
            log.warning("Sending %s to %s failed: %s", item.id, item.user_id, error)
            return Delivery(item.id, item.user_id, "failed", attempts, error=error.message)
        return Delivery(item.id, item.user_id, "sent", attempts)

    def _retry_later(self, item: OutboxItem, attempts: int, error: TelegramError) -> Delivery:
        if attempts >= MAX_ATTEMPTS:
            log.warning(
                "Giving up on %s to %s after %d attempts: %s",
                item.id,
                item.user_id,
                attempts,
                error,
            )
            return Delivery(item.id, item.user_id, "failed", attempts, error=error.message)
        delay = RETRY_BASE_SECONDS * 2 ** (attempts - 1)
        log.info(
            "Network error sending %s (attempt %d), retrying in %.0f s: %s",
            item.id,
            attempts,
            delay,
            error,
        )
        return Delivery(
            item.id, item.user_id, "pending", attempts, self._clock() + delay, error.message
        )


def render(item: OutboxItem) -> str:
    """Return the Telegram HTML of an outbox row."""
    if item.kind == "broadcast":
        return item.text or ""
    return format_alert(
        Alert(
            title=item.title,
            link=item.link,
            source=item.source,
            published=item.published,
            summary=item.summary,
            matched=item.matched,
        )
    )
