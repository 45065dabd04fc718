"""Scenario 8, part 3: the memory morphology takes, in the parser workers and the bot.

Each parser worker's RSS and PSS (/proc/<pid>/smaps_rollup) after its cold and warm passes
(bench/morphology_cost.py): PSS counts the pages the workers share with their forkserver
(the dictionaries it preloaded) once among them. And how much the bot process's RSS grows
when it loads the alias table, and with it both dictionaries
(bot.matching.expand.shipped_aliases): measured in a fresh interpreter that has imported
what the bot imports, so nothing loaded by earlier scenarios is counted or hidden.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.common import Figure, median

SCENARIO = "8 multilingual"
ROOT = Path(__file__).resolve().parents[1]
KIB_PER_MB = 1024
# Prints the RSS (KiB) of a fresh interpreter before and after loading the aliases.
_LOAD_SCRIPT = """
import json, re
import bot.app
from bot.matching.expand import shipped_aliases
def rss():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmRSS:\\s+(\\d+)", status).group(1))
before = rss()
shipped_aliases()
print(json.dumps({"before": before, "after": rss()}))
"""


def smaps_kib(pid: int) -> dict[str, int]:
    """Return a process's Rss and Pss in KiB, from /proc/<pid>/smaps_rollup."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0])
    return values


def bot_load_kib() -> dict[str, int]:
    """Return a fresh bot interpreter's RSS before and after loading the aliases."""
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    loaded: dict[str, int] = json.loads(done.stdout)
    return loaded


def memory_figures(
    with_morphology: Sequence[dict[str, int]],
    without: Sequence[dict[str, int]],
    loaded: dict[str, int],
) -> list[Figure]:
    """Return the workers' RSS and PSS (each worker of each repetition), the bot's growth."""
    figures: list[Figure] = []
    for key in ("Rss", "Pss"):
        values = tuple(worker[key] / KIB_PER_MB for worker in with_morphology)
        plain = median([worker[key] / KIB_PER_MB for worker in without])
        figures.append(
            Figure(
                SCENARIO,
                f"parser worker {key.upper()} after the cycle",
                median(values),
                "MB",
                note="each worker after its cold and warm passes with morphology: "
                f"{', '.join(f'{value:.0f}' for value in values)} MB; "
                f"without morphology {plain:.0f} MB",
                samples=values,
            )
        )
    before, after = loaded["before"] / KIB_PER_MB, loaded["after"] / KIB_PER_MB
    figures.append(
        Figure(
            SCENARIO,
            "bot process RSS added by the aliases and dictionaries",
            after - before,
            "MB",
            note=f"a fresh interpreter with bot.app imported: {before:.0f} MB, "
            f"{after:.0f} MB after shipped_aliases()",
        )
    )
    return figures
