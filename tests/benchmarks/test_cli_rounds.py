"""benchmarks/cli_rounds.py: ratios taken within each round, moved verdicts named, and one small run end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "cli_rounds.py"


@pytest.fixture(scope="module")
def rounds(load_script: Callable[[str], ModuleType]) -> ModuleType:
    return load_script("cli_rounds")


def test_ratios_are_taken_within_each_round(rounds: ModuleType) -> None:
    """Round 2 is slow for every command: its ratios are those of its own runs, not of medians from other rounds."""
    runs = {"torch --jobs 1": [10.0, 40.0], "jax --jobs 1": [50.0, 80.0], "torch --jobs 2": [5.0, 25.0]}
    runs["jax --jobs 2"] = [25.0, 50.0]
    ratios = rounds.round_ratios(runs, ["torch", "jax"], [1, 2])
    assert ratios == {
        "torch --jobs 1 / --jobs 2": [2.0, 1.6],
        "jax / torch, --jobs 1": [5.0, 2.0],
        "jax --jobs 1 / --jobs 2": [2.0, 1.6],
    }


def test_changed_rows_names_a_moved_status_count_or_missing_row(rounds: ModuleType) -> None:
    base = {"a": ("pass", 25), "b": ("fail", 7), "c": ("pass", 25)}
    rows = {"a": ("pass", 25), "b": ("fail", 9), "d": ("pass", 25)}
    assert rounds.changed_rows(base, rows) == ["b", "c", "d"]
    assert rounds.changed_rows(base, dict(base)) == []


def test_a_small_run_reports_each_command_and_no_moved_verdict(tmp_path: Path) -> None:
    out = tmp_path / "rounds.json"
    cmd = [sys.executable, str(PATH), "--frameworks", "reference", "--jobs", "1", "--repeat", "2", "--terms", "relu"]
    subprocess.run([*cmd, "--json", str(out)], check=True, capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    assert len(result["runs_s"]["reference --jobs 1"]) == 2
    assert all(t > 0 for t in result["runs_s"]["reference --jobs 1"])
    assert result["verdicts_moved"] == []
    assert result["ratios_per_round"] == {}


def test_bad_jobs_are_refused_with_the_value() -> None:
    proc = subprocess.run([sys.executable, str(PATH), "--jobs", "1,x"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--jobs '1,x': expected comma-separated positive integers" in proc.stderr
