"""What every scenario shares: sizes per mode, figures and targets, timing, the table."""

from __future__ import annotations

import math
import operator
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Every bot component the suite starts needs PTB's timedelta retry_after (see tests/conftest).
os.environ.setdefault("PTB_TIMEDELTA", "1")

RESULTS_PATH = Path(__file__).with_name("results.json")
SMOKE_RESULTS_PATH = Path(__file__).with_name("results-smoke.json")
# The real-feed corpus: ../shared/corpus/feeds/real beside the checkout, or under
# $NEWSHOUND_CORPUS as for the tests (tests/corpus.py). A fresh clone has neither: the
# workload is then generated (bench/workload.py).
CORPUS_DIR = (
    Path(
        os.environ.get(
            "NEWSHOUND_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"
        )
    )
    / "real"
)
SEED = 20240501
DEFAULT_REPEAT = 3


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is; `full` is the issue's workload, `smoke` a quick check."""

    # 1. matching
    stories: int = 1_000
    users: int = 100_000
    subscriptions_per_user: int = 5
    vocabulary: int = 5_000
    phrases: int = 1_000
    baseline_users: int = 50
    story_words: int = 300
    # 2. poll cycle
    feeds: int = 500
    items_per_feed: int = 50
    # ~100 KB per 50-item feed, as the poll cycle asks.
    item_words: int = 220
    fresh_items_per_feed: int = 2
    poll_users: int = 1_000
    # 3. delivery
    alerts: int = 3_000
    one_chat_alerts: int = 20
    paid_rate: int = 300
    # 4. latency
    latency_items: int = 50
    latency_interval: int = 10
    latency_feeds: int = 20
    # 5. responsiveness
    list_requests: int = 200
    # 6. memory
    memory_users: int = 100_000
    memory_feeds: int = 500
    memory_stories: int = 100_000
    # 7. storage
    outbox_rows: int = 100_000
    # 8. multilingual: corpus feeds read for recall (all of them), uk/ru feeds per parse
    # cycle (without the corpus, generated ones)
    recall_feeds: int = 1_000
    morphology_feeds: int = 200
    generated_items_per_feed: int = 50
    generated_vocabulary: int = 20_000
    # 9. overload: chats, polls of a burst each, seconds between polls, the global cap
    overload_chats: int = 100_000
    overload_polls: int = 4
    overload_interval: int = 300
    overload_rate: int = 30
    # 10. dry run: a week of feeds x items a day
    dry_run_feeds: int = 500
    dry_run_items_per_day: int = 50
    dry_run_days: int = 7
    # 11. digest: chats in digest mode, and the stories each one's digest holds
    digest_chats: int = 1_000
    digest_stories: int = 50


FULL = Sizes()
SMOKE = Sizes(
    stories=30,
    users=400,
    vocabulary=400,
    phrases=50,
    baseline_users=10,
    feeds=6,
    items_per_feed=6,
    fresh_items_per_feed=1,
    poll_users=100,
    alerts=40,
    one_chat_alerts=4,
    latency_items=3,
    latency_interval=1,
    latency_feeds=3,
    list_requests=5,
    memory_users=1_000,
    memory_feeds=6,
    memory_stories=1_000,
    outbox_rows=2_000,
    recall_feeds=12,
    morphology_feeds=4,
    generated_items_per_feed=5,
    generated_vocabulary=1_000,
    overload_chats=2_000,
    overload_polls=2,
    overload_rate=1,
    dry_run_feeds=5,
    dry_run_items_per_day=4,
    digest_chats=20,
    digest_stories=6,
)


@dataclass(frozen=True)
class Target:
    """A bound a figure must meet: `<= 0.5 s`, `>= 1000 x`."""

    op: str
    bound: float
    unit: str

    def met(self, value: float) -> bool:
        """Tell whether value meets the bound."""
        compare: Callable[[float, float], bool] = operator.le if self.op == "<=" else operator.ge
        return math.isfinite(value) and compare(value, self.bound)

    def __str__(self) -> str:
        return f"{self.op} {_number(self.bound)} {self.unit}".rstrip()


