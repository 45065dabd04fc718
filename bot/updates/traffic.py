"""Traffic with each chat at python-telegram-bot's edges: updates in order, sends on record.

`ChatOrderedProcessor` handles updates of different chats side by side (at most
`concurrency` at once) and each chat's updates strictly in the order they arrived, so one
chat's flood never delays another chat's answer, and in its chat's language: the processor
sets it (bot.i18n.use_locale) in the task that runs the handlers. `slot_released` lets a
handler that only waits (a reply sitting out Telegram's 429) give its slot to other chats
meanwhile.
`RecordingRateLimiter` keeps Telegram's overall rate in a `SendBudget` (budget.py) where a
send made while handling an update (a reply) goes before the delivery worker's, tells the
flood gate about every message Telegram accepted, and the metrics sink about every 429.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

from bot.i18n import DEFAULT_LOCALE, locale_for, use_locale
from bot.metrics import NO_METRICS, MetricsSink
from bot.updates.budget import SendBudget
from bot.updates.flood import FloodGate

log = logging.getLogger(__name__)

# Updates admitted to their chat's queue at once; PTB creates one task per update anyway, so
# this bounds only the waiting ones, generously: a flood is dropped cheaply by the throttle.
MAX_WAITING_UPDATES = 10_000
# Methods that put a message into a chat, and so count against Telegram's per-chat limit.
WRITING_ENDPOINTS = frozenset({"sendMessage", "editMessageText", "copyMessage"})


# The locale to handle an update in, from its chat's id and its sender's language_code.
LocaleSource = Callable[[int | None, str | None], Awaitable[str]]


async def sender_locale(chat_id: int | None, language_code: str | None) -> str:
    """The locale of the sender's language_code: the source until the bot's is attached."""
    return locale_for(language_code)


@dataclass
class _Slot:
    """A running update's share of the concurrency bound, held by one task."""

    semaphore: asyncio.Semaphore
    task: "asyncio.Task[Any] | None"
    arrived: float
    held: bool = False


_current_slot: ContextVar[_Slot | None] = ContextVar("newshound_update_slot", default=None)


@dataclass
class _Lane:
    lock: asyncio.Lock
    users: int = 0


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Chats side by side, each chat's updates in order, at most `concurrency` running."""

    def __init__(self, concurrency: int, clock: Callable[[], float] = time.monotonic) -> None:
        # The base class's semaphore is held while an update waits for its chat's turn, so it
        # must not be the bound on running updates: a flooding chat's queue would fill it.
        super().__init__(MAX_WAITING_UPDATES)
        self._running = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._lanes: dict[object, _Lane] = {}
        self.locale_source: LocaleSource = sender_locale

    @property
    def active_chats(self) -> int:
        """Return how many chats have an update running or waiting (idle ones are forgotten)."""
        return len(self._lanes)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update after every earlier update of its chat, within the bound."""
        arrived = self._clock()
        key = chat_key(update)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(asyncio.Lock())
        lane.users += 1
        try:
            # asyncio.Lock wakes waiters first come, first served: the chat's order.
            async with lane.lock:
                slot = _Slot(self._running, asyncio.current_task(), arrived)
                await self._running.acquire()
                slot.held = True
                token = _current_slot.set(slot)
                try:
                    # After the chat's earlier updates: a /language tap holds for the next.
                    locale = await self._locale(update, coroutine)
                    with use_locale(locale):
                        await coroutine
                finally:
                    _current_slot.reset(token)
                    if slot.held:
                        slot.held = False
                        self._running.release()
        finally:
            lane.users -= 1
            if lane.users == 0:
                del self._lanes[key]

    async def _locale(self, update: object, coroutine: Awaitable[Any]) -> str:
        """Return the locale of the update's chat; English if that cannot be told."""
        if not isinstance(update, Update):
            return DEFAULT_LOCALE
        chat, sender = update.effective_chat, update.effective_user
        try:
            return await self.locale_source(
                chat.id if chat else None, sender.language_code if sender else None
            )
        except Exception:  # a bug must not cost the update its answer
            log.exception("Cannot tell the language of chat %s", chat.id if chat else None)
            return DEFAULT_LOCALE
        except BaseException:  # cancelled (shutting down): the handlers will never run
            if isinstance(coroutine, Coroutine):
                coroutine.close()
            raise

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free: lanes go away with their last update."""


def chat_key(update: object) -> object:
    """Return what orders an update: its chat, else its sender, else the update itself."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return ("update", id(update))


def arrival_time(default: float) -> float:
    """Return when the update being handled arrived, or `default` outside an update."""
    slot = _current_slot.get()
    return default if slot is None else slot.arrived


@contextlib.asynccontextmanager
async def slot_released() -> AsyncIterator[None]:
    """Give this update's slot to other chats while waiting; its chat keeps its turn."""
    slot = _current_slot.get()
    # A task started from a handler inherits the context, not the slot: only its owner lends it.
    if slot is None or not slot.held or slot.task is not asyncio.current_task():
        yield
        return
    slot.held = False
    slot.semaphore.release()
    try:
        yield
    finally:
        await slot.semaphore.acquire()
        slot.held = True


class RecordingRateLimiter(AIORateLimiter):
    """PTB's rate limiter that paces each chat's messages by the flood gate and records them.

    A message waits (its update's slot lent to other chats) until Telegram allows the chat
    another, instead of being sent to be refused with a 429. The overall rate is the
    SendBudget's (PTB's own overall limiter is off): a reply to an update goes first.
    """

    def __init__(
        self,
        gate: FloodGate,
        *,
        clock: Callable[[], float] = time.monotonic,
        overall_max_rate: float,
        max_retries: int,
        metrics: MetricsSink = NO_METRICS,
    ) -> None:
        # PTB's overall limiter queues every request in one line; the budget puts replies first.
        super().__init__(overall_max_rate=0, max_retries=max_retries)
        self._budget = SendBudget(overall_max_rate)
        self._gate = gate
        self._clock = clock
        self._metrics = metrics

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for the chat's allowance, send through PTB's limiter, record what was accepted."""
        chat_id = data.get("chat_id")
        writes = endpoint in WRITING_ENDPOINTS and isinstance(chat_id, int)
        if writes:
            assert isinstance(chat_id, int)
            wait = self._gate.ready_at(chat_id, self._clock()) - self._clock()
            if wait > 0:
                async with slot_released():
                    await asyncio.sleep(wait)
        if chat_id is not None and not data.get("allow_paid_broadcast", False):
            # What PTB's overall limiter counted: requests about a chat, paid ones aside.
            await self._budget.acquire(reply=_current_slot.get() is not None)
        try:
            result = await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        except RetryAfter:
            self._metrics.rate_limited(endpoint)
            raise
        if writes:
            assert isinstance(chat_id, int)
            self._gate.wrote(chat_id, self._clock())
        return result
