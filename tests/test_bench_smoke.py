"""The benchmark suite runs end to end in smoke mode, so it cannot rot unnoticed."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "1 matching",
    "2 poll cycle",
    "3 delivery",
    "4 latency",
    "5 responsiveness",
    "6 memory",
    "7 storage",
}
TIMEOUT_SECONDS = 120


@pytest.mark.slow
def test_every_scenario_reports_finite_figures_in_smoke_mode(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["mode"] == "smoke"
    figures = results["figures"]
    assert {figure["scenario"] for figure in figures} == SCENARIOS
    for figure in figures:
        assert isinstance(figure["value"], int | float), figure
        assert math.isfinite(figure["value"]), figure
        assert figure["unit"], figure
        assert figure["pass"] is None, "smoke mode enforces no target"
    with_targets = [figure for figure in figures if figure["target"]]
    assert len(with_targets) >= len(SCENARIOS)
    assert "scenario" in finished.stdout and "figure" in finished.stdout, "the table is printed"