def at_most(bound: float, unit: str) -> Target:
    """Return the target value <= bound."""
    return Target("<=", bound, unit)


def at_least(bound: float, unit: str) -> Target:
    """Return the target value >= bound."""
    return Target(">=", bound, unit)


@dataclass(frozen=True)
class Figure:
    """One measured number, its target (None for context figures) and how it was measured.

    A figure the run could not measure (its input is absent, as the real corpus in a plain
    clone) says so: measured False, value NaN (null in results.json), pass None, and the
    note says why (see not_measured).
    """

    scenario: str
    name: str
    value: float
    unit: str
    target: Target | None = None
    note: str = ""
    samples: tuple[float, ...] = ()
    measured: bool = True

    def passed(self, smoke: bool) -> bool | None:
        """Return whether the target is met; None in smoke mode, without a target or value."""
        if smoke or self.target is None or not self.measured:
            return None
        return self.target.met(self.value)

    def as_json(self, smoke: bool) -> dict[str, Any]:
        """Return the figure as results.json stores it."""
        return {
            "scenario": self.scenario,
            "name": self.name,
            "value": self.value if math.isfinite(self.value) else None,
            "unit": self.unit,
            "target": str(self.target) if self.target else None,
            "pass": self.passed(smoke),
            "measured": self.measured,
            "note": self.note,
            "samples": list(self.samples),
        }


def not_measured(scenario: str, name: str, unit: str, target: Target | None, why: str) -> Figure:
    """Return a figure this run could not measure, and why (no value, no verdict)."""
    return Figure(scenario, name, math.nan, unit, target, f"not measured: {why}", measured=False)


@dataclass
class Run:
    """What a scenario is given: sizes, repetitions, a scratch directory, a log."""

    sizes: Sizes
    smoke: bool
    repeat: int
    workdir: Path
    log: Callable[[str], None] = print
    cache: dict[str, Any] = field(default_factory=dict)
    corpus_dir: Path = CORPUS_DIR
    # Which corpus the workload came from (kind, source, size), once a scenario built it.
    corpus: dict[str, object] | None = None

    def scratch(self, name: str) -> Path:
        """Return a fresh subdirectory of the scratch directory."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def median(values: Sequence[float]) -> float:
    """Return the median, or NaN for no values."""
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile (0 < fraction <= 1), or NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return float(ordered[rank - 1])


class Stopwatch:
    """Time a block with perf_counter: `with Stopwatch() as watch: ...; watch.seconds`."""

    def __init__(self) -> None:
        self.started = 0.0
        self.seconds = math.nan

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    memory_kb = 0
    cpu_model = platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_mb": memory_kb // 1024,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.01:
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def format_value(value: float, unit: str) -> str:
    """Return value and unit for the table."""
    return f"{_number(value)} {unit}".rstrip()


def table(figures: Sequence[Figure], smoke: bool) -> str:
    """Return the figures as a plain-text table, with a verdict and the miss per target."""
    header = ("scenario", "figure", "value", "target", "result")
    rows = [header]
    for figure in figures:
        verdict = ""
        passed = figure.passed(smoke)
        if not figure.measured:
            verdict = "not measured"
        elif passed is True:
            verdict = "pass"
        elif passed is False:
            verdict = "MISS " + _miss(figure)
        rows.append(
            (
                figure.scenario,
                figure.name,
                format_value(figure.value, figure.unit),
                str(figure.target) if figure.target else "",
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _miss(figure: Figure) -> str:
    """Say by how much a figure misses its target: `(2.3x over)`, `(41% short)`."""
    target = figure.target
    if target is None or not math.isfinite(figure.value):
        return ""
    if target.op == "<=":
        if target.bound == 0:
            return f"(+{_number(figure.value)})"
        return f"({figure.value / target.bound:.2g}x the bound)"
    if target.bound == 0:
        return ""
    return f"({(1 - figure.value / target.bound) * 100:.0f}% short)"
