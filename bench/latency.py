"""Scenario 4: how long a new story takes from the feed server to a subscriber's chat.

The real scheduler (Poller.run) and outbox worker (DeliveryWorker.run) run as in run_bot,
with POLL_INTERVAL_SECONDS=10, against a local feed server and the Bot API fake with
Telegram's limits. Feeds carry ~100 KB of older entries; new entries appear at random
moments, one at a time, each on a random feed, and each has its own subscriber (plus a few
who watch them all, and scenario 1's first poll_users users, whom they do not match).

Also measured per feed: from the response received (Fetcher.fetch returned) to its outbox
rows committed (Storage.save_poll returned), through subclasses of both that only note times.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench import matching
from bench.common import SEED, Figure, Run, at_most, median, percentile
from bench.harness import (
    RemoteBotApi,
    RemoteFeeds,
    bench_settings,
    count_rows,
    create_database,
    feed_body,
    feed_items,
    feed_path,
    populate,
    telegram_bot,
)
from bot.delivery.worker import DeliveryWorker
from bot.ingest.fetch import Fetcher, FetchResult, FetchStatus
from bot.ingest.poller import Poller
from bot.ingest.pool import FeedParserPool
from bot.matching.index import SubscriptionIndex
from bot.storage import PollToSave, SavedPoll, StoryMatcher
from bot.storage.sqlite import SqliteStorage
from tests.feedserver import Item

SCENARIO = "4 latency"
PROBE_USER = 7_000_000
WATCHERS = (7_900_001, 7_900_002, 7_900_003)
WATCH_QUERY = "newshoundprobe"
# Items appear at random over this many poll intervals.
PUBLISH_INTERVALS = 6
SETTLE_SECONDS = 5.0


def probe_token(number: int) -> str:
    """Return the word only item number carries (and its own subscriber watches)."""
    return f"zq{number:03d}zq"


class TimedFetcher(Fetcher):
    """The production Fetcher, noting when each feed's response was received."""

    received: dict[str, float]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.received = {}

    async def fetch(self, url: str, **options: Any) -> FetchResult:
        """Fetch as production does (whatever its options), then note the time."""
        result = await super().fetch(url, **options)
        if result.status is FetchStatus.OK:
            self.received[url] = time.monotonic()
        return result


class TimedStorage(SqliteStorage):
    """The production Storage, noting when a poll's stories and outbox rows were committed."""

    fetcher: TimedFetcher | None = None
    recording = False
    spans: list[float]
    saves: list[float]

    async def save_poll(self, poll: PollToSave, match: StoryMatcher) -> SavedPoll:
        """Save as production does; note response-to-commit for polls with new stories."""
        called = time.monotonic()
        saved = await super().save_poll(poll, match)
        committed = time.monotonic()
        if self.recording and saved.new_stories and self.fetcher is not None:
            received = self.fetcher.received.get(poll.url)
            if received is not None:
                self.spans.append(committed - received)
                self.saves.append(committed - called)
        return saved


def probe_item(number: int, now: datetime) -> Item:
    """Return new entry number: it matches its own subscriber and the watchers, nobody else."""
    token = probe_token(number)
    return Item(
        title=f"Newshoundprobe bulletin {token}",
        link=f"https://probe.example/{number}",
        guid=f"urn:bench:probe:{number}",
        description=f"<p>Bulletin {token} for the latency probe, newshoundprobe.</p>",
        pub_date=now,
    )


