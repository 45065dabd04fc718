"""Scenario 10: the dry run (/try) over a week of stories, and what keeping them costs.

A week of 500 feeds × 50 items a day (175,000 stories) is stored as save_poll stores what
live matching ran on: each story's packed analysis (the workload's stories, analysed as the
parser workers do, repeated over the week). The full-text index is then filled by the bot's
own indexer (bot.dryrun.index_pending), timed per story, and the dry run answers a range of
queries (the commonest word, a middling one, a rare one, a phrase, a prefix, a Ukrainian
word with its inflections, a name with aliases, an exclusion) through bot.dryrun.dry_run,
timed end to end: index catch-up, the index's answer, candidates matched again where it is
not exact, the five newest stories.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections import Counter
from pathlib import Path

from bench import matching
from bench.common import Figure, Run, Stopwatch, at_most, median
from bench.harness import create_database, populate
from bot.dryrun import dry_run, index_pending
from bot.matching.query import parse_query
from bot.storage.sqlite import SqliteStorage
from bot.text.analyzer import AnalyzedText, analyze
from bot.text.packed import pack

SCENARIO = "10 dry run"
DAY = 86_400.0


def _analyses(run: Run) -> list[AnalyzedText]:
    stories = matching.workload(run).stories
    return [analyze(story.title + "\n" + story.text) for story in stories]


def _queries(analyses: list[AnalyzedText]) -> list[str]:
    """Queries across the range of how often their words occur in the week's stories."""
    counts = Counter(word for text in analyses for word in set(text.words) if len(word) > 4)
    ranked = [word for word, _ in counts.most_common() if word.isalpha()]
    common, middling, rare = ranked[0], ranked[len(ranked) // 20], ranked[-1]
    words = next(text.words for text in analyses if len(text.words) > 2)
    return [
        common,
        middling,
        rare,
        f'"{words[0]} {words[1]}"',
        common[:4] + "*",
        "Україна",
        "NATO",
        f"{common} -{middling}",
    ]


def _store_week(path: Path, run: Run, analyses: list[AnalyzedText], now: float) -> int:
    """Write a week of stories with their packed analyses (as save_poll keeps them)."""
    sizes = run.sizes
    packed = [pack(text) for text in analyses]
    per_day = sizes.dry_run_feeds * sizes.dry_run_items_per_day
    total = per_day * sizes.dry_run_days
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        feed_ids = [row[0] for row in connection.execute("SELECT id FROM feeds ORDER BY id")]
        numbers = range(total)
        seen = [now - sizes.dry_run_days * DAY + DAY * number / per_day for number in numbers]
        connection.executemany(
            """INSERT INTO stories (id, feed_id, key, link, canonical_link, title,
                   normalised_title, summary, published_at, seen_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)""",
            (
                (
                    number + 1,
                    feed_ids[number % len(feed_ids)],
                    f"k{number}",
                    f"https://dry{number}.example/",
                    f"https://dry{number}.example/",
                    f"Story {number}",
                    f"story {number}",
                    seen[number],
                    seen[number],
                )
                for number in numbers
            ),
        )
        connection.executemany(
            "INSERT INTO story_texts (story_id, seen_at, packed) VALUES (?, ?, ?)",
            ((number + 1, seen[number], packed[number % len(packed)]) for number in numbers),
        )
        connection.execute("COMMIT")
    finally:
        connection.close()
    return total


async def run(run: Run) -> list[Figure]:
    """Store a week, index it, and time dry runs of a range of queries."""
    sizes = run.sizes
    analyses = await asyncio.to_thread(_analyses, run)
    queries = _queries(analyses)
    path = run.scratch("dry-run") / "newshound.sqlite3"
    await create_database(path)
    now = time.time()
    feeds = [f"https://feed{n}.example/rss" for n in range(sizes.dry_run_feeds)]
    await asyncio.to_thread(populate, path, feed_urls=feeds)
    size_before = path.stat().st_size
    total = await asyncio.to_thread(_store_week, path, run, analyses, now)
    storage = await SqliteStorage.open(path)
    try:
        with Stopwatch() as indexing:
            indexed = await index_pending(storage)
        times: dict[str, list[float]] = {query: [] for query in queries}
        counts: dict[str, int] = {}
        for _, query in itertools.product(range(run.repeat), queries):
            parsed = parse_query(query)
            with Stopwatch() as watch:
                result = await dry_run(storage, parsed, now)
            times[query].append(watch.seconds)
            counts[query] = result.matched
    finally:
        await storage.close()
    size_after = sum(p.stat().st_size for p in path.parent.glob("newshound.sqlite3*"))
    slowest = max(median(samples) for samples in times.values())
    per_query = ", ".join(
        f"{query} {counts[query]:,} in {median(times[query]) * 1000:.0f} ms" for query in queries
    )
    return [
        Figure(
            SCENARIO,
            "/try over a week of stories, slowest query (median of its runs)",
            slowest,
            "s",
            at_most(1.0, "s"),
            note=f"{total:,} stories ({sizes.dry_run_feeds} feeds x "
            f"{sizes.dry_run_items_per_day}/day x {sizes.dry_run_days} days); {per_query}",
            samples=tuple(sorted(itertools.chain.from_iterable(times.values()))),
        ),
        Figure(
            SCENARIO,
            "indexing a story for /try (the background indexer)",
            indexing.seconds / max(indexed, 1) * 1e6,
            "us",
            note=f"{indexed:,} stories in {indexing.seconds:.1f} s, off the poll's transaction",
        ),
        Figure(
            SCENARIO,
            "disk per story kept for /try (packed analysis + index)",
            (size_after - size_before) / max(total, 1),
            "bytes",
            note=f"{(size_after - size_before) / 2**20:,.0f} MB for the week; stories "
            f"analysed with {median([len(t.words) for t in analyses]):.0f} words (median)",
        ),
    ]
