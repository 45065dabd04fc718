"""Scenario 2: one poll cycle of every feed, cold (all new) and warm (all 304).

Through the real path: Fetcher over HTTP to a local feed server, FeedParserPool workers,
Storage.save_poll with the SubscriptionIndex matching and the outbox rows. Feeds are primed
(known to the bot), so new entries may alert. Of each feed's entries the newest few were
published minutes ago and are matched; the rest are older than the bot's alert age limit and
are stored (and deduplicated) but not matched, as after a restart. The subscribers are the
first poll_users users of scenario 1's population, so the fan-out per story is the same.

Baseline: feedparser alone parsing the same bodies one after another, with the options and
headers the bot gives it (the cheapest parse any feedparser-based bot can do).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import feedparser

from bench import matching
from bench.common import Figure, Run, Stopwatch, at_most, median
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
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import PARSER_HEADERS
from bot.ingest.poller import Poller, PollReport, prepare_feed
from bot.ingest.pool import FeedParserPool
from bot.storage.sqlite import SqliteStorage

SCENARIO = "2 poll cycle"
RSS_HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


class Clock:
    """Wall time plus an offset the benchmark moves forward to make feeds due again."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.offset += seconds


def make_bodies(run: Run, generation: str) -> dict[str, bytes]:
    """Return every feed's body: items_per_feed entries, the newest few fresh."""
    sizes = run.sizes
    stories = matching.workload(run).stories
    now = datetime.now(UTC)
    return {
        feed_path(feed): feed_body(
            feed,
            feed_items(
                feed,
                stories,
                sizes.items_per_feed,
                fresh=sizes.fresh_items_per_feed,
                generation=generation,
                now=now,
                words=sizes.item_words,
            ),
        )
        for feed in range(sizes.feeds)
    }


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
    bodies = await asyncio.to_thread(make_bodies, run, f"g{number}")
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
            on_alerts=lambda: None,
            clock=clock,
        )
        gc.collect()
        workers = [pid for pid in children_of(os.getpid()) if pid != feeds.pid]
        workers_before = sum(cpu_seconds(pid) for pid in workers)
        main_before = time.process_time()
        async with LoopLag() as lag:
            with Stopwatch() as cold:
                cold_reports = await poller.poll_due()
        main_cpu = time.process_time() - main_before
        workers_cpu = sum(cpu_seconds(pid) for pid in workers) - workers_before
        _expect(cold_reports, "ok", sizes.feeds)
        clock.advance(settings.poll_interval_seconds + 1)
        with Stopwatch() as warm:
            warm_reports = await poller.poll_due()
        _expect(warm_reports, "not modified", sizes.feeds)
    finally:
        parsers.close()
        await fetcher.aclose()
        await storage.close()
    baseline = await asyncio.to_thread(parse_all, list(bodies.values()), bot_options=True)
    return {
        "cold": cold.seconds,
        "warm": warm.seconds,
        "baseline": baseline,
        "main_cpu": main_cpu,
        "workers_cpu": workers_cpu,
        "lag_p99": lag.p99(),
        "lag_max": max(lag.samples, default=0.0),
        "stories": float(sum(report.new_stories for report in cold_reports)),
        "alerts": float(sum(report.alerts for report in cold_reports)),
        "body_kb": sum(len(body) for body in bodies.values()) / len(bodies) / 1024,
    }


def _expect(reports: Sequence[PollReport], status: str, count: int) -> None:
    wrong = [report for report in reports if report.status != status]
    if len(reports) != count or wrong:
        raise RuntimeError(f"expected {count} polls '{status}', got {len(reports)}: {wrong[:3]}")


async def run(run: Run) -> list[Figure]:
    """Measure cold and warm cycles against feedparser alone on the same bodies."""
    sizes = run.sizes
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

    def values(key: str) -> tuple[float, ...]:
        return tuple(result[key] for result in results)

    ratios = tuple(result["cold"] / result["baseline"] for result in results)
    first = results[0]
    workload = f"{sizes.feeds} feeds x {sizes.items_per_feed} items, {first['body_kb']:.0f} KB each"
    return [
        Figure(
            SCENARIO,
            "cold cycle / feedparser-alone baseline",
            median(ratios),
            "x",
            at_most(0.8, "x"),
            workload,
            ratios,
        ),
        Figure(
            SCENARIO,
            "cold cycle",
            median(values("cold")),
            "s",
            note=f"{first['stories']:,.0f} stories stored, {first['alerts']:,.0f} alerts "
            f"queued for {sizes.poll_users:,} users",
            samples=values("cold"),
        ),
        Figure(
            SCENARIO,
            "baseline: feedparser alone, sequential",
            median(values("baseline")),
            "s",
            note="bot's options: sanitize_html=False, resolve_relative_uris=False",
            samples=values("baseline"),
        ),
        Figure(
            SCENARIO,
            "feedparser alone, default options",
            default_options,
            "s",
            note="what a peer bot calling feedparser.parse(body) pays; 1 run",
        ),
        Figure(
            SCENARIO,
            "cold cycle CPU: bot process (loop + SQLite thread)",
            median(values("main_cpu")),
            "s",
            note="fetch, store, match, outbox; the rest of the cycle is the parser workers",
            samples=values("main_cpu"),
        ),
        Figure(
            SCENARIO,
            "cold cycle CPU: parser workers",
            median(values("workers_cpu")),
            "s",
            note=f"prepare_feed (parse, clean, summarize, tokenize), {run.sizes.feeds} feeds",
            samples=values("workers_cpu"),
        ),
        Figure(
            SCENARIO,
            "warm cycle (every feed 304)",
            median(values("warm")),
            "s",
            at_most(1.5, "s"),
            samples=values("warm"),
        ),
        Figure(
            SCENARIO,
            "event-loop lag p99 during cold cycle",
            median(values("lag_p99")) * 1000,
            "ms",
            at_most(20, "ms"),
            f"10 ms heartbeat; worst {max(values('lag_max')) * 1000:.0f} ms",
            tuple(v * 1000 for v in values("lag_p99")),
        ),
    ]
