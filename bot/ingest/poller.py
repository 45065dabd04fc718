"""Poll feeds: fetch, parse off the loop, store new stories and their alerts, reschedule."""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from bot.ingest.fetch import Fetcher, FetchResult, FetchStatus
from bot.ingest.parse import ParsedEntry, parse_feed
from bot.ingest.pool import FeedParserPool, ParserDiedError
from bot.ingest.stories import is_too_old, story_from_entry
from bot.matching.index import SubscriptionIndex
from bot.storage import Feed, PollToSave, Storage, StorageUnavailable, StoryToSave
from bot.text.analyzer import NOTHING, AnalyzedText, analyze
from bot.text.normalize import html_to_paragraphs
from bot.text.summary import summarize

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 6 * 3600
MAX_DOUBLINGS = 32
# A server's max-age or <ttl> may slow polling down, but not beyond this.
MAX_SERVER_DELAY_SECONDS = 6 * 3600
SCHEDULER_TICK_SECONDS = 1.0
STORAGE_RETRY_SECONDS = 30.0
Analyze = Callable[[str], AnalyzedText]


def next_poll_at(
    now: float,
    interval: float,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    max_age: float | None = None,
    ttl_minutes: int | None = None,
) -> float:
    """Return when to poll a feed next: back off on failures, honour the server's wishes."""
    # Cap the exponent first: a float interval times 2 ** 1100 overflows.
    doublings = min(failures - 1, MAX_DOUBLINGS)
    delay = min(interval * 2**doublings, MAX_BACKOFF_SECONDS) if failures else interval
    server_delays = [retry_after or 0.0, max_age or 0.0, (ttl_minutes or 0) * 60.0]
    delay = max(delay, min(max(server_delays), MAX_SERVER_DELAY_SECONDS))
    return now + delay


@dataclass(frozen=True)
class PreparedFeed:
    """A parsed feed turned into stories, built in a worker process."""

    title: str
    ttl_minutes: int | None
    error: str | None
    stories: tuple[StoryToSave, ...]


class TextFor(Enum):
    """Which entries need their text cleaned, summarised and tokenised (the costly part)."""

    ALL = "all"
    ALERTABLE = "alertable"  # entries recent enough to alert anyone
    NONE = "none"  # a new feed's first poll alerts nobody


def prepare_feed(
    feed_id: int,
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    now: float,
    text_for: TextFor = TextFor.ALL,
    *,
    morphology: bool = True,  # False: no uk/ru lemma keys (bench/ measures what they cost)
) -> PreparedFeed:
    """Parse a feed body and build its stories (runs in a worker process: CPU-heavy)."""
    parsed = parse_feed(body, headers, url=url)
    seen_at = datetime.fromtimestamp(now, UTC)
    stories: dict[str, StoryToSave] = {}
    analyze_text = functools.partial(analyze, language=parsed.language, morphology=morphology)
    for entry in parsed.entries:
        prepared = _prepare_entry(feed_id, entry, seen_at, text_for, analyze_text)
        if prepared is not None:
            # A feed listing the same guid twice yields one story: the first, as it appears.
            stories.setdefault(prepared.story.key, prepared)
    error = parsed.error
    if error is None and parsed.bozo and not stories:
        # A broken document that yielded nothing usable is a failure, not an empty feed.
        error = f"malformed feed, no usable entries: {parsed.bozo}"
    return PreparedFeed(
        title=parsed.title,
        ttl_minutes=parsed.ttl_minutes,
        error=error,
        stories=tuple(stories.values()),
    )


