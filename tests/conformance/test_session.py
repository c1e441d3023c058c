"""A session measures the report's facts beside the checks when its workers are spawned on the CPU."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import pytest
from dlterms.conformance.session import Request, measure_facts, prepare

TIMED_MODULE = '''
"""NumPy's adapter whose relu logs the process and the time of every call."""
import os
import time
from types import SimpleNamespace

from dlterms.conformance.backends import numpy as base

ops = {k: getattr(base, k) for k in dir(base) if not k.startswith("_")}


def relu(x):
    with open(os.environ["DLTERMS_CALL_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {time.monotonic()}\\n")
    return base.relu(x)


backend = SimpleNamespace(**{**ops, "name": "timedmod", "relu": relu})
'''


@pytest.fixture
def timedmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The timed adapter as a module file on sys.path (spawned workers import it), and its call log."""
    (tmp_path / "timedmod.py").write_text(TIMED_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("timedmod", None)
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("DLTERMS_CALL_LOG", str(log))
    return "timedmod:backend", log


def _calls_by_process(log: Path) -> dict[int, list[float]]:
    calls: dict[int, list[float]] = defaultdict(list)
    for line in log.read_text(encoding="utf-8").split("\n"):
        if line:
            pid, when = line.split()
            calls[int(pid)].append(float(when))
    return calls


def test_spawned_workers_measure_the_facts_beside_the_checks(timedmod: tuple[str, Path]) -> None:
    """The facts' worker calls relu before the checks' worker is done, and the report's facts are those measured
    on their own after the run."""
    spec, log = timedmod
    session = prepare(Request(backend=spec, terms=["relu"], isolation="spawn", max_examples=25))
    outcome = session.execute()
    report = session.report(outcome)
    calls = _calls_by_process(log)
    assert len(calls) == 2, calls.keys()  # one worker ran the checks, one measured the facts
    checks_pid = max(calls, key=lambda pid: len(calls[pid]))
    facts_pid = min(calls, key=lambda pid: len(calls[pid]))
    assert min(calls[facts_pid]) < max(calls[checks_pid])
    special, conventions = measure_facts(session.backend, mode="spawn", spec=spec, timeout_s=5.0)
    assert report["special_values"] == special
    assert report["conventions"] == conventions


def test_forked_workers_measure_the_facts_after_the_checks(timedmod: tuple[str, Path]) -> None:
    """With forked workers the facts' worker starts once the checks are done (no second thread beside a fork)."""
    spec, log = timedmod
    session = prepare(Request(backend=spec, terms=["relu"], isolation="fork", max_examples=5))
    outcome = session.execute()
    assert session.facts is None
    session.report(outcome)
    calls = _calls_by_process(log)
    assert len(calls) == 2, calls.keys()
    checks_pid = max(calls, key=lambda pid: len(calls[pid]))
    facts_pid = min(calls, key=lambda pid: len(calls[pid]))
    assert min(calls[facts_pid]) > max(calls[checks_pid])
