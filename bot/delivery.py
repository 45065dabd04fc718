"""The outbox worker: send pending rows fairly and within Telegram's limits, then mark them.

A send is in flight from the moment its row is picked until its outcome is committed (see
bot/outcomes.py), and the worker keeps at most `concurrency` sends in flight: a crash at any
instant can repeat at most that many messages.
"""

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
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

from bot.formatting import Alert, format_alert, format_digest
from bot.i18n import tn
from bot.outcomes import OutcomeLog
from bot.ratelimit import KeyedTokenBuckets
from bot.storage import (
    Delivery,
    OutboxItem,
    PendingRow,
    Storage,
    StorageUnavailable,
    UserStatus,
)

log = logging.getLogger(__name__)

# Telegram allows about one message per second to a private chat, with short bursts.
CHAT_RATE_PER_SECOND = 1.0
CHAT_BURST = 3
# Groups are limited to 20 messages a minute.
GROUP_RATE_PER_SECOND = 20 / 60
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 2.0
IDLE_WAIT_SECONDS = 1.0
STORAGE_RETRY_SECONDS = 5.0
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

    def _chat_rate(self, chat_id: int) -> float:
        return GROUP_RATE_PER_SECOND if chat_id < 0 else self._private_rate


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
        on_chat_migrated: Callable[[int, int], Awaitable[None]] | None = None,
    ) -> None:
        self._bot = bot
        self._on_chat_migrated = on_chat_migrated
        self._storage = storage
        self._concurrency = concurrency
        self._pacer = pacer or ChatPacer()
        self._clock = clock
        self._lanes = {lane: _Lane() for lane in LANES}
        self._sequence = itertools.count()
        self._last_loaded_id = 0
        self._busy_chats: set[int] = set()
        # One task per send in flight; it ends once the send's outcome is committed.
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes = OutcomeLog(self._write_outcomes)
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._wake.set()

    def notify(self) -> None:
        """Tell the worker new rows were committed to the outbox."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until stop is set, then finish the sends in flight and record them."""
        try:
            while not stop.is_set():
                try:
                    if await self._step():
                        continue
                except StorageUnavailable as error:
                    self._pause(error)
                await self._wait(stop)
        finally:
            await self._finish_sends()

    async def _step(self) -> bool:
        """Record answered sends, load new rows, start sends; tell whether any started."""
        if self._clock() < self._paused_until:
            return False
        # Every outcome answered so far, in one transaction: their sends wait for it.
        await self._outcomes.write_queued()
        if self._wake.is_set():
            await self._load_new_rows()
            self._wake.clear()
        return await self._start_sends()

    async def _finish_sends(self) -> None:
        """Let the sends in flight end and record their outcomes (the worker is stopping)."""
        while self._tasks:
            answered = asyncio.create_task(self._outcomes.ready.wait())
            await asyncio.wait([answered, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
            answered.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await answered
            try:
                await self._outcomes.write_queued()
            except StorageUnavailable as error:
                lost = self._outcomes.give_up()
                log.error(
                    "%d sends could not be recorded and may be repeated after restart: %s",
                    lost,
                    error,
                )

    async def _write_outcomes(self, outcomes: Sequence[Delivery]) -> None:
        await self._storage.record_deliveries(outcomes, self._clock())

    def _pause(self, error: StorageUnavailable) -> None:
        self._paused_until = self._clock() + STORAGE_RETRY_SECONDS
        log.error(
            "Storage unavailable, pausing delivery for %.0f s: %s", STORAGE_RETRY_SECONDS, error
        )

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

    def _pick(self, limit: int) -> dict[int, int]:
        """Take up to limit rows, one per ready chat, alternating lanes: {row id: chat}."""
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

    async def _start_sends(self) -> bool:
        free = self._concurrency - len(self._tasks)
        if free <= 0:
            return False
        picked = self._pick(free)
        if not picked:
            return False
        items = await self._storage.load_outbox(list(picked))
        for missing in picked.keys() - {item.id for item in items}:
            # The row is gone (its chat migrated or was deleted): free the chat it held.
            self._release(picked[missing])
        unrecorded = self._outcomes.unrecorded()
        for item in items:
            if item.status != "pending" or item.id in unrecorded:
                # Already handled, e.g. as a line of a digest sent with an earlier row.
                self._release(item.user_id)
                continue
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
        events = [stop.wait()]
        if now < self._paused_until:
            # New rows and outcomes that could not be written wait for the retry.
            timeout = max(timeout, self._paused_until - now)
        else:
            events += [self._wake.wait(), self._outcomes.ready.wait()]
        waiters: list[asyncio.Task[Any]] = [asyncio.create_task(event) for event in events]
        await asyncio.wait(
            [*waiters, *self._tasks],
            timeout=min(timeout, IDLE_WAIT_SECONDS),
            return_when=asyncio.FIRST_COMPLETED,
        )
        for waiter in waiters:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter

    async def _deliver(self, item: OutboxItem) -> None:
        try:
            outcomes = await self._send(item)
        except Exception:  # a bug must cost one message, not the chat's whole queue
            log.exception("Unexpected error sending outbox row %s", item.id)
            outcomes = [Delivery(item.id, item.user_id, "failed", item.attempts + 1, error="bug")]
        # The send keeps its place in flight and its chat until the outcome is committed: a
        # crash before then may repeat it, and a crash after it cannot. Nothing else of this
        # chat is sent meanwhile, so no row it carried can be picked and sent again.
        if not await self._outcomes.record(outcomes):
            return  # the worker stopped without recording it: a restart sends it again
        outcome = outcomes[0]
        if outcome.migrated_to is not None:
            self._move_chat(item.user_id, outcome.migrated_to)
        if outcome.status == "pending":
            self._requeue(item, outcome.user_id, outcome.next_attempt_at)
        elif outcome.user_blocked:
            self._forget_chat(item.user_id)
        self._release(item.user_id)
        self._release(outcome.user_id)

    def _release(self, chat_id: int) -> None:
        """Let the chat be served again once its pacing allows."""
        self._busy_chats.discard(chat_id)
        for lane in self._lanes.values():
            self._schedule(lane, chat_id)

    def _requeue(self, item: OutboxItem, chat_id: int, retry_at: float) -> None:
        self._pacer.hold(chat_id, retry_at, self._clock())
        lane = self._lanes[lane_of(item.kind)]
        lane.rows.setdefault(chat_id, deque()).appendleft(item.id)

    def _forget_chat(self, chat_id: int) -> None:
        for lane in self._lanes.values():
            lane.rows.pop(chat_id, None)

    def _move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        for lane in self._lanes.values():
            moved = lane.rows.pop(old_chat_id, None)
            if moved:
                lane.rows.setdefault(new_chat_id, deque()).extend(moved)

    async def _send(self, item: OutboxItem) -> list[Delivery]:
        """Send one row (or, for a digest row, every pending digest line of the chat)."""
        if item.user_status is not UserStatus.ACTIVE:
            reason = f"user is {item.user_status.value}"
            return [Delivery(item.id, item.user_id, "dropped", item.attempts, error=reason)]
        rows = [item]
        if item.kind == "digest":
            pending = await self._storage.pending_digest(item.user_id)
            unrecorded = self._outcomes.unrecorded()
            others = [row for row in pending if row.id not in unrecorded]
            rows = [item, *(row for row in others if row.id != item.id)]
        texts = render_all(rows)
        if len(texts) > 1:
            # One message per attempt: each is paced, and a failure repeats only itself.
            rows = rows[: texts[0].count("\n")]  # the header line, then one line per row
            texts = render_all(rows)
        attempt = await self._attempt(item, texts)
        if attempt.migrated_to is not None and self._on_chat_migrated is not None:
            await self._on_chat_migrated(item.user_id, attempt.migrated_to)
        return [attempt.delivery(row) for row in rows]

    async def _attempt(self, item: OutboxItem, texts: list[str]) -> "_Attempt":
        attempts = item.attempts + 1
        chat_id = item.user_id
        try:
            for text in texts:
                await self._bot.send_message(chat_id=chat_id, text=text)
                # Spend the chat's allowance once Telegram has answered: the message reached
                # it no later than now, however long PTB's global limiter held it back.
                self._pacer.take(chat_id, self._clock())
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
            log.info("Telegram asked to wait %.0f s before writing to %s", seconds, chat_id)
            return _Attempt("pending", chat_id, item.attempts, self._clock() + seconds)
        except Forbidden as error:
            log.info("Chat %s blocked the bot or is gone: %s", chat_id, error.message)
            return _Attempt("blocked", chat_id, attempts, error=error.message, blocked=True)
        except ChatMigrated as error:
            new_chat_id = int(error.new_chat_id)
            log.info("Chat %s became supergroup %s; moving its subscriptions", chat_id, new_chat_id)
            return _Attempt(
                "pending", new_chat_id, item.attempts, self._clock(), migrated_to=new_chat_id
            )
        except BadRequest as error:
            log.warning("Telegram refused message %s to %s: %s", item.id, chat_id, error)
            return _Attempt("failed", chat_id, attempts, error=error.message)
        except NetworkError as error:  # includes TimedOut: the message may have gone through
            return self._retry_later(item, attempts, error)
        except TelegramError as error:
            log.warning("Sending %s to %s failed: %s", item.id, chat_id, error)
            return _Attempt("failed", chat_id, attempts, error=error.message)
        return _Attempt("sent", chat_id, attempts)

    def _retry_later(self, item: OutboxItem, attempts: int, error: TelegramError) -> "_Attempt":
        if attempts >= MAX_ATTEMPTS:
            log.warning(
                "Giving up on %s to %s after %d attempts: %s",
                item.id,
                item.user_id,
                attempts,
                error,
            )
            return _Attempt("failed", item.user_id, attempts, error=error.message)
        delay = RETRY_BASE_SECONDS * 2 ** (attempts - 1)
        log.info(
            "Network error sending %s (attempt %d), retrying in %.0f s: %s",
            item.id,
            attempts,
            delay,
            error,
        )
        return _Attempt(
            "pending", item.user_id, attempts, self._clock() + delay, error=error.message
        )


@dataclass(frozen=True)
class _Attempt:
    """How one send attempt ended, to apply to every row it carried."""

    status: str
    chat_id: int
    attempts: int
    next_attempt_at: float = 0.0
    error: str | None = None
    blocked: bool = False
    migrated_to: int | None = None

    def delivery(self, row: OutboxItem) -> Delivery:
        return Delivery(
            outbox_id=row.id,
            user_id=self.chat_id,
            status=self.status,
            attempts=self.attempts,
            next_attempt_at=self.next_attempt_at,
            error=self.error,
            user_blocked=self.blocked,
            migrated_to=self.migrated_to,
        )


def render_all(rows: list[OutboxItem]) -> list[str]:
    """Return the messages that carry these rows: one alert, or a digest split to fit."""
    if rows[0].kind != "digest":
        return [render(rows[0])]
    header = tn(
        "…and {n} more new story matching your subscriptions:",
        "…and {n} more new stories matching your subscriptions:",
        len(rows),
    )
    return format_digest([(row.title, row.link) for row in rows], header=header)


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
