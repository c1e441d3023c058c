"""One run loop with one set of defaults: the CLI, the --jobs workers and the pytest plugin share them."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dlterms.conformance import load_backend
from dlterms.conformance import pytest_plugin as plugin
from dlterms.conformance.limits import CheckTimeout, TimeLimit
from dlterms.conformance.registry import INVARIANTS
from dlterms.conformance.runner import RunSettings, plan, run_checks, run_one
from dlterms.conformance.session import Request, prepare
from dlterms.conformance.settings import (
    DEEP_MAX_EXAMPLES,
    DEFAULT_DTYPES,
    DEFAULT_JOBS,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_TIMEOUT_S,
)

from dlterms.cli import build_parser


def test_cli_run_uses_the_declared_defaults() -> None:
    """`dlterms conform` with no options runs with the defaults of dlterms.conformance.settings."""
    args = build_parser().parse_args(["conform", "--backend", "reference"])
    session = prepare(Request(backend=args.backend, seed=args.seed, timeout_s=args.timeout, jobs=args.jobs))
    assert session.run_settings == RunSettings(DEFAULT_MAX_EXAMPLES, DEFAULT_SEED, DEFAULT_TIMEOUT_S)
    assert args.jobs == DEFAULT_JOBS == Request().jobs
    assert session.settings["dtypes"] == list(DEFAULT_DTYPES)


class _Options:
    """Records what pytest_addoption declares."""

    def __init__(self) -> None:
        self.defaults: dict[str, Any] = {}

    def getgroup(self, *args: Any) -> _Options:
        return self

    def addoption(self, name: str, **kwargs: Any) -> None:
        self.defaults[name] = kwargs.get("default")


def test_pytest_plugin_uses_the_declared_defaults() -> None:
    """The plugin's options default to the same dtypes, examples, seed and time limit as the CLI."""
    options = _Options()
    plugin.pytest_addoption(options)  # type: ignore[arg-type]
    assert options.defaults["--dlterms-dtype"].split(",") == list(DEFAULT_DTYPES)
    assert options.defaults["--dlterms-max-examples"] == DEFAULT_MAX_EXAMPLES
    assert options.defaults["--dlterms-seed"] == DEFAULT_SEED
    assert options.defaults["--dlterms-timeout"] == DEFAULT_TIMEOUT_S


def test_run_checks_yields_one_row_per_check_in_order_with_xfail_applied() -> None:
    """The run loop gives a row per check in the given order; a listed check that passes is an xpass."""
    checks = plan(["relu"], ["float64"])
    xfail = {checks[0].invariant.id: "listed on purpose"}
    rows = list(run_checks(load_backend("reference"), checks, RunSettings(max_examples=3), xfail=xfail))
    assert [r.key for r in rows] == [c.key for c in checks]
    assert rows[0].status == "xpass" and {r.status for r in rows[1:]} == {"pass"}


@pytest.mark.parametrize(("field", "value"), [("max_examples", 0), ("timeout_s", -1.0)])
def test_run_settings_refuse_bad_values(field: str, value: Any) -> None:
    """RunSettings names the setting and the value it refuses."""
    with pytest.raises(ValueError, match=re.escape(f"{field}={value!r}")):
        RunSettings(**{field: value})


def test_time_limit_raises_check_timeout() -> None:
    """Work that runs past the limit is stopped with CheckTimeout naming the limit."""
    with pytest.raises(CheckTimeout, match=r"0\.05 s"), TimeLimit(0.05):
        while True:
            pass


def test_conform_how_to_states_the_declared_defaults() -> None:
    """docs/how-to/conform.md gives the same defaults for examples, --deep, seed, time limit and dtypes."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "how-to" / "conform.md").read_text(encoding="utf-8")
    assert f"examples per check (default {DEFAULT_MAX_EXAMPLES})" in page
    assert f"a nightly run: {DEEP_MAX_EXAMPLES} examples per check" in page
    assert f"Hypothesis seed (default {DEFAULT_SEED})" in page
    assert f"time limit per check (default {DEFAULT_TIMEOUT_S:g})" in page
    assert f"(default: `{','.join(DEFAULT_DTYPES)}`" in page
    assert f"(default `{DEFAULT_JOBS}`: one per CPU core the process may use" in page


def test_an_op_declared_in_some_dtypes_only_is_unsupported_in_the_others(conform: Any, broken_backend: Any) -> None:
    """An adapter whose op_dtypes gives relu in float32 only gets unsupported, not error, relu rows in float64."""
    run = conform(broken_backend("numpy", op_dtypes={"relu": ("float32",)}), "--terms", "relu", "--max-examples", "3")
    relu64 = [r for r in run.rows() if r["dtype"] == "float64" and "relu" in r["invariant"]]
    assert relu64 and {r["status"] for r in relu64} == {"unsupported"}
    assert relu64[0]["message"] == "backend has relu in float32 only, not float64"
    relu32 = [r for r in run.rows() if r["dtype"] == "float32"]
    assert "pass" in {r["status"] for r in relu32} and not any("only" in r["message"] for r in relu32)


def test_shrinking_is_bounded_for_one_check_and_restored_after() -> None:
    """bounded_shrinking sets Hypothesis' shrink-step limit to MAX_SHRINK_STEPS and puts the old one back."""
    from dlterms.conformance.runner import bounded_shrinking
    from dlterms.conformance.settings import MAX_SHRINK_STEPS
    from hypothesis.internal.conjecture import engine

    before = engine.MAX_SHRINKS
    with bounded_shrinking():
        assert engine.MAX_SHRINKS == MAX_SHRINK_STEPS == 50
    assert before == engine.MAX_SHRINKS


def test_a_failure_whose_shrinking_runs_out_of_time_stays_a_failure(broken_backend: Any) -> None:
    """A check that failed is a fail row even when the time limit ends its shrinking: the last failing case tried,
    the violation's message, and a note that shrinking stopped. Before it failed, a timeout is an error row."""
    failed: list[bool] = []

    def wrong_relu(x: Any) -> Any:
        """Wrong where an element is >= 1; slow (0.5 s a call) once it has been wrong, so shrinking runs out of time."""
        if failed:
            time.sleep(0.5)
        x = np.asarray(x)
        if np.any(x >= 1.0):
            failed.append(True)
        return np.where(x >= 1.0, x + 1.0, np.maximum(x, 0.0))

    def slow_right_relu(x: Any) -> Any:
        time.sleep(0.3)
        return np.maximum(np.asarray(x), 0.0)

    inv = INVARIANTS["relu.matches_reference"]
    row = run_one(load_backend(broken_backend("numpy", relu=wrong_relu)), inv, "float64", timeout_s=1.0)
    assert row.status == "fail", row.message
    assert row.message.startswith("relu:") and row.counterexample is not None
    assert row.details["shrinking"].startswith("stopped: ran past its time limit of 1 s")
    slow = run_one(load_backend(broken_backend("numpy", relu=slow_right_relu)), inv, "float64", timeout_s=1.0)
    assert slow.status == "error" and slow.message == "timeout: ran past its time limit of 1 s"
