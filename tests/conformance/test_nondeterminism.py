"""A failure whose case gives a different result when run again is flagged nondeterministic, in every format."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import numpy as np
import pytest
from dlterms.conformance import load_backend
from dlterms.conformance.nondeterminism import rerun
from dlterms.conformance.registry import INVARIANTS
from dlterms.conformance.report import load_schema


def _noisy_tanh() -> Callable[[np.ndarray], np.ndarray]:
    """A tanh that adds 0.01 per call made so far: never the same output twice for one input."""
    calls = itertools.count(1)

    def tanh(x: np.ndarray) -> np.ndarray:
        return np.tanh(x) + next(calls) * 0.01

    return tanh


def _double_tanh(x: np.ndarray) -> np.ndarray:
    """A wrong but deterministic tanh."""
    return 2 * np.tanh(x)


def test_noisy_adapter_is_flagged_nondeterministic_in_every_format(
    conform: Callable[..., Any], broken_backend: Callable[..., str], tmp_path: Path
) -> None:
    """An op whose output changes from call to call fails as nondeterministic: JSON, JUnit and HTML say so."""
    junit, html = tmp_path / "r.xml", tmp_path / "r.html"
    spec = broken_backend("numpy", tanh=_noisy_tanh())
    run = conform(spec, "--terms", "tanh", "--dtype", "float64", "--max-examples", "5", "--junit", str(junit),
                  "--html", str(html))  # fmt: skip
    jsonschema.validate(run.report, load_schema())
    row = next(r for r in run.rows() if r["invariant"] == "tanh.odd")
    assert row["status"] == "fail"
    assert row["nondeterministic"]["op"] == "tanh"
    assert row["message"].startswith("nondeterministic: two calls of tanh on the same input gave ")
    assert row["nondeterministic"]["first"] != row["nondeterministic"]["second"]
    failures = ET.parse(junit).getroot().findall(".//testcase[@name='tanh.odd[float64]']/failure")
    assert failures[0].get("type") == "nondeterministic"
    assert "fail (nondeterministic)" in html.read_text(encoding="utf-8")
    assert "FAIL (nondeterministic) tanh.odd[float64]" in run.out


def test_deterministic_failure_is_not_flagged(conform: Callable[..., Any], broken_backend: Callable[..., str]) -> None:
    """A wrong op that gives the same wrong value every time fails without the nondeterministic flag."""
    run = conform(broken_backend("numpy", tanh=_double_tanh), "--terms", "tanh", "--dtype", "float64",
                  "--max-examples", "5")  # fmt: skip
    failed = run.rows("fail")
    assert failed, "the doubled tanh must fail"
    assert all("nondeterministic" not in r for r in failed)
    assert not any(r["message"].startswith("nondeterministic") for r in failed)


def test_rerun_names_the_first_op_call_that_differs() -> None:
    """rerun() reports the op, the element and both values of the first call whose outputs differ."""
    import types

    from dlterms.conformance.backends import numpy as base

    impl = types.SimpleNamespace(**{k: getattr(base, k) for k in dir(base) if not k.startswith("_")})
    impl.tanh = _noisy_tanh()
    bk = load_backend("numpy")
    bk.impl = impl
    found = rerun(bk, INVARIANTS["tanh.odd"].check, "float64", {"x": [0.5, -1.0]})
    assert found is not None and found.op == "tanh" and found.call == 1
    assert found.first != found.second
    assert "two calls of tanh on the same input gave" in found.describe()


def test_rerun_of_a_deterministic_backend_finds_nothing() -> None:
    """rerun() returns None when every run gives the same outputs and outcome."""
    bk = load_backend("numpy")
    assert rerun(bk, INVARIANTS["tanh.odd"].check, "float64", {"x": [0.5, -1.0]}, first_outcome="pass") is None


def test_reproducer_of_a_nondeterministic_row_runs_twice_and_prints_both(
    conform: Callable[..., Any], broken_backend: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The reproducer re-runs the case twice, prints the two differing values and both outcomes, exits 1."""
    run = conform(broken_backend("numpy", tanh=_noisy_tanh()), "--terms", "tanh", "--dtype", "float64",
                  "--max-examples", "5")  # fmt: skip
    row = next(r for r in run.rows() if r["invariant"] == "tanh.odd")
    with pytest.raises(SystemExit) as exited:
        exec(compile(row["repro"], "repro.py", "exec"), {"__name__": "__main__"})
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "nondeterministic: two calls of tanh on the same input gave" in out
    assert "run 1: " in out and "run 2: " in out
