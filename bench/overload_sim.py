"""Virtual time for scenario 9: a clock with scheduled events, a capped fake bot, the worker.

The real DeliveryWorker runs its real run() loop (claims, pacing, sends, outcome commits,
storage); only its idle wait is replaced: where production sleeps in real time until the next
chat is ready, VirtualWorker moves the virtual clock there (or to the next poll) at once.
The fake bot spends the global cap in virtual time: each send takes the next free slot of
1/rate seconds and moves the clock to it, so sends can never exceed the cap and a backlog
costs virtual time, not wall time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from bot.delivery.worker import DeliveryWorker

# The idle wait gives up after this many turns that found nothing ready and could not move
# the clock: a stuck worker ends the run (reported) instead of spinning.
MAX_IDLE_SPINS = 1_000


@dataclass(order=True)
class _Event:
    at: float
    sequence: int
    action: Callable[[], Awaitable[None]] = field(compare=False)


class VirtualClock:
    """Virtual seconds; advancing past a scheduled event runs it first, at its own time."""

    def __init__(self, start: float) -> None:
        self.now = start
        self._events: list[_Event] = []
        self._sequence = itertools.count()
        self._lock = asyncio.Lock()

    def __call__(self) -> float:
        return self.now

    def at(self, when: float, action: Callable[[], Awaitable[None]]) -> None:
        """Run action when the clock reaches when."""
        heapq.heappush(self._events, _Event(when, next(self._sequence), action))

    @property
    def next_event(self) -> float | None:
        """Return when the next scheduled event runs, or None."""
        return self._events[0].at if self._events else None

    async def advance_to(self, when: float) -> None:
        """Move the clock forward to when, running the events due on the way."""
        async with self._lock:
            while self._events and self._events[0].at <= when:
                event = heapq.heappop(self._events)
                self.now = max(self.now, event.at)
                await event.action()
            self.now = max(self.now, when)


@dataclass(frozen=True)
class Sent:
    """One message the fake bot accepted: when (virtual), to whom, what."""

    at: float
    chat_id: int
    text: str


class VirtualBot:
    """Accepts every message in the next free slot of the global cap, in virtual time."""

    def __init__(self, clock: VirtualClock, rate: int) -> None:
        self._clock = clock
        self._gap = 1.0 / rate
        self._next_slot = clock.now
        self.sent: list[Sent] = []

    async def send_message(
        self,
        *,
        chat_id: int,
        text: str,
        reply_markup: Any = None,
        message_thread_id: int | None = None,
    ) -> SimpleNamespace:
        """Send in the next slot: as PTB's limiter holds a send until the cap allows it;
        answer with the message's id, as Telegram does."""
        slot = max(self._clock.now, self._next_slot)
        self._next_slot = slot + self._gap
        await self._clock.advance_to(slot)
        self.sent.append(Sent(self._clock.now, chat_id, text))
        return SimpleNamespace(message_id=len(self.sent))


class VirtualWorker(DeliveryWorker):
    """The production worker whose idle wait moves the virtual clock instead of sleeping.

    Stops by itself once nothing is in flight, nothing is queued or wanted and no event is
    scheduled: every match stored has been dealt with.
    """

    def __init__(self, *args: Any, clock: VirtualClock, **kwargs: Any) -> None:
        super().__init__(*args, clock=clock, **kwargs)
        self._virtual = clock
        self._idle_spins = 0
        self.stuck = False

    async def _wait(self, stop: asyncio.Event) -> None:
        if self._tasks or self._wake.is_set() or self._outcomes.ready.is_set():
            # Sends in flight end (or new work arrives) within moments of real time.
            self._idle_spins = 0
            await super()._wait(stop)
            return
        now = self._virtual.now
        times = [t for t in (self._queues.next_ready(), self._virtual.next_event) if t is not None]
        if not times:
            stop.set()
            return
        target = min(times)
        event = self._virtual.next_event
        if target > now or (event is not None and event <= now):
            self._idle_spins = 0
            await self._virtual.advance_to(max(target, now))
            return
        self._idle_spins += 1
        if self._idle_spins > MAX_IDLE_SPINS:
            self.stuck = True
            stop.set()
        await asyncio.sleep(0)