async def run(run: Run) -> list[Figure]:
    """Publish items at random moments; time each to its first alert."""
    sizes = run.sizes
    data = matching.workload(run)
    users = sizes.poll_users
    subscriptions = [s for s in data.subscriptions if s[0] <= users]
    probes = [(PROBE_USER + n, probe_token(n), probe_token(n)) for n in range(sizes.latency_items)]
    watchers = [(user, WATCH_QUERY, "Newshoundprobe") for user in WATCHERS]
    everyone = [*subscriptions, *probes, *watchers]
    database = run.scratch("latency") / "newshound.sqlite3"
    await create_database(database)
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    items = {
        feed: feed_items(
            feed,
            data.stories,
            sizes.items_per_feed,
            fresh=0,
            generation="lat",
            now=now,
            words=sizes.item_words,
        )
        for feed in range(sizes.latency_feeds)
    }
    with RemoteFeeds() as feeds, RemoteBotApi() as api:
        await feeds.acall("set_feeds", {feed_path(f): feed_body(f, v) for f, v in items.items()})
        urls = [feeds.url(feed_path(feed)) for feed in range(sizes.latency_feeds)]
        await asyncio.to_thread(
            populate,
            database,
            user_ids=sorted({s[0] for s in everyone}),
            subscriptions=everyone,
            feed_urls=urls,
            primed=True,
        )
        await api.acall(
            "enforce_limits", global_per_second=30, per_chat_per_second=1.0, per_chat_burst=3
        )
        settings = bench_settings(
            api.url, database, POLL_INTERVAL_SECONDS=str(sizes.latency_interval)
        )
        storage = await TimedStorage.open(database)
        storage.spans = []
        storage.saves = []
        fetcher = TimedFetcher(concurrency=settings.fetch_concurrency, user_agent="Newshound/bench")
        storage.fetcher = fetcher
        parsers = FeedParserPool(settings.parse_workers)
        published: dict[int, float] = {}
        try:
            index = SubscriptionIndex()
            index.add_many(
                (s.chat_id, s.query, s.display) for s in await storage.all_subscriptions()
            )
            async with telegram_bot(settings) as bot:
                worker = DeliveryWorker(
                    bot,
                    storage,
                    index.subscribers,
                    concurrency=settings.max_messages_per_second,
                )
                poller = Poller(
                    storage,
                    fetcher,
                    parsers,
                    index,
                    interval=settings.poll_interval_seconds,
                    on_matches=worker.notify,
                )
                stop = asyncio.Event()
                tasks = [
                    asyncio.create_task(worker.run(stop), name="delivery"),
                    asyncio.create_task(poller.run(stop), name="poller"),
                ]
                try:
                    await _wait_first_cycle(database, sizes.latency_feeds, tasks)
                    storage.recording = True
                    window = sizes.latency_interval * PUBLISH_INTERVALS
                    gap = window / max(1, sizes.latency_items)
                    for number in range(sizes.latency_items):
                        await asyncio.sleep(rng.uniform(0, 2 * gap))
                        feed = rng.randrange(sizes.latency_feeds)
                        fresh = probe_item(number, datetime.now(UTC))
                        items[feed] = [fresh, *items[feed][:-1]]
                        await feeds.acall(
                            "set_feeds", {feed_path(feed): feed_body(feed, items[feed])}
                        )
                        published[number] = time.monotonic()
                    deadline = time.monotonic() + 2 * sizes.latency_interval + SETTLE_SECONDS
                    while time.monotonic() < deadline:
                        if len(_first_alerts(await api.acall("sends"), published)) == len(
                            published
                        ):
                            break
                        await asyncio.sleep(0.2)
                finally:
                    stop.set()
                    await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            parsers.close()
            await fetcher.aclose()
            await storage.close()
        sends = api.sends()
    first = _first_alerts(sends, published)
    missing = len(published) - len(first)
    latencies = [first[n] - published[n] for n in sorted(first)]
    # A story that never arrived counts as later than any that did.
    padded = latencies + [float("inf")] * missing
    spans = storage.spans
    return [
        Figure(
            SCENARIO,
            "feed item to first alert p50",
            percentile(padded, 0.5),
            "s",
            at_most(6, "s"),
            f"{len(published)} items, {missing} never alerted; "
            f"POLL_INTERVAL_SECONDS={sizes.latency_interval}",
            tuple(latencies),
        ),
        Figure(
            SCENARIO,
            "feed item to first alert p99",
            percentile(padded, 0.99),
            "s",
            at_most(12, "s"),
        ),
        Figure(
            SCENARIO,
            "response received to outbox committed, worst feed",
            max(spans, default=float("nan")) * 1000,
            "ms",
            at_most(100, "ms"),
            f"{len(spans)} polls with new entries; median {median(spans) * 1000:.0f} ms",
            tuple(span * 1000 for span in spans),
        ),
        Figure(
            SCENARIO,
            "of which save_poll (store, match, outbox), worst",
            max(storage.saves, default=float("nan")) * 1000,
            "ms",
            note=f"median {median(storage.saves) * 1000:.0f} ms; the rest is parsing in a worker",
            samples=tuple(save * 1000 for save in storage.saves),
        ),
    ]


async def _wait_first_cycle(
    database: object, feeds: int, tasks: Sequence[asyncio.Task[None]]
) -> None:
    """Wait until every feed has been polled once (its old entries stored, none alerted)."""
    sql = "SELECT count(*) FROM feeds WHERE last_ok_at IS NOT NULL"
    while await asyncio.to_thread(count_rows, database, sql) < feeds:  # type: ignore[arg-type]
        for task in tasks:
            if task.done():
                task.result()
        await asyncio.sleep(0.1)


def _first_alerts(sends: Sequence[object], published: dict[int, float]) -> dict[int, float]:
    """Return, per published item, when its first alert reached the fake."""
    first: dict[int, float] = {}
    for send in sends:
        text: str = getattr(send, "text", "")
        at: float = getattr(send, "at", 0.0)
        for number in published:
            if number not in first and probe_token(number) in text:
                first[number] = at
    return first
