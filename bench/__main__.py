"""Run the benchmark suite: `python -m bench [--smoke] [--only NAME ...] [--repeat N]`."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import math
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    delivery,
    digest,
    dryrun,
    latency,
    matching,
    memory,
    multilingual,
    overload,
    poll_cycle,
    responsiveness,
    storage,
)
from bench.common import (
    CORPUS_DIR,
    DEFAULT_REPEAT,
    FULL,
    RESULTS_PATH,
    SMOKE,
    SMOKE_RESULTS_PATH,
    Figure,
    Run,
    machine,
    table,
)
from bench.harness import quiet_logging

ROOT = Path(__file__).resolve().parents[1]
Scenario = Callable[[Run], list[Figure] | Awaitable[list[Figure]]]
SCENARIOS: dict[str, Scenario] = {
    "matching": matching.run,
    "poll": poll_cycle.run,
    "delivery": delivery.run,
    "latency": latency.run,
    "responsiveness": responsiveness.run,
    "memory": memory.run,
    "storage": storage.run,
    "multilingual": multilingual.run,
    "overload": overload.run,
    "dryrun": dryrun.run,
    "digest": digest.run,
}


def code_version() -> dict[str, object]:
    """Return the commit measured and the files changed since it (results mean that code)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout

    # Porcelain lines are "XY path": two status letters, a space, the path.
    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line]
    return {"commit": git("rev-parse", "HEAD").strip(), "changed_files": changed}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, no targets (what CI runs)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(SCENARIOS),
        metavar="NAME",
        help=f"run only these scenarios: {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help=f"repetitions per figure (median reported; default {DEFAULT_REPEAT}, smoke 1)",
    )
    parser.add_argument("--output", type=Path, help="where to write the results JSON")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=CORPUS_DIR,
        metavar="DIR",
        help=f"real feeds (*.xml) to build the workload from (default {CORPUS_DIR}); "
        "without any, the workload is generated",
    )
    return parser.parse_args(argv)


def run_scenario(scenario: Scenario, run: Run) -> list[Figure]:
    """Run one scenario, in its own event loop if it is async."""
    result = scenario(run)
    if inspect.isawaitable(result):
        return asyncio.run(_awaited(result))
    return result


async def _awaited(result: Awaitable[list[Figure]]) -> list[Figure]:
    return await result


def corpus_line(corpus: dict[str, object] | None) -> str:
    """Say which corpus the figures come from, for the line under the table."""
    if corpus is None:
        return "none (no scenario run needed one)"
    return f"{corpus['kind']}, {corpus['source']}, {corpus['words']:,} words"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen scenarios, print the table, write the results; 1 if one crashed."""
    args = parse_args(argv)
    quiet_logging()
    smoke = bool(args.smoke)
    repeat = args.repeat or (1 if smoke else DEFAULT_REPEAT)
    names = [name for name in SCENARIOS if not args.only or name in args.only]
    output: Path = args.output or (SMOKE_RESULTS_PATH if smoke else RESULTS_PATH)
    figures: list[Figure] = []
    failed: list[str] = []
    started = time.monotonic()
    durations: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="newshound-bench-") as workdir:
        run = Run(
            sizes=SMOKE if smoke else FULL,
            smoke=smoke,
            repeat=repeat,
            workdir=Path(workdir),
            log=lambda text: print(text, flush=True),
            corpus_dir=args.corpus,
        )
        for name in names:
            print(f"== {name}", flush=True)
            begun = time.monotonic()
            try:
                found = run_scenario(SCENARIOS[name], run)
            except Exception:
                traceback.print_exc()
                failed.append(name)
                found = [Figure(name, "scenario failed", math.nan, "", note="see the log")]
            durations[name] = time.monotonic() - begun
            print(f"   {durations[name]:.1f} s", flush=True)
            figures += found
    elapsed = time.monotonic() - started
    print()
    print(table(figures, smoke))
    print(f"\ncorpus: {corpus_line(run.corpus)}")
    print(
        f"\n{len(figures)} figures from {len(names)} scenarios in {elapsed:.0f} s "
        f"({'smoke' if smoke else 'full'} mode, {repeat} repetition(s)); wrote {output}"
    )
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": code_version(),
        "mode": "smoke" if smoke else "full",
        "repeat": repeat,
        "duration_seconds": round(elapsed, 1),
        "scenario_seconds": {name: round(seconds, 1) for name, seconds in durations.items()},
        "corpus": run.corpus,
        "figures": [figure.as_json(smoke) for figure in figures],
    }
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    temporary.replace(output)
    if failed:
        print(f"scenarios that crashed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


# Guarded: the parser pool and the servers' child processes import __main__ again.
if __name__ == "__main__":
    sys.exit(main())
