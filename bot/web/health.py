"""/healthz: does the event loop answer in time, does the database take a write, does
delivery move. Each check's verdict is a pure function of what was measured."""

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.storage import Backlog, StorageUnavailable
from bot.storage.health import Health

log = logging.getLogger(__name__)

LOOP_TICK_SECONDS = 0.5
# Ticks remembered: a stall is reported for about 10 s after it ended, long enough for a
# prober every few seconds to see it.
LOOP_TICKS_KEPT = 20
# Longer than the worst p99 the benchmarks measure during a cold poll cycle (~20 ms) by far.
LOOP_LAG_LIMIT_SECONDS = 1.0
DATABASE_PROBE_TIMEOUT_SECONDS = 2.0
# Work due this long with no send attempt ending meanwhile: the worker is stuck.
DELIVERY_STALL_SECONDS = 300.0
OK = "ok"


@dataclass(frozen=True)
class HealthReport:
    """Each check's verdict: "ok" or what is wrong."""

    checks: dict[str, str]

    @property
    def healthy(self) -> bool:
        """True when every check says ok."""
        return all(verdict == OK for verdict in self.checks.values())

    def body(self) -> dict[str, object]:
        """The JSON /healthz answers with."""
        return {"status": "ok" if self.healthy else "unhealthy", "checks": self.checks}


def loop_verdict(worst_lag: float, limit: float = LOOP_LAG_LIMIT_SECONDS) -> str:
    """Judge the event loop by the longest it recently woke a sleeper late."""
    if worst_lag <= limit:
        return OK
    return f"the event loop was blocked for {worst_lag:.1f} s (limit {limit:g} s)"


def delivery_verdict(
    backlog: Backlog, now: float, last_progress_at: float, stall: float = DELIVERY_STALL_SECONDS
) -> str:
    """Stalled when work has been due for longer than `stall` and no send ended meanwhile."""
    due = [at for at in (backlog.oldest_due_at, backlog.oldest_match_at) if at is not None]
    if not due or now - min(due) <= stall or now - last_progress_at <= stall:
        return OK
    return (
        f"stalled: work has waited {now - min(due):.0f} s and no send has ended "
        f"for {now - last_progress_at:.0f} s"
    )


class LoopWatch:
    """Measures how late the event loop wakes a task that sleeps a fixed tick."""

    def __init__(self) -> None:
        self._lags: collections.deque[float] = collections.deque(maxlen=LOOP_TICKS_KEPT)
        self.ticks = 0

    def worst_lag(self) -> float:
        """The longest delay of the recent ticks, in seconds."""
        return max(self._lags, default=0.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until stop is set."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LOOP_TICK_SECONDS)
            if not stop.is_set():
                self._lags.append(max(0.0, loop.time() - started - LOOP_TICK_SECONDS))
                self.ticks += 1


class HealthCheck:
    """Runs the three checks for one /healthz request."""

    def __init__(
        self,
        storage: Health,
        loop_watch: LoopWatch,
        last_send_at: Callable[[], float | None],
        clock: Callable[[], float],
        *,
        probe_timeout: float = DATABASE_PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self._storage = storage
        self._loop_watch = loop_watch
        self._last_send_at = last_send_at
        self._clock = clock
        self._probe_timeout = probe_timeout
        self._started_at = clock()
        # One probe write at a time: a request arriving while one hangs waits on that one.
        self._probe: asyncio.Task[None] | None = None

    async def report(self) -> HealthReport:
        """Check the loop, the database and delivery, in that order."""
        checks = {"event_loop": loop_verdict(self._loop_watch.worst_lag())}
        checks["database"] = await self._database_verdict()
        checks["delivery"] = await self._delivery_verdict()
        return HealthReport(checks)

    async def _database_verdict(self) -> str:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._storage.probe_write(self._clock()))
            # Whoever stopped waiting for it, its failure is read (and reported) here.
            self._probe.add_done_callback(_read_failure)
        try:
            await asyncio.wait_for(asyncio.shield(self._probe), self._probe_timeout)
        except TimeoutError:
            return f"a write did not finish within {self._probe_timeout:g} s"
        except StorageUnavailable as error:
            return str(error)
        except Exception as error:  # a bug in the probe: say so here, traceback in the log
            return f"the probe write failed: {error}"
        return OK

    async def _delivery_verdict(self) -> str:
        now = self._clock()
        try:
            backlog = await self._storage.backlog(now)
        except StorageUnavailable as error:
            return f"the backlog cannot be read: {error}"
        return delivery_verdict(backlog, now, self._last_send_at() or self._started_at)


def _read_failure(probe: "asyncio.Task[None]") -> None:
    if probe.cancelled():
        return
    error = probe.exception()
    if isinstance(error, StorageUnavailable):
        log.warning("Health check: %s", error)
    elif error is not None:
        log.error("Health check: the probe write failed", exc_info=error)
