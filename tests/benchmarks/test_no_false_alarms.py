"""benchmarks/no_false_alarms.py: documented defects are listed apart from alarms, and reports can be read back."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from dlterms.conformance.known_defects import DEFAULT_RUN_CRASHES, DEFAULT_RUN_DEFECTS

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "no_false_alarms.py"
DOCUMENTED = "gelu.matches_reference[float64]"


def _row(check_id: str, status: str) -> dict[str, object]:
    return {"id": check_id, "status": status, "message": f"{status} message", "counterexample": None}


@pytest.fixture(scope="module")
def alarms(load_script: Callable[[str], ModuleType]) -> ModuleType:
    return load_script("no_false_alarms")


def test_a_documented_failure_is_not_an_alarm_but_anything_else_is(alarms: ModuleType) -> None:
    """A documented defect's failure is listed apart; its error, an undocumented failure or error is an alarm."""
    assert DOCUMENTED in DEFAULT_RUN_DEFECTS["jax"]
    rows = [
        _row("relu.monotone[float32]", "pass"),
        _row(DOCUMENTED, "fail"),
        _row("gelu.vjp_matches_reference[float32]", "error"),
        _row("softmax.sums_to_one[float64]", "fail"),
        _row("relu.special_values[float64]", "unsupported"),
    ]
    new, met = alarms.classify(4, rows, "jax")
    assert [(a["seed"], a["id"]) for a in new] == [
        (4, "gelu.vjp_matches_reference[float32]"),
        (4, "softmax.sums_to_one[float64]"),
    ]
    assert [(m["seed"], m["id"]) for m in met] == [(4, DOCUMENTED)]


def _crash(check_id: str, said: str | None) -> dict[str, object]:
    crash: dict[str, object] = {"exit_code": -6, "signal": "SIGABRT"} | ({"message": said} if said else {})
    return {**_row(check_id, "error"), "details": {"crash": crash, "traceback": ""}}


def test_a_documented_crash_is_its_op_dying_with_its_words(alarms: ModuleType) -> None:
    """XLA's conv_transpose2d abort is documented where a check of that op crashed printing the declared words;
    the same op failing, crashing with other words or without any, or another op crashing so, is an alarm."""
    words = DEFAULT_RUN_CRASHES["jax"]["conv_transpose2d"]
    said = f"algebraic_simplifier.cc:586] Check failed: computation->Accept(this) is OK (INVALID_ARGUMENT: {words}:"
    rows = [
        _crash("conv_transpose2d.linear_in_input[float64]", said),
        _crash("conv_transpose2d.adjoint_of_conv2d[float32]", "Check failed: something else"),
        _crash("conv_transpose2d.output_shape[float64]", None),
        _row("conv_transpose2d.matches_reference[float64]", "fail"),
        _crash("conv2d.linear_in_input[float64]", said),
    ]
    new, met = alarms.classify(10, rows, "jax")
    assert [m["id"] for m in met] == ["conv_transpose2d.linear_in_input[float64]"]
    assert [a["id"] for a in new] == [r["id"] for r in rows[1:]]
    torch_alarms, torch_met = alarms.classify(10, rows[:1], "torch")  # documented for JAX only
    assert [a["id"] for a in torch_alarms] == ["conv_transpose2d.linear_in_input[float64]"] and not torch_met


def test_reports_written_before_are_summarised_and_an_alarm_fails_the_run(tmp_path: Path) -> None:
    """--reports reads <backend>-<seed>.json: seed 1 meets a documented defect only, seed 2 raises an alarm."""
    for seed, rows in ((1, [_row(DOCUMENTED, "fail")]), (2, [_row("softmax.sums_to_one[float64]", "fail")])):
        (tmp_path / f"jax-{seed}.json").write_text(json.dumps({"results": rows}))
    out = tmp_path / "summary.json"
    run = subprocess.run(
        [sys.executable, str(PATH), "--backends", "jax", "--seeds", "2", "--reports", str(tmp_path), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    summary = json.loads(out.read_text())["jax"]
    assert summary["checks"] == 2
    assert [(a["seed"], a["id"]) for a in summary["alarms"]] == [(2, "softmax.sums_to_one[float64]")]
    assert [(d["seed"], d["id"]) for d in summary["documented"]] == [(1, DOCUMENTED)]
    assert "1 alarms, 1 documented" in run.stdout
