"""Telegram's overall send rate, shared by replies and delivery: a reply goes first.

Telegram allows a bot about 30 messages a second in all. Replies to people and the delivery
worker's alerts and broadcasts spend the same allowance, and a reply to someone who just
wrote must not wait behind a broadcast's sends: with PTB's own limiter (one FIFO queue) a
`/list` waited for every delivery send queued before it (bench: 48 ms idle, 161 ms during a
broadcast, p50). Here a reply takes precedence over every waiting delivery send, and delivery
leaves a small reserve of the allowance unspent, so a reply usually goes at once.

`LeakyBucket` is the allowance, the same leaky bucket as PTB's AIORateLimiter (aiolimiter:
up to `rate` at once, refilled at `rate` a second), so what Telegram sees is bounded as
before; time is passed in. `SendBudget` queues the sends it cannot let through yet.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable

# The share of the allowance delivery leaves unspent for replies (at 30 a second: 3).
REPLY_RESERVE = 0.1
# Rounding slack: a wake-up at the instant wait() named must find the room it promised.
_SLACK = 1e-9


class LeakyBucket:
    """A level that drains at `rate` a second and may not pass `capacity`; pure."""

    def __init__(self, rate: float, capacity: float) -> None:
        self._rate = rate
        self._capacity = capacity
        self._level = 0.0
        self._checked = 0.0

    def _drain(self, now: float) -> None:
        self._level = max(0.0, self._level - (now - self._checked) * self._rate)
        self._checked = max(self._checked, now)

    def try_take(self, now: float, *, leave: float = 0.0) -> bool:
        """Add one to the level if it stays within capacity less `leave`; tell whether."""
        self._drain(now)
        if self._level + 1 > self._capacity - leave + _SLACK:
            return False
        self._level += 1
        return True

    def wait(self, now: float, *, leave: float = 0.0) -> float:
        """Return the seconds until try_take(leave=leave) can succeed."""
        self._drain(now)
        return max(0.0, (self._level + 1 - (self._capacity - leave)) / self._rate)


class SendBudget:
    """Sends at most `rate` a second overall; a reply waits only for other replies."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._bucket = LeakyBucket(rate, rate)
        # At least one message's room, else a slow bot's replies would still queue.
        self._reserve = min(max(1.0, rate * REPLY_RESERVE), rate - 1)
        self._clock = clock
        self._replies: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self, *, reply: bool) -> None:
        """Wait until one more message may be sent (a reply before any other send)."""
        queue = self._replies if reply else self._others
        first_in_line = not self._replies and (reply or not self._others)
        if first_in_line and self._bucket.try_take(self._clock(), leave=self._leave(reply)):
            return
        future = asyncio.get_running_loop().create_future()
        queue.append(future)
        self._schedule()
        try:
            await future
        except asyncio.CancelledError:
            if future in queue:  # not granted yet: the next in line may be due now
                queue.remove(future)
                self._schedule()
            raise

    def _leave(self, reply: bool) -> float:
        return 0.0 if reply else self._reserve

    def _grant(self) -> None:
        self._timer = None
        now = self._clock()
        for queue, reply in ((self._replies, True), (self._others, False)):
            while queue:
                if queue[0].done():  # cancelled, its task not yet resumed to say so
                    queue.popleft()
                elif self._bucket.try_take(now, leave=self._leave(reply)):
                    queue.popleft().set_result(None)
                else:
                    break
            if queue:
                break  # what waits behind it waits longer
        self._schedule()

    def _schedule(self) -> None:
        """Wake for the first waiter, replies first, when the bucket lets it through."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        reply = bool(self._replies)
        if not reply and not self._others:
            return
        delay = self._bucket.wait(self._clock(), leave=self._leave(reply))
        self._timer = asyncio.get_running_loop().call_later(delay, self._grant)
