"""Scenario 8, part 2: what Ukrainian/Russian morphology costs the parse cycle.

Workload: morphology_feeds uk/ru feed bodies. With the corpus: its feeds whose stories
prepare_feed takes as uk or ru, copied round-robin, each copy's guids and links made
distinct. Without it: feeds generated from real word forms of pymorphy3's dictionaries
(bench/ukru_words.py), Zipf-distributed with a fixed seed.

Cost: every feed is prepared (prepare_feed, every entry's text analysed as when all are new)
in FeedParserPool workers, the real path (forkserver, dictionaries preloaded), once with
morphology and once without (prepare_feed(morphology=False): no lemma keys), each way in a
fresh pool: a first pass (cold memo, as after a restart), then a second pass on the same
workers (warm memo, the steady state). Both pools are up at once and the two ways' cold
passes run back to back, then their warm passes, alternating which way goes first between
repetitions, so that other load on the machine falls on both alike. Each worker's memory is
read after its two passes (bench/parser_memory.py).
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import Figure, Run, Stopwatch, at_most, median, not_measured
from bench.harness import cpu_seconds
from bench.parser_memory import bot_load_kib, memory_figures, smaps_kib
from bench.poll_cycle import warm_up
from bench.ukru_words import generated_feeds
from bot.ingest.pool import DEFAULT_PARSER_WORKERS, FeedParserPool
from bot.ingest.prepare import TextFor, prepare_feed
from bot.text.language import MORPHOLOGY_LANGUAGES

SCENARIO = "8 multilingual"
TARGET_RATIO = 1.25
GENERATED_DISTINCT_FEEDS = 8
CPU_FIGURE = "parser CPU with / without morphology, cold memo"
_GUID_START = re.compile(rb"(<guid\b[^>]*>\s*(?:<!\[CDATA\[)?\s*)")
_LINK_END = re.compile(rb"(\s*(?:\]\]>)?\s*</link>)")


def replica(body: bytes, number: int) -> bytes:
    """Return a copy of a feed whose entries have other guids and links (0: the feed)."""
    if number == 0:
        return body
    mark = b"r%d" % number
    body = _GUID_START.sub(lambda match: match.group(1) + mark + b"-", body)
    return _LINK_END.sub(lambda match: b"-" + mark + match.group(1), body)


def corpus_feeds(files: Sequence[Path], count: int) -> list[bytes]:
    """Return count feeds: the uk/ru corpus feeds, copied round-robin."""
    bodies = [path.read_bytes() for path in files]
    return [replica(bodies[n % len(bodies)], n // len(bodies)) for n in range(count)]


@dataclass(frozen=True)
class Pass:
    """One pass over every feed: wall time, the workers' CPU time, what came out."""

    seconds: float
    cpu: float
    stories: int
    ukru: int  # stories taken as uk or ru
    lemma_keys: int


@dataclass(frozen=True)
class Way:
    """A fresh pool's cold and warm passes, and its workers' memory after them (KiB)."""

    cold: Pass
    warm: Pass
    memory: tuple[dict[str, int], ...]


# One repetition: each way (with morphology: True) and what it measured.
Results = dict[bool, Way]


async def one_pass(
    parsers: FeedParserPool, workers: Sequence[int], *, bodies: Sequence[bytes], morphology: bool
) -> Pass:
    """Prepare every feed once, all feeds queued at once as a poll cycle does."""
    now = time.time()
    cpu_before = sum(cpu_seconds(pid) for pid in workers)
    with Stopwatch() as watch:
        prepared = await asyncio.gather(
            *(
                parsers.run(
                    prepare_feed,
                    number,
                    body,
                    {},
                    f"https://feeds.example/{number}.xml",
                    now,
                    TextFor.ALL,
                    morphology=morphology,
                )
                for number, body in enumerate(bodies)
            )
        )
    cpu = sum(cpu_seconds(pid) for pid in workers) - cpu_before
    stories = [story.analyzed for feed in prepared for story in feed.stories]
    return Pass(
        seconds=watch.seconds,
        cpu=cpu,
        stories=len(stories),
        ukru=sum(story.language in MORPHOLOGY_LANGUAGES for story in stories),
        lemma_keys=sum(len(story.extra) for story in stories),
    )


