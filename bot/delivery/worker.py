"""The outbox worker: send pending rows fairly and within Telegram's limits, then mark them.

Alerts reach the outbox just in time: when a chat with pending matches gets its turn and
Telegram's pacing allows a message to it, claimer.py turns its pending stories into rows.

A send is in flight from the moment its row is picked until its outcome is committed (see
outcomes.py), and the worker keeps at most `concurrency` sends in flight: a crash at any
instant can repeat at most that many messages.
Which chat is served next: pacing.py; what a send Telegram refused becomes: worker_errors.py.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot.delivery.burst import COALESCE_AFTER_SECONDS
from bot.delivery.claimer import Claimer, Subscribers
from bot.delivery.edits import AlertEditor
from bot.delivery.markup import inline_markup
from bot.delivery.observed import report_attempt
from bot.delivery.outcomes import OutcomeLog
from bot.delivery.pacing import ChatPacer, ChatQueues
from bot.delivery.shared import SharedDelivery, Sharing
from bot.delivery.worker_errors import Attempt, attempt_after, retry_later
from bot.metrics import NO_METRICS, MetricsSink
from bot.render.message import OutgoingMessage
from bot.render.outbox import first_digest_message, render_all
from bot.storage import ChatStatus, ChatType, Delivery, OutboxItem, Storage, StorageUnavailable

log = logging.getLogger(__name__)

IDLE_WAIT_SECONDS = 1.0
STORAGE_RETRY_SECONDS = 5.0


class DeliveryWorker:
    """Claims pending outbox rows, sends them, and records the outcome of each."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        subscribers: Subscribers,
        *,
        burst_limit: int = 10,
        coalesce_after: float = COALESCE_AFTER_SECONDS,
        concurrency: int = 30,
        pacer: ChatPacer | None = None,
        clock: Callable[[], float] = time.time,
        on_chat_migrated: Callable[[int, int], Awaitable[None]] | None = None,
        metrics: MetricsSink = NO_METRICS,
        sharing: Sharing | None = None,
    ) -> None:
        self._bot = bot
        # With other instances on the database: leased rows, one shared budget (shared.py).
        self._shared = SharedDelivery(storage, sharing, clock) if sharing else None
        self._metrics = metrics
        self._on_chat_migrated = on_chat_migrated
        self._storage = storage
        self._concurrency = concurrency
        self._pacer = pacer or ChatPacer()
        self._clock = clock
        self._queues = ChatQueues(self._pacer, clock)
        claimer = functools.partial(
            Claimer,
            burst_limit=burst_limit,
            coalesce_after=coalesce_after,
            lease=self._shared.lease if self._shared else lambda: None,
        )
        self._claimer = claimer(storage, subscribers, self._queues, self._pacer, clock)
        self._last_loaded_id = 0
        # Rows an earlier run left pending are read back once, at start; this run's, as claimed.
        self._loaded_earlier_rows = False
        # One task per send in flight; it ends once the send's outcome is committed.
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes = OutcomeLog(lambda rows: storage.record_deliveries(rows, clock()))
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._wake.set()
        # Edits of sent alerts, beside the sends; polls that queue some wake it (and this).
        self.editor = AlertEditor(bot, storage, self._pacer, clock, self._wake)

    def notify(self) -> None:
        """Tell the worker new matches or broadcast rows were committed."""
        self._wake.set()

    def retime_held(self, chat_id: int, at: float) -> None:
        """Release the chat's held digest lines at `at` (storage has already moved them)."""
        self._queues.retime(chat_id, at)
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
            await self._outcomes.drain(self._tasks)
            await self.editor.stop()
            if self._shared is not None:
                await self._shared.release()

    async def _step(self) -> bool:
        """Record answered sends, load new rows, start sends; tell whether any started."""
        if self._clock() < self._paused_until:
            return False
        # Every outcome answered so far, in one transaction: their sends wait for it.
        await self._outcomes.write_queued()
        if self._shared is not None and self._shared.sweep_due():
            self._wake.set()  # leases to renew, and rows nobody holds to take
        if self._wake.is_set():
            # Cleared first: what is committed during the reads wakes the next step.
            self._wake.clear()
            try:
                await self._load_new_rows()
                await self._claimer.load()
            except BaseException:
                self._wake.set()  # read again after the pause
                raise
        started = await self._start_sends()
        await self._claimer.settle()
        await self.editor.step()
        return started

    def _pause(self, error: StorageUnavailable) -> None:
        self._paused_until = self._clock() + STORAGE_RETRY_SECONDS
        log.error(
            "Storage unavailable, pausing delivery for %.0f s: %s", STORAGE_RETRY_SECONDS, error
        )

    async def _load_new_rows(self) -> None:
        if self._shared is not None:  # rows come leased: claimed here, or taken by a sweep
            rows = await self._shared.sweep(self._queues.queued_rows)
        else:
            rows = await self._storage.pending_outbox(
                after_id=self._last_loaded_id, broadcasts_only=self._loaded_earlier_rows
            )
        self._loaded_earlier_rows = True
        for row in rows:
            self._pacer.note_chat(row.chat_id, row.chat_type)
            self._queues.add(row.id, row.chat_id, row.kind, row.next_attempt_at)
            self._last_loaded_id = max(self._last_loaded_id, row.id)

    async def _start_sends(self) -> bool:
        free = self._concurrency - len(self._tasks)
        if free <= 0:
            return False
        # Claims follow sends: no more chats with claimed rows waiting than sends in flight,
        # so a chat's stories are claimed when they can go, and what matches meanwhile joins
        # its next turn instead of waiting behind rows claimed long before.
        claimable = min(free, self._concurrency - self._queues.chats_with_rows)
        await self._claimer.claim_turns(max(claimable, 0))
        picked = self._queues.pick(free)
        if not picked:
            return False
        leased_by = None if self._shared is None else self._shared.instance
        items = await self._storage.load_outbox(list(picked), leased_by=leased_by)
        for missing in picked.keys() - {item.id for item in items}:
            # The row is gone (its chat migrated or was deleted): free the chat it held.
            self._queues.release(picked[missing])
        unrecorded = self._outcomes.unrecorded()
        now = self._clock()
        for item in items:
            if item.status != "pending" or item.id in unrecorded:
                # Already handled, e.g. as a line of a digest sent with an earlier row.
                self._queues.release(item.chat_id)
                continue
            if item.kind == "digest" and item.next_attempt_at > now:
                # Its chat's schedule changed to hold it longer: back to wait till then.
                self._queues.add(item.id, item.chat_id, item.kind, item.next_attempt_at)
                self._queues.release(item.chat_id)
                continue
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True

    async def _wait(self, stop: asyncio.Event) -> None:
        now = self._clock()
        next_ready = self._queues.next_ready()
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
            outcomes = [Delivery(item.id, item.chat_id, "failed", item.attempts + 1, error="bug")]
        # The send keeps its place in flight and its chat until the outcome is committed: a
        # crash before then may repeat it, and a crash after it cannot. Nothing else of this
        # chat is sent meanwhile, so no row it carried can be picked and sent again.
        if not await self._outcomes.record(outcomes):
            return  # the worker stopped without recording it: a restart sends it again
        outcome = outcomes[0]
        if outcome.status == "sent" and item.kind == "alert":
            self.editor.alert_sent()
        # The digest lines this message carried are done with it (or retried with it).
        self._queues.drop_rows(item.chat_id, {o.outbox_id for o in outcomes[1:]})
        if outcome.migrated_to is not None:
            self._pacer.note_chat(outcome.migrated_to, ChatType.SUPERGROUP)
            self._queues.move_chat(item.chat_id, outcome.migrated_to)
        if outcome.status == "pending":
            self._queues.requeue(item.id, item.kind, outcome.chat_id, outcome.next_attempt_at)
        elif outcome.chat_blocked:
            self._queues.forget_chat(item.chat_id)
        self._queues.release(item.chat_id)
        self._queues.release(outcome.chat_id)

    async def _send(self, item: OutboxItem) -> list[Delivery]:
        """Send one row (or, for a digest row, every pending digest line of the chat)."""
        if item.chat_status is not ChatStatus.ACTIVE:
            reason = f"user is {item.chat_status.value}"
            return [Delivery(item.id, item.chat_id, "dropped", item.attempts, error=reason)]
        rows = [item]
        if item.kind == "digest":
            pending = await self._storage.pending_digest(item.chat_id, self._clock())
            if self._shared is not None:  # the lines it holds; another instance sends its own
                pending = await self._shared.held(pending)
            unrecorded = self._outcomes.unrecorded()
            others = [row for row in pending if row.id not in unrecorded]
            rows = [item, *(row for row in others if row.id != item.id)]
        if item.kind == "digest":
            # One message per attempt: each is paced, and a failure repeats only itself.
            message, rows = first_digest_message(rows)
            messages = [message]
        else:
            messages = render_all(rows)
        attempt = await self._attempt(item, messages)
        report_attempt(self._metrics, attempt.status, rows, self._clock())
        if attempt.migrated_to is not None and self._on_chat_migrated is not None:
            await self._on_chat_migrated(item.chat_id, attempt.migrated_to)
        return [attempt.delivery(row) for row in rows]

    async def _attempt(self, item: OutboxItem, messages: list[OutgoingMessage]) -> Attempt:
        attempts = item.attempts + 1
        chat_id = item.chat_id
        sent_ids: list[int] = []
        if self._shared is not None and not await self._shared.take_tokens(len(messages)):
            return Attempt("pending", chat_id, item.attempts, self._clock() + STORAGE_RETRY_SECONDS)
        try:
            for message in messages:
                # Sent exactly as rendered: text, buttons and forum topic.
                sent = await self._bot.send_message(
                    chat_id=chat_id,
                    text=message.text,
                    reply_markup=inline_markup(message.keyboard),
                    message_thread_id=message.thread_id,
                )
                sent_ids.append(sent.message_id)
                # Spend the chat's allowance once Telegram has answered: the message reached
                # it no later than now, however long PTB's global limiter held it back.
                self._pacer.take(chat_id, self._clock())
        except TelegramError as error:
            attempt = attempt_after(error, item, self._clock())
            return attempt or retry_later(item, attempts, error, self._clock())
        # An alert is one message: its id is kept, so a copy of its story can edit it.
        return Attempt("sent", chat_id, attempts, message_id=sent_ids[0] if sent_ids else None)
