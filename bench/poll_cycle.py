"""Scenario 2: poll cycles of every feed: cold (all new), warm (all 304), steady, identical.

Through the real path: Fetcher over HTTP to a local feed server, FeedParserPool workers,
Storage.save_poll with the SubscriptionIndex matching (the queries each story matched).
Feeds are primed (known to the bot), so new entries may alert. Of each feed's entries the
newest few were published minutes ago and are matched; the rest are older than the bot's
alert age limit and are stored (and deduplicated) but not matched, as after a restart. The
subscribers are the first poll_users users of scenario 1's population.

The same poller then runs the steady state: every feed gained 1 or 2 fresh items since the
cold cycle (the oldest drop off, so each still lists items_per_feed), and only those are
parsed. Last, the server ignores conditional GET (no validators): every feed answers 200
with the body it sent before, which the bot recognises and does not parse.

Baseline: feedparser alone parsing the same bodies one after another, with the bot's options
and headers (the cheapest feedparser parse): cold bodies for the cold cycle, steady ones for
the steady cycle. The figures are built in poll_figures.py.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser

from bench import matching, poll_figures
from bench.common import Figure, Run, Stopwatch
from bench.harness import (
    LoopLag,
    RemoteFeeds,
    bench_settings,
    children_of,
    cpu_seconds,
    create_database,
    feed_body,
    feed_items,
    feed_path,
    populate,
    primer_body,
)
from bench.poll_figures import RSS_HEADERS
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import PARSER_HEADERS
from bot.ingest.poller import Poller, PollReport
from bot.ingest.pool import FeedParserPool
from bot.ingest.prepare import prepare_feed
from bot.storage.sqlite import SqliteStorage
from tests.feedserver import Item


class Clock:
    """Wall time plus an offset the benchmark moves forward to make feeds due again."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.offset += seconds


def make_items(run: Run, generation: str) -> dict[int, list[Item]]:
    """Return every feed's items: items_per_feed entries, the newest few fresh."""
    sizes = run.sizes
    stories = matching.workload(run).stories
    now = datetime.now(UTC)
    return {
        feed: feed_items(
            feed,
            stories,
            sizes.items_per_feed,
            fresh=sizes.fresh_items_per_feed,
            generation=generation,
            now=now,
            words=sizes.item_words,
        )
        for feed in range(sizes.feeds)
    }


def bodies_of(items: dict[int, list[Item]]) -> dict[str, bytes]:
    """Return every feed's body, by its server path."""
    return {feed_path(feed): feed_body(feed, entries) for feed, entries in items.items()}


def make_bodies(run: Run, generation: str) -> dict[str, bytes]:
    """Return every feed's body: items_per_feed entries, the newest few fresh."""
    return bodies_of(make_items(run, generation))


def gained(run: Run, items: dict[int, list[Item]], generation: str) -> dict[int, list[Item]]:
    """Return every feed's items after it gained 1 or 2 fresh ones (the oldest drop off).

    The items kept are the same values, so their bytes in the new body are the same."""
    stories = matching.workload(run).stories
    now = datetime.now(UTC)
    result: dict[int, list[Item]] = {}
    for feed, entries in items.items():
        count = 1 + feed % 2
        new = feed_items(
            feed,
            stories,
            count,
            fresh=count,
            generation=generation,
            now=now,
            words=run.sizes.item_words,
            first=len(entries),
        )
        result[feed] = new + entries[: len(entries) - count]
    return result


def parse_all(bodies: Sequence[bytes], *, bot_options: bool) -> float:
    """Parse every body with feedparser alone, one after another; return the seconds."""
    headers = {name: RSS_HEADERS[name] for name in PARSER_HEADERS if name in RSS_HEADERS}
    with Stopwatch() as watch:
        for body in bodies:
            if bot_options:
                feedparser.parse(
                    body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
                )
            else:
                feedparser.parse(body, response_headers=headers)
    return watch.seconds


async def warm_up(parsers: FeedParserPool, workers: int) -> None:
    """Start the parser workers (a long-running bot has them running already)."""
    body = primer_body(0)
    await asyncio.gather(
        *(
            parsers.run(prepare_feed, 0, body, RSS_HEADERS, "http://x/", time.time())
            for _ in range(workers * 2)
        )
    )