async def start_pool() -> tuple[FeedParserPool, list[int]]:
    """Start a fresh pool (new workers: an empty memo); return it and its workers' ids."""
    before = {child.pid for child in multiprocessing.active_children()}
    parsers = FeedParserPool(DEFAULT_PARSER_WORKERS)
    await warm_up(parsers, DEFAULT_PARSER_WORKERS)
    workers = [
        child.pid
        for child in multiprocessing.active_children()
        if child.pid is not None and child.pid not in before
    ]
    if len(workers) != DEFAULT_PARSER_WORKERS:
        parsers.close()
        raise RuntimeError(f"expected {DEFAULT_PARSER_WORKERS} parser workers: {workers}")
    return parsers, workers


async def one_repetition(bodies: Sequence[bytes], ways: tuple[bool, bool]) -> Results:
    """Run both ways, each in a fresh pool: both cold passes back to back, then both warm.

    Back to back, so that a burst of other load on the machine lands on both ways alike.
    """
    pools: dict[bool, tuple[FeedParserPool, list[int]]] = {}
    try:
        for morphology in ways:
            pools[morphology] = await start_pool()
        cold = {m: await one_pass(*pools[m], bodies=bodies, morphology=m) for m in ways}
        warm = {m: await one_pass(*pools[m], bodies=bodies, morphology=m) for m in ways}
        memory = {m: tuple(smaps_kib(pid) for pid in pools[m][1]) for m in ways}
    finally:
        for parsers, _ in pools.values():
            parsers.close()
    for morphology in ways:
        if morphology != bool(cold[morphology].lemma_keys):
            raise RuntimeError(f"morphology={morphology}: {cold[morphology].lemma_keys} lemma keys")
    return {m: Way(cold[m], warm[m], memory[m]) for m in ways}


def _workload(run: Run, uk_ru_files: Sequence[Path]) -> tuple[list[bytes], str]:
    count = run.sizes.morphology_feeds
    if uk_ru_files:
        names = ", ".join(path.name for path in uk_ru_files)
        return corpus_feeds(uk_ru_files, count), f"the corpus's uk/ru feeds ({names}), copied"
    bodies, description = generated_feeds(
        count, run.sizes.generated_items_per_feed, run.sizes.generated_vocabulary
    )
    if run.corpus is None:
        run.corpus = description
    return bodies, f"generated: {description['source']}"


async def run(run: Run, uk_ru_files: Sequence[Path]) -> list[Figure]:
    """Measure the parse cycle with and without morphology, and the memory it takes."""
    bodies, source = await asyncio.to_thread(_workload, run, uk_ru_files)
    # The distinct feeds alone (the corpus's own, not its copies): every story new.
    distinct = bodies[: len(uk_ru_files) or GENERATED_DISTINCT_FEEDS]
    results: list[Results] = []
    first_sight: list[Results] = []
    for number in range(run.repeat):
        ways = (True, False) if number % 2 == 0 else (False, True)
        first_sight.append(await one_repetition(distinct, ways))
        measured = await one_repetition(bodies, ways)
        results.append(measured)
        run.log(
            f"  repetition {number + 1}: "
            + "; ".join(
                f"{'with' if morphology else 'without'} morphology: cold {way.cold.seconds:.2f} s"
                f" ({way.cold.cpu:.1f} s CPU), warm {way.warm.seconds:.2f} s"
                f" ({way.warm.cpu:.1f} s CPU)"
                for morphology, way in measured.items()
            )
        )
    loaded = await asyncio.to_thread(bot_load_kib)
    with_morphology = [worker for result in results for worker in result[True].memory]
    without = [worker for result in results for worker in result[False].memory]
    figures = cost_figures(results, len(bodies), source)
    figures.append(first_sight_figure(first_sight, len(distinct)))
    return figures + memory_figures(with_morphology, without, loaded)


