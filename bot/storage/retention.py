"""Retention: which rows are old enough to prune (pure), and the task that prunes them."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.ingest.stories import CROSS_FEED_DEDUP_WINDOW, MAX_STORY_AGE
from bot.matching.dryrun import window_start
from bot.storage.errors import StorageUnavailable
from bot.storage.models import PrunedPage
from bot.storage.protocols import Retention

log = logging.getLogger(__name__)

DAY_SECONDS = 86400.0
# Stories younger than this are never pruned, whatever the settings say: they are what
# recognises the same story in another feed, and what keeps an entry a feed still lists
# from looking new (an entry older than MAX_STORY_AGE at first sight is not alerted).
MIN_STORY_KEEP = max(CROSS_FEED_DEDUP_WINDOW, MAX_STORY_AGE)
MAINTENANCE_INTERVAL_SECONDS = 3600.0
# Let the bot settle (first polls, delivery of the backlog) before the first pass.
FIRST_PASS_DELAY_SECONDS = 60.0
RETRY_SECONDS = 300.0
TICK_SECONDS = 30.0
# Rows per transaction: a few milliseconds of holding the writer, then polls and
# deliveries waiting for the connection go first.
PRUNE_BATCH_ROWS = 300
# Pages (4 KB each by default) given back to the file system per step.
VACUUM_PAGES_PER_STEP = 256


@dataclass(frozen=True)
class Cutoffs:
    """Rows older than these moments may be pruned."""

    outbox_before: float
    stories_before: float


def retention_cutoffs(now: float, outbox_days: int, story_days: int) -> Cutoffs:
    """Return the pruning cutoffs for now; stories always outlive MIN_STORY_KEEP."""
    story_keep = max(timedelta(days=story_days), MIN_STORY_KEEP)
    return Cutoffs(
        outbox_before=now - outbox_days * DAY_SECONDS,
        stories_before=now - story_keep.total_seconds(),
    )


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance pass did."""

    now: float
    outbox_deleted: int
    stories_deleted: int
    batches: int
    free_pages: int


Pruner = Callable[[float, tuple[float, int], int], Awaitable[PrunedPage]]


class Maintenance:
    """Prunes old outbox rows and stories in small batches, then shrinks the file."""

    def __init__(
        self,
        storage: Retention,
        *,
        outbox_days: int,
        story_days: int,
        clock: Callable[[], float] = time.time,
        interval: float = MAINTENANCE_INTERVAL_SECONDS,
        first_delay: float = FIRST_PASS_DELAY_SECONDS,
        tick: float = TICK_SECONDS,
        batch_rows: int = PRUNE_BATCH_ROWS,
        vacuum_pages: int = VACUUM_PAGES_PER_STEP,
        on_pass: Callable[[MaintenanceReport], None] | None = None,
    ) -> None:
        self._storage = storage
        self._outbox_days = outbox_days
        self._story_days = story_days
        self._clock = clock
        self._interval = interval
        self._tick = tick
        self._batch_rows = batch_rows
        self._vacuum_pages = vacuum_pages
        self._on_pass = on_pass
        self._first_due = clock() + first_delay

    async def run(self, stop: asyncio.Event) -> None:
        """Run a pass first_delay after this task was made, then every interval (by the
        injected clock), until stop is set."""
        due = self._first_due
        while not stop.is_set():
            if self._clock() >= due:
                due = await self._scheduled_pass()
            # The clock is re-read every tick: a clock moved by a test (or a suspended
            # machine waking up) is noticed without waiting out the whole interval.
            delay = min(max(due - self._clock(), 0.0), self._tick)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _scheduled_pass(self) -> float:
        """Run one pass; return when the next one is due."""
        try:
            await self.run_once()
        except StorageUnavailable as error:
            log.error("Cannot prune old rows now, trying again later: %s", error)
            return self._clock() + RETRY_SECONDS
        return self._clock() + self._interval

    async def run_once(self) -> MaintenanceReport:
        """Prune everything past its retention now, then give the freed space back."""
        now = self._clock()
        cutoffs = retention_cutoffs(now, self._outbox_days, self._story_days)
        # Outbox rows first: a story goes only once no row refers to it.
        outbox, outbox_batches = await self._prune(
            self._storage.prune_outbox, cutoffs.outbox_before
        )
        stories, story_batches = await self._prune(
            self._storage.prune_stories, cutoffs.stories_before
        )
        # The dry run's texts of the stories that stay: only its week is searched.
        before = window_start(now)
        while await self._storage.prune_story_texts(before, self._batch_rows) == self._batch_rows:
            story_batches += 1
        free_pages = await self._release_free_pages()
        report = MaintenanceReport(now, outbox, stories, outbox_batches + story_batches, free_pages)
        if outbox or stories:
            log.info(
                "Pruned %d outbox rows older than %d days and %d stories older than %d days",
                outbox,
                self._outbox_days,
                stories,
                self._story_days,
            )
        if self._on_pass is not None:
            self._on_pass(report)
        return report

    async def _prune(self, prune: Pruner, before: float) -> tuple[int, int]:
        """Run batches until the pruner says it is done; return rows deleted and batches."""
        deleted = batches = 0
        after: tuple[float, int] | None = (float("-inf"), 0)
        while after is not None:
            # Each batch is its own call: the connection's lock is released in between, so
            # a poll or a delivery waiting for it goes before the next batch.
            page = await prune(before, after, self._batch_rows)
            deleted += page.deleted
            batches += 1
            after = page.resume_after
        return deleted, batches

    async def _release_free_pages(self) -> int:
        """Shrink the file a step at a time; return the pages still free."""
        free = await self._storage.release_free_pages(self._vacuum_pages)
        while free > 0:
            left = await self._storage.release_free_pages(self._vacuum_pages)
            if left >= free:
                # Not in incremental mode (its one-off rewrite failed): the free pages stay
                # for SQLite to reuse.
                break
            free = left
        return free