def _prepare_entry(
    feed_id: int, entry: ParsedEntry, seen_at: datetime, text_for: TextFor, analyze_text: Analyze
) -> StoryToSave | None:
    alertable = not is_too_old(entry.published, seen_at)
    with_text = text_for is TextFor.ALL or (text_for is TextFor.ALERTABLE and alertable)
    fullest = max(entry.bodies, key=len, default="")
    text = " ".join(html_to_paragraphs(fullest)) if with_text else ""
    summary = summarize(entry.title, entry.bodies) if with_text else None
    story = story_from_entry(feed_id, entry.guid, entry.link, entry.title, entry.published, summary)
    if not story.title and not story.link and not fullest.strip():
        return None
    analyzed = analyze_text(story.title + "\n" + text) if with_text else NOTHING
    return StoryToSave(story=story, analyzed=analyzed, alertable=alertable)


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed did, for logs, tests and benchmarks."""

    feed_id: int
    status: str
    new_stories: int = 0
    alerts: int = 0
    error: str | None = None


class Poller:
    """Polls every due feed, each independently, and hands new alerts to delivery."""

    def __init__(
        self,
        storage: Storage,
        fetcher: Fetcher,
        parsers: FeedParserPool,
        index: SubscriptionIndex,
        *,
        interval: float,
        on_alerts: Callable[[], None],
        burst_limit: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._fetcher = fetcher
        self._parsers = parsers
        self._index = index
        self._interval = interval
        self._burst_limit = burst_limit
        self._on_alerts = on_alerts
        self._clock = clock
        self._in_flight: dict[int, asyncio.Task[PollReport]] = {}
        self._paused_until = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Start polls of due feeds as they fall due, until stop is set."""
        while not stop.is_set():
            try:
                await self.start_due_polls()
                wake_at = await self._storage.next_poll_time()
            except StorageUnavailable as error:
                log.error("Cannot read feeds to poll: %s", error)
                wake_at = None
            now = self._clock()
            delay = SCHEDULER_TICK_SECONDS if wake_at is None else wake_at - now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), timeout=min(max(delay, 0.05), SCHEDULER_TICK_SECONDS)
                )
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def start_due_polls(self) -> list[asyncio.Task[PollReport]]:
        """Start a poll task for each due feed not already being polled."""
        started: list[asyncio.Task[PollReport]] = []
        if self._clock() < self._paused_until:
            return started
        for feed in await self._storage.due_feeds(self._clock()):
            if feed.id in self._in_flight:
                continue
            task = asyncio.create_task(self.poll_feed(feed), name=f"poll feed {feed.id}")
            self._in_flight[feed.id] = task
            task.add_done_callback(functools.partial(self._forget_poll, feed.id))
            started.append(task)
        return started

    def _forget_poll(self, feed_id: int, _: "asyncio.Task[PollReport]") -> None:
        self._in_flight.pop(feed_id, None)

    async def poll_due(self) -> list[PollReport]:
        """Poll every due feed once and wait for all of them (tests and benchmarks)."""
        return list(await asyncio.gather(*await self.start_due_polls()))

    async def poll_feed(self, feed: Feed) -> PollReport:
        """Fetch, parse and store one feed; a failure is recorded, never raised."""
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
        try:
            prepared = await self._parsers.run(
                prepare_feed,
                feed.id,
                fetched.body,
                fetched.headers,
                fetched.url,
                now,
                TextFor.ALERTABLE if feed.primed else TextFor.NONE,
            )
        except ParserDiedError as error:
            return await self._fail(feed, str(error), now, fetched)
        if prepared.error and not prepared.stories:
            return await self._fail(feed, prepared.error, now, fetched)
        saved = await self._storage.save_poll(
            PollToSave(
                feed_id=feed.id,
                url=await self._stored_url(feed, fetched),
                title=prepared.title or feed.title,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                next_poll_at=self._next(now, fetched, prepared.ttl_minutes),
                now=now,
                alerts_enabled=feed.primed,
                stories=prepared.stories,
                burst_limit=self._burst_limit,
            ),
            match=lambda candidate: self._index.match(candidate.analyzed),
        )
        if saved.feed_removed:
            # An admin's /removefeed won the race with this poll; its result has no home.
            log.info(
                "Feed %s (%s) was removed while being polled; result discarded", feed.id, feed.url
            )
            return PollReport(feed.id, "removed")
        if saved.alerts:
            self._on_alerts()
        log.info(
            "Polled feed %s: %d entries, %d new, %d alerts",
            feed.id,
            len(prepared.stories),
            saved.new_stories,
            saved.alerts,
        )
        return PollReport(feed.id, "ok", saved.new_stories, saved.alerts)

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
