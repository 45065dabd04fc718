"""Group commit of delivery outcomes: a send is over only once its outcome is committed.

Each send hands the outcome Telegram gave it to an OutcomeLog and waits until it is written.
Whatever has been answered when a write starts goes into that one transaction; outcomes
answered during the write go into the next one, started right after it. There is no timer and
no batch to fill, so an answered send waits for at most one write in progress plus its own.
The delivery worker counts a send as in flight until then: a crash at any instant can repeat
only the sends in flight. Small groups cost more per row than large batches, but SQLite in WAL
mode commits thousands of times a second and Telegram allows 30 messages a second (1,000 with
paid broadcasts), so grouping what is answered keeps up without holding anything back.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.storage import Delivery, StorageUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Waiting:
    """The outcomes of one send, and the future its sender waits on (True: committed)."""

    outcomes: Sequence[Delivery]
    committed: "asyncio.Future[bool]"


class OutcomeLog:
    """Outcomes answered by Telegram and not yet committed, and the sends waiting for them."""

    def __init__(self, write: Callable[[Sequence[Delivery]], Awaitable[None]]) -> None:
        self._write = write
        self._queued: list[_Waiting] = []
        self._writing: list[_Waiting] = []
        # Set while outcomes are queued for a write: the worker's loop wakes on it.
        self.ready = asyncio.Event()

    def unrecorded(self) -> set[int]:
        """Return the rows whose outcome is not committed yet: the database says pending."""
        return {
            outcome.outbox_id
            for waiting in self._queued + self._writing
            for outcome in waiting.outcomes
        }

    async def record(self, outcomes: Sequence[Delivery]) -> bool:
        """Queue one send's outcomes; return True once committed, False if given up."""
        committed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.append(_Waiting(outcomes, committed))
        self.ready.set()
        return await committed

    async def write_queued(self) -> None:
        """Write every queued outcome in one transaction, then wake the sends waiting on them.

        On an error (StorageUnavailable) the outcomes stay queued, ahead of any that arrived
        meanwhile, and their senders keep waiting: the caller retries later or gives up.
        """
        if self._writing:
            raise RuntimeError("OutcomeLog.write_queued is already running")
        if not self._queued:
            return
        batch, self._queued = self._queued, []
        self._writing = batch
        self.ready.clear()
        try:
            await self._write([outcome for waiting in batch for outcome in waiting.outcomes])
        except BaseException:
            self._queued[:0] = batch
            if self._queued:
                self.ready.set()
            raise
        finally:
            # Only what was just written leaves: outcomes queued during the write stay queued.
            self._writing = []
        for waiting in batch:
            _settle(waiting.committed, True)

    async def drain(self, tasks: set["asyncio.Task[None]"]) -> None:
        """Let the sends in flight (tasks) end and record their outcomes (the worker stops)."""
        while tasks:
            answered = asyncio.create_task(self.ready.wait())
            await asyncio.wait([answered, *tasks], return_when=asyncio.FIRST_COMPLETED)
            answered.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await answered
            try:
                await self.write_queued()
            except StorageUnavailable as error:
                lost = self.give_up()
                log.error(
                    "%d sends could not be recorded and may be repeated after restart: %s",
                    lost,
                    error,
                )

    def give_up(self) -> int:
        """Release every queued sender without a commit (the worker stops); return the count."""
        abandoned, self._queued = self._queued, []
        self.ready.clear()
        for waiting in abandoned:
            _settle(waiting.committed, False)
        return sum(len(waiting.outcomes) for waiting in abandoned)


def _settle(committed: "asyncio.Future[bool]", result: bool) -> None:
    # A sender cancelled while waiting has nobody to tell; its outcome is written all the same.
    if not committed.done():
        committed.set_result(result)
