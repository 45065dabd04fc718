"""Poll feeds: fetch, parse off the loop, store new stories and what they matched, reschedule."""

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.ingest.fetch import Fetcher, FetchResult, FetchStatus
from bot.ingest.incremental import KnownItems, response_digest
from bot.ingest.poll_schedule import next_poll_at
from bot.ingest.pool import FeedParserPool, ParserDiedError
from bot.ingest.prepare import TextFor, prepare_feed
from bot.matching.index import SubscriptionIndex
from bot.matching.sources import feed_source
from bot.metrics import NO_METRICS, MetricsSink
from bot.storage import Feed, PollToSave, Storage, StorageUnavailable

log = logging.getLogger(__name__)

SCHEDULER_TICK_SECONDS = 1.0
STORAGE_RETRY_SECONDS = 30.0
# A feed's lease unless a heartbeat extends it (bot.instance.Heartbeat); without
# max_in_flight, every due feed is leased at once.
DEFAULT_LEASE_SECONDS = 15.0
UNBOUNDED_LEASE = 1_000_000


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed did, for logs, tests and benchmarks."""

    feed_id: int
    status: str
    new_stories: int = 0
    # New stories that matched a query (delivery fans them out to chats).
    matched: int = 0
    error: str | None = None
    # Entries the parser read: only the new or edited ones once the feed's items are known.
    parsed_entries: int = 0


class Poller:
    """Polls every due feed, each independently, and hands new matches to delivery."""

    def __init__(
        self,
        storage: Storage,
        fetcher: Fetcher,
        parsers: FeedParserPool,
        index: SubscriptionIndex,
        *,
        interval: float,
        on_matches: Callable[[], None],
        on_edits: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        metrics: MetricsSink = NO_METRICS,
        instance: str = "local",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_in_flight: int | None = None,
    ) -> None:
        self._storage = storage
        # Each due feed is leased before it is polled (instances on one PostgreSQL poll it
        # once); max_in_flight at most at a time, so that the others get their share.
        self._instance = instance
        self._lease_seconds = lease_seconds
        self._max_in_flight = max_in_flight
        self._slot_freed = asyncio.Event()
        self._metrics = metrics
        self._fetcher = fetcher
        self._parsers = parsers
        self._index = index
        self._interval = interval
        self._on_matches = on_matches
        # A story from another outlet queued edits of sent alerts (the worker's AlertEditor).
        self._on_edits = on_edits
        self._clock = clock
        self._in_flight: dict[int, asyncio.Task[PollReport]] = {}
        self._paused_until = 0.0
        # Per feed, the items of its last saved poll: the next poll parses only the others.
        # In memory only: the first poll after a start parses each feed in full.
        self._known: dict[int, KnownItems] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Start polls of due feeds as they fall due, until stop is set."""
        while not stop.is_set():
            self._slot_freed.clear()
            try:
                await self.start_due_polls()
                wake_at = await self._storage.next_poll_time()
            except StorageUnavailable as error:
                log.error("Cannot read feeds to poll: %s", error)
                wake_at = None
            now = self._clock()
            delay = SCHEDULER_TICK_SECONDS if wake_at is None else wake_at - now
            await self._wait(stop, min(max(delay, 0.05), SCHEDULER_TICK_SECONDS))
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _wait(self, stop: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until stop, the timeout, or (all slots busy) a poll ending frees a slot."""
        waits = [asyncio.ensure_future(stop.wait())]
        if self._free_slots() == 0:
            waits.append(asyncio.ensure_future(self._slot_freed.wait()))
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    def _free_slots(self) -> int | None:
        if self._max_in_flight is None:
            return None
        return max(self._max_in_flight - len(self._in_flight), 0)

    async def start_due_polls(self) -> list[asyncio.Task[PollReport]]:
        """Lease due feeds (as many as there are free slots) and start a poll of each."""
        started: list[asyncio.Task[PollReport]] = []
        now = self._clock()
        free = self._free_slots()
        if now < self._paused_until or free == 0:
            return started
        until = now + self._lease_seconds
        limit = UNBOUNDED_LEASE if free is None else free
        for feed in await self._storage.lease_due_feeds(self._instance, now, until, limit):
            if feed.id in self._in_flight:
                continue
            task = asyncio.create_task(self.poll_feed(feed), name=f"poll feed {feed.id}")
            self._in_flight[feed.id] = task
            task.add_done_callback(functools.partial(self._forget_poll, feed.id))
            started.append(task)
        return started

    def _forget_poll(self, feed_id: int, _: "asyncio.Task[PollReport]") -> None:
        self._in_flight.pop(feed_id, None)
        self._slot_freed.set()

    async def poll_due(self) -> list[PollReport]:
        """Poll every due feed once and wait for all of them (tests and benchmarks)."""
        return list(await asyncio.gather(*await self.start_due_polls()))

    async def poll_feed(self, feed: Feed) -> PollReport:
        """Fetch, parse and store one feed; a failure is recorded, never raised."""
        # A duration, not a date: the monotonic clock, whatever clock the schedule runs on.
        started = time.monotonic()
        report = await self._poll_or_fail(feed)
        self._metrics.feed_polled(feed.id, report.status, time.monotonic() - started)
        if report.new_stories:
            self._metrics.stories_stored(report.new_stories, report.matched)
        return report

    async def _poll_or_fail(self, feed: Feed) -> PollReport:
        try:
            return await self._poll(feed)
        except StorageUnavailable as error:
            # Nothing was stored, so the feed stays due: hold all polling for a while rather
            # than fetching it again every tick.
            self._paused_until = self._clock() + STORAGE_RETRY_SECONDS
            log.error("Cannot store the poll of feed %s, pausing polls: %s", feed.id, error)
            return PollReport(feed.id, "error", error=str(error))
        except Exception:
            log.exception("Unexpected error polling feed %s (%s)", feed.id, feed.url)
            await self._fail(feed, "internal error while polling", self._clock(), None)
            return PollReport(feed.id, "error", error="internal error")

    async def _poll(self, feed: Feed) -> PollReport:
        now = self._clock()
        fetched = await self._fetcher.fetch(
            feed.url, etag=feed.etag, last_modified=feed.last_modified, trusted=feed.trusted
        )
        if fetched.status is FetchStatus.NOT_MODIFIED:
            await self._storage.record_not_modified(feed.id, self._next(now, fetched), now)
            return PollReport(feed.id, "not modified")
        if fetched.status is FetchStatus.ERROR:
            return await self._fail(feed, fetched.error or "fetch failed", now, fetched)
        digest = response_digest(fetched.url, fetched.headers, fetched.body)
        if digest == feed.body_digest:
            # The body the last saved poll had (the server ignored the conditional GET):
            # nothing can be new, so it is not parsed, as after a 304.
            await self._storage.record_not_modified(feed.id, self._next(now, fetched), now)
            return PollReport(feed.id, "unchanged")
        try:
            prepared = await self._parsers.run(
                prepare_feed,
                feed.id,
                fetched.body,
                fetched.headers,
                fetched.url,
                now,
                TextFor.ALERTABLE if feed.primed else TextFor.NONE,
                self._known.get(feed.id) if feed.primed else None,
            )
        except ParserDiedError as error:
            return await self._fail(feed, str(error), now, fetched)
        if prepared.error and not prepared.stories:
            return await self._fail(feed, prepared.error, now, fetched)
        title = prepared.title or feed.title
        # The outlet source: filters look at, the same for all the poll's stories.
        source = feed_source(title, feed.url)
        saved = await self._storage.save_poll(
            PollToSave(
                feed_id=feed.id,
                url=await self._stored_url(feed, fetched),
                title=title,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                next_poll_at=self._next(now, fetched, prepared.ttl_minutes),
                now=now,
                alerts_enabled=feed.primed,
                stories=prepared.stories,
                body_digest=digest,
                new_items_only=prepared.skipped_items > 0,
                complete=not prepared.error,
            ),
            match=lambda candidate: tuple(self._index.match_queries(candidate.analyzed, source)),
        )
        if saved.feed_removed:
            # An admin's /removefeed won the race with this poll; its result has no home.
            self._known.pop(feed.id, None)
            log.info(
                "Feed %s (%s) was removed while being polled; result discarded", feed.id, feed.url
            )
            return PollReport(feed.id, "removed")
        # Only now are this poll's items stored: the next poll may skip them.
        if prepared.items is None:
            self._known.pop(feed.id, None)
        else:
            self._known[feed.id] = prepared.items
        if saved.matched:
            self._on_matches()
        if saved.edits:
            self._on_edits()
        log.info(
            "Polled feed %s: %d entries parsed, %d known skipped, %d new, %d matched",
            feed.id,
            prepared.parsed_entries,
            prepared.skipped_items,
            saved.new_stories,
            saved.matched,
        )
        return PollReport(
            feed.id, "ok", saved.new_stories, saved.matched, parsed_entries=prepared.parsed_entries
        )

    async def _stored_url(self, feed: Feed, fetched: FetchResult) -> str:
        """Follow a permanent redirect, unless another feed already has that URL."""
        if not fetched.moved_to or fetched.moved_to == feed.url:
            return feed.url
        if await self._storage.get_feed_by_url(fetched.moved_to) is not None:
            return feed.url
        log.info("Feed %s moved permanently to %s", feed.id, fetched.moved_to)
        return fetched.moved_to

    def _next(self, now: float, fetched: FetchResult, ttl_minutes: int | None = None) -> float:
        return next_poll_at(
            now,
            self._interval,
            retry_after=fetched.retry_after,
            max_age=fetched.max_age,
            ttl_minutes=ttl_minutes,
        )

    async def _fail(
        self, feed: Feed, error: str, now: float, fetched: FetchResult | None
    ) -> PollReport:
        failures = feed.failures + 1
        retry_at = next_poll_at(
            now,
            self._interval,
            failures=failures,
            retry_after=fetched.retry_after if fetched else None,
        )
        await self._storage.record_poll_failure(feed.id, error, retry_at, now)
        log.warning(
            "Feed %s (%s) failed %d time(s) in a row: %s", feed.id, feed.url, failures, error
        )
        return PollReport(feed.id, "error", error=error)