def _passes(results: Sequence[Results], morphology: bool, cold: bool) -> list[Pass]:
    return [result[morphology].cold if cold else result[morphology].warm for result in results]


def _seconds(passes: Sequence[Pass]) -> tuple[float, ...]:
    return tuple(one.seconds for one in passes)


def _ratios(with_: Sequence[Pass], without: Sequence[Pass], cpu: bool = False) -> tuple[float, ...]:
    # CPU time counts in clock ticks (10 ms): a tiny smoke pass may show none, on either side.
    return tuple(
        (w.cpu / wo.cpu if w.cpu > 0 and wo.cpu > 0 else math.nan)
        if cpu
        else w.seconds / wo.seconds
        for w, wo in zip(with_, without, strict=True)
    )


def cost_figures(results: Sequence[Results], feeds: int, source: str) -> list[Figure]:
    """Return the with/without ratios (the cold one carries the target) and the times."""
    cold_with, cold_without = _passes(results, True, True), _passes(results, False, True)
    warm_with, warm_without = _passes(results, True, False), _passes(results, False, False)
    first = cold_with[0]
    workload = (
        f"{feeds} feeds, {first.stories:,} stories ({first.ukru:,} uk/ru, "
        f"{first.lemma_keys:,} lemma keys) from {source}; "
        f"{DEFAULT_PARSER_WORKERS} workers, a fresh pool each way"
    )
    cold_ratios = _ratios(cold_with, cold_without)
    warm_ratios = _ratios(warm_with, warm_without)
    cpu_ratios = _ratios(cold_with, cold_without, cpu=True)
    return [
        Figure(
            SCENARIO,
            "parse cycle with / without morphology, cold memo",
            median(cold_ratios),
            "x",
            at_most(TARGET_RATIO, "x"),
            f"{median(_seconds(cold_with)):.2f} s vs {median(_seconds(cold_without)):.2f} s; "
            f"{workload}. The target is on the cold cycle: after a restart every word is "
            "looked up, the dearest cycle morphology makes",
            cold_ratios,
        ),
        Figure(
            SCENARIO,
            "parse cycle with / without morphology, warm memo",
            median(warm_ratios),
            "x",
            note=f"{median(_seconds(warm_with)):.2f} s vs {median(_seconds(warm_without)):.2f} s:"
            " the second pass on the same workers (the steady state)",
            samples=warm_ratios,
        ),
        Figure(
            SCENARIO,
            CPU_FIGURE,
            median(cpu_ratios),
            "x",
            note="the workers' CPU seconds, less exposed to a busy machine than wall time",
            samples=cpu_ratios,
        )
        if all(map(math.isfinite, cpu_ratios))
        else not_measured(SCENARIO, CPU_FIGURE, "x", None, "too short for the CPU clock"),
        Figure(
            SCENARIO,
            "parse cycle with morphology, cold memo",
            median(_seconds(cold_with)),
            "s",
            samples=_seconds(cold_with),
        ),
        Figure(
            SCENARIO,
            "parse cycle without morphology, cold memo",
            median(_seconds(cold_without)),
            "s",
            samples=_seconds(cold_without),
        ),
    ]


def first_sight_figure(results: Sequence[Results], feeds: int) -> Figure:
    """Return the CPU ratio with/without morphology on stories none of which repeats."""
    with_, without = _passes(results, True, True), _passes(results, False, True)
    ratios = _ratios(with_, without, cpu=True)
    name = "parser CPU with / without morphology, every story new"
    if not all(map(math.isfinite, ratios)):
        return not_measured(SCENARIO, name, "x", None, "too short for the CPU clock")
    return Figure(
        SCENARIO,
        name,
        median(ratios),
        "x",
        note=f"the first {feeds} feeds alone ({with_[0].stories:,} stories, none repeated), "
        "fresh pools: every word looked up for the first time. The copies of the 200-feed "
        "cycle repeat these stories, so its memo is warm after the first copy of each",
        samples=ratios,
    )