async def one_repetition(run: Run, feeds: RemoteFeeds, number: int) -> dict[str, float]:
    """Set up a fresh database, run a cold then a warm cycle; return the measurements."""
    sizes = run.sizes
    data = matching.workload(run)
    users = sizes.poll_users
    subscriptions = [s for s in data.subscriptions if s[0] <= users]
    directory = run.scratch(f"poll-{number}")
    database = directory / "newshound.sqlite3"
    await create_database(database)
    urls = [feeds.url(feed_path(feed)) for feed in range(sizes.feeds)]
    await asyncio.to_thread(
        populate,
        database,
        user_ids=range(1, users + 1),
        subscriptions=subscriptions,
        feed_urls=urls,
        primed=True,
    )
    items = await asyncio.to_thread(make_items, run, f"g{number}")
    bodies = bodies_of(items)
    gained_items = await asyncio.to_thread(gained, run, items, f"g{number}-new")
    steady_bodies = bodies_of(gained_items)
    alone_bodies = bodies_of(await asyncio.to_thread(gained, run, gained_items, f"g{number}-more"))
    await feeds.acall("set_feeds", bodies)
    settings = bench_settings("http://127.0.0.1:9", database)
    storage = await SqliteStorage.open(database)
    fetcher = Fetcher(concurrency=settings.fetch_concurrency, user_agent="Newshound/bench")
    parsers = FeedParserPool(settings.parse_workers)
    clock = Clock()
    try:
        await warm_up(parsers, settings.parse_workers)
        index = matching.build_index(subscriptions)
        poller = Poller(
            storage,
            fetcher,
            parsers,
            index,
            interval=settings.poll_interval_seconds,
            on_matches=lambda: None,
            clock=clock,
        )
        workers = [pid for pid in children_of(os.getpid()) if pid != feeds.pid]
        gc.collect()
        async with LoopLag() as lag:
            cold = await measured_cycle(poller, workers, "ok", sizes.feeds, collect=False)
        clock.advance(settings.poll_interval_seconds + 1)
        warm = await measured_cycle(poller, workers, "not modified", sizes.feeds)
        # The steady state: every feed gained 1 or 2 fresh items, which alert as usual.
        await feeds.acall("set_feeds", steady_bodies)
        clock.advance(settings.poll_interval_seconds + 1)
        steady = await measured_cycle(poller, workers, "ok", sizes.feeds)
        # The server ignores conditional GET: the same bodies again, in full.
        await feeds.acall("set_feeds", steady_bodies, validators=False)
        clock.advance(settings.poll_interval_seconds + 1)
        identical = await measured_cycle(poller, workers, "unchanged", sizes.feeds)
        # Once more with nobody subscribed: the steady cycle without the alerts' fan-out.
        for chat_id, normalised, _ in subscriptions:
            index.remove(chat_id, normalised)
        await feeds.acall("set_feeds", alone_bodies)
        clock.advance(settings.poll_interval_seconds + 1)
        alone = await measured_cycle(poller, workers, "ok", sizes.feeds)
    finally:
        parsers.close()
        await fetcher.aclose()
        await storage.close()
    baseline = await asyncio.to_thread(parse_all, list(bodies.values()), bot_options=True)
    steady_baseline = await asyncio.to_thread(
        parse_all, list(steady_bodies.values()), bot_options=True
    )
    return {
        "cold": cold.seconds,
        "warm": warm.seconds,
        "steady": steady.seconds,
        "identical": identical.seconds,
        "alone": alone.seconds,
        "baseline": baseline,
        "steady_baseline": steady_baseline,
        "main_cpu": cold.main_cpu,
        "workers_cpu": cold.workers_cpu,
        "steady_main_cpu": steady.main_cpu,
        "steady_workers_cpu": steady.workers_cpu,
        "alone_main_cpu": alone.main_cpu,
        "alone_workers_cpu": alone.workers_cpu,
        "lag_p99": lag.p99(),
        "lag_max": max(lag.samples, default=0.0),
        "stories": cold.stories,
        "alerts": cold.alerts,
        "steady_parsed": steady.parsed,
        "steady_stories": steady.stories,
        "steady_alerts": steady.alerts,
        "body_kb": sum(len(body) for body in bodies.values()) / len(bodies) / 1024,
    }


@dataclass(frozen=True)
class Cycle:
    """What one poll cycle of every feed took, and what it did."""

    seconds: float
    main_cpu: float
    workers_cpu: float
    parsed: float
    stories: float
    alerts: float


async def measured_cycle(
    poller: Poller, workers: Sequence[int], status: str, feeds: int, *, collect: bool = True
) -> Cycle:
    """Poll every due feed once; check each poll ended with status; return the costs."""
    if collect:
        gc.collect()
    workers_before = sum(cpu_seconds(pid) for pid in workers)
    main_before = time.process_time()
    with Stopwatch() as watch:
        reports = await poller.poll_due()
    main_cpu = time.process_time() - main_before
    workers_cpu = sum(cpu_seconds(pid) for pid in workers) - workers_before
    _expect(reports, status, feeds)
    return Cycle(
        watch.seconds,
        main_cpu,
        workers_cpu,
        float(sum(report.parsed_entries for report in reports)),
        float(sum(report.new_stories for report in reports)),
        float(sum(report.matched for report in reports)),
    )


def _expect(reports: Sequence[PollReport], status: str, count: int) -> None:
    wrong = [report for report in reports if report.status != status]
    if len(reports) != count or wrong:
        raise RuntimeError(f"expected {count} polls '{status}', got {len(reports)}: {wrong[:3]}")


async def run(run: Run) -> list[Figure]:
    """Measure cold and warm cycles against feedparser alone on the same bodies."""
    results: list[dict[str, float]] = []
    with RemoteFeeds() as feeds:
        for number in range(run.repeat):
            results.append(await one_repetition(run, feeds, number))
            run.log(
                f"  repetition {number + 1}: "
                + ", ".join(f"{key} {value:.3f}" for key, value in results[-1].items())
            )
        bodies = await asyncio.to_thread(make_bodies, run, "defaults")
        default_options = await asyncio.to_thread(
            parse_all, list(bodies.values()), bot_options=False
        )

    hits = await asyncio.to_thread(poll_figures.fast_path_figures, run, list(bodies.values()))
    return poll_figures.cycle_figures(run, results, default_options) + hits
