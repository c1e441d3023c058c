"""benchmarks/framework_profile.py: its timers, its stand-in adapter and its per-round ratios, on the reference."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="module")
def profile(load_script: Callable[[str], ModuleType]) -> ModuleType:
    return load_script("framework_profile")


def test_timer_counts_outermost_calls_only(profile: ModuleType) -> None:
    """A timed function that calls another timed function is counted once, for its own duration."""
    timer = profile.Timer()
    inner = timer.wrap(lambda: time.sleep(0.02))
    outer = timer.wrap(lambda: (inner(), inner()))
    outer()
    assert timer.calls == 1
    assert 0.04 <= timer.seconds < 0.5


def test_stand_in_adapter_times_ops_and_records_signatures(profile: ModuleType) -> None:
    """Ops go through the timer and record (op, shapes, dtypes); each wrapper is made once; other names pass through."""
    import numpy as np

    class Adapter:
        name = "fake"

        def relu(self, x: Any) -> Any:
            return np.maximum(x, 0)

        def asarray(self, data: Any, dtype: str = "float64") -> Any:
            return np.asarray(data, dtype)

    timer, signatures = profile.Timer(), set()
    stand_in = profile.TimedAdapter(Adapter(), ("relu", "softmax"), timer, signatures)
    x = stand_in.asarray([[-1.0, 2.0]], "float32")
    assert stand_in.relu(x).tolist() == [[0.0, 2.0]]
    assert stand_in.relu is stand_in.relu and stand_in.name == "fake"
    assert not hasattr(stand_in, "softmax")
    assert timer.calls == 2
    assert signatures == {("relu", ((1, 2), "float32"))}


def test_ratio_to_torch_is_taken_within_each_round(profile: ModuleType) -> None:
    """The ratio is the median of per-round ratios, not a ratio of medians taken from different rounds."""

    def run(wall: float) -> dict[str, Any]:
        return {
            "version": "1",
            "checks": 1,
            "summary": {},
            "statuses": {"a[float32]": "pass"},
            "wall_s": wall,
            "framework_s": 0.0,
            "checks_s": 0.0,
            "hypothesis_s": 0.0,
            "reference_s": 0.0,
            "import_s": 0.0,
            "distinct_call_signatures": 0,
            "compilation": {"compile_s": 0.0},
        }

    rounds = [{"torch": run(10.0), "jax": run(20.0)}, {"torch": run(40.0), "jax": run(60.0)}]
    out = profile.aggregate(rounds, ["torch", "jax"])
    assert out["jax"]["ratio_to_torch"] == pytest.approx((2.0 + 1.5) / 2)
    assert out["jax"]["wall_s"] == pytest.approx(40.0) and out["jax"]["same_statuses_every_round"]


def test_child_run_on_the_reference_accounts_for_its_time(profile: ModuleType) -> None:
    """An instrumented run: Hypothesis' time is the wall time less the checks', and no part exceeds the whole."""
    run = profile.child("reference", 0, ["relu"], 3)
    assert run["checks"] == sum(run["summary"][s] for s in ("pass", "fail", "error", "unsupported", "skip"))
    assert "pass" in run["statuses"].values() and not {"fail", "error"} & set(run["statuses"].values())
    assert run["hypothesis_s"] == pytest.approx(run["wall_s"] - run["checks_s"])
    assert 0 < run["framework_s"] <= run["checks_s"] <= run["wall_s"]
    assert run["distinct_call_signatures"] > 0 and run["compilation"]["compiles"] == 0


def test_child_run_in_shares_keeps_every_check(profile: ModuleType) -> None:
    """Run in shares (as a JAX run's replaced workers), every check still runs once, with the same verdict."""
    whole = profile.child("reference", 0, ["relu"], 3)
    shared = profile.child("reference", 0, ["relu"], 3, share=2)
    assert whole["shares"] == 1 and shared["shares"] == -(-whole["checks"] // 2) > 1
    assert shared["statuses"] == whole["statuses"]


def test_jax_caches_are_emptied_between_shares(profile: ModuleType) -> None:
    """JAX's reset drops its compiled programs: a jitted function compiles again after it."""
    jax = pytest.importorskip("jax")
    traced: list[int] = []

    @jax.jit
    def f(x: Any) -> Any:
        traced.append(1)
        return x + 1

    f(1.0)
    f(1.0)
    profile.RESETS["jax"]()
    f(1.0)
    assert len(traced) == 2
