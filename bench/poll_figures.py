"""Scenario 2's figures: the cycles against feedparser alone, and how often the fast path runs.

The fast-path figures count the documents parse.py reads through bot/ingest/fastparse.py
rather than feedparser: the real corpus's feeds (when it is present) and the cold cycle's
generated bodies.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.common import Figure, Run, at_most, median, not_measured
from bot.ingest.fastparse import fast_parse
from bot.ingest.parse import parser_input

SCENARIO = "2 poll cycle"
RSS_HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def cycle_figures(
    run: Run, results: Sequence[dict[str, float]], default_options: float
) -> list[Figure]:
    """Return the cycle figures of the repetitions' measurements (medians, samples kept)."""
    sizes = run.sizes

    def values(key: str) -> tuple[float, ...]:
        return tuple(result[key] for result in results)

    ratios = tuple(result["cold"] / result["baseline"] for result in results)
    steady_ratios = tuple(result["steady"] / result["steady_baseline"] for result in results)
    alone_ratios = tuple(result["alone"] / result["steady_baseline"] for result in results)
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
            note=f"{first['stories']:,.0f} stories stored, {first['alerts']:,.0f} of them "
            f"matched queries of {sizes.poll_users:,} users (fanned out at delivery)",
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
            note="fetch, match, store; the rest of the cycle is the parser workers",
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
            "steady cycle (each feed gained 1-2 items) / feedparser-alone baseline",
            median(steady_ratios),
            "x",
            at_most(0.25, "x"),
            f"{first['steady_parsed']:,.0f} entries parsed of "
            f"{sizes.feeds * sizes.items_per_feed:,}; baseline: feedparser on the same "
            f"{sizes.feeds} bodies in full, {median(values('steady_baseline')):.2f} s",
            steady_ratios,
        ),
        Figure(
            SCENARIO,
            "steady cycle",
            median(values("steady")),
            "s",
            note=f"{first['steady_stories']:,.0f} new stories, {first['steady_alerts']:,.0f} "
            "matched (stored with their queries; fanned out at delivery)",
            samples=values("steady"),
        ),
        Figure(
            SCENARIO,
            "steady cycle CPU: bot process (loop + SQLite thread)",
            median(values("steady_main_cpu")),
            "s",
            note="fetch, match, store",
            samples=values("steady_main_cpu"),
        ),
        Figure(
            SCENARIO,
            "steady cycle CPU: parser workers",
            median(values("steady_workers_cpu")),
            "s",
            note="scan, cut, parse the new items, clean, summarize, tokenize",
            samples=values("steady_workers_cpu"),
        ),
        Figure(
            SCENARIO,
            "steady cycle, nobody subscribed / feedparser-alone baseline",
            median(alone_ratios),
            "x",
            note="the same cycle with nobody subscribed (no matches); CPU: bot process "
            f"{median(values('alone_main_cpu')):.2f} s, parser workers "
            f"{median(values('alone_workers_cpu')):.2f} s",
            samples=alone_ratios,
        ),
        Figure(
            SCENARIO,
            "identical bodies (server ignores conditional GET)",
            median(values("identical")),
            "s",
            note="every feed answers 200 with its last body: fetched, recognised, not parsed",
            samples=values("identical"),
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


def fast_path_figures(run: Run, bodies: Sequence[bytes]) -> list[Figure]:
    """Return the share of feeds (and their entries) read by the fast path, not feedparser."""
    name = "fast path: corpus feeds parsed without feedparser"
    files = sorted(run.corpus_dir.glob("*.xml")) if run.corpus_dir.is_dir() else []
    if files:
        feeds, entries, total = _hits([path.read_bytes() for path in files], {})
        corpus = Figure(
            SCENARIO,
            name,
            100 * feeds / len(files),
            "%",
            note=f"{feeds} of {len(files)} feeds, {entries:,} of {total:,} entries "
            f"({run.corpus_dir}); the rest go to feedparser as before",
        )
    else:
        corpus = not_measured(SCENARIO, name, "%", None, f"no corpus in {run.corpus_dir}")
    feeds, entries, total = _hits(bodies, RSS_HEADERS)
    generated = Figure(
        SCENARIO,
        "fast path: cold-cycle bodies parsed without feedparser",
        100 * feeds / max(1, len(bodies)),
        "%",
        note=f"{feeds} of {len(bodies)} generated feeds, {entries:,} of {total:,} entries",
    )
    return [corpus, generated]


def _hits(bodies: Sequence[bytes], headers: dict[str, str]) -> tuple[int, int, int]:
    """Return how many bodies, and entries of them, the fast path reads; and all entries."""
    feeds = entries = total = 0
    for raw in bodies:
        body, parser_headers = parser_input(raw, headers)
        fast = fast_parse(body, parser_headers)
        if fast is not None:
            feeds += 1
            entries += len(fast["entries"])
            total += len(fast["entries"])
        else:
            total += _entry_count(body)
    return feeds, entries, total


def _entry_count(body: bytes) -> int:
    """Return how many items or entries feedparser finds in body."""
    import feedparser  # only for the few bodies the fast path leaves

    return len(feedparser.parse(body).entries)
