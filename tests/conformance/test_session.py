"""A session measures the report's facts beside the checks when its workers are spawned on the CPU, and starts
as many workers as ``--jobs`` says (``auto``: one per usable core on the CPU)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
from dlterms.conformance import session as session_module
from dlterms.conformance.isolation import Isolation
from dlterms.conformance.session import Request, RunError, measure_facts, prepare, worker_count
from dlterms.conformance.settings import DEFAULT_JOBS, usable_cores

if TYPE_CHECKING:
    from conftest import ReluCalls


def test_spawned_workers_measure_the_facts_beside_the_checks(relu_calls: Callable[[str], ReluCalls]) -> None:
    """The facts' worker calls relu before the checks are done, and the report's facts are those measured on their
    own after the run."""
    calls = relu_calls("numpy")
    terms = ["relu", "sigmoid", "tanh", "softmax"]  # checks that take seconds (3.6 s here; the facts' relu at 1 s)
    session = prepare(Request(backend=calls.spec, terms=terms, isolation="spawn", max_examples=25, jobs=1))
    outcome = session.execute()
    checks_done = time.monotonic()
    report = session.report(outcome)
    by_process = calls.by_process()
    assert len(by_process) == 2, by_process.keys()  # one worker ran the checks, one measured the facts
    facts_pid = min(by_process, key=lambda pid: len(by_process[pid]))
    assert min(by_process[facts_pid]) < checks_done
    special, conventions = measure_facts(session.backend, mode="spawn", spec=calls.spec, timeout_s=5.0)
    assert report["special_values"] == special
    assert report["conventions"] == conventions


def test_forked_workers_measure_the_facts_after_the_checks(relu_calls: Callable[[str], ReluCalls]) -> None:
    """With forked workers the facts' worker starts once the checks are done (no second thread beside a fork)."""
    calls = relu_calls("numpy")
    session = prepare(Request(backend=calls.spec, terms=["relu"], isolation="fork", max_examples=5, jobs=1))
    outcome = session.execute()
    checks_done = time.monotonic()
    assert session.facts is None
    session.report(outcome)
    by_process = calls.by_process()
    assert len(by_process) == 2, by_process.keys()
    facts_pid = min(by_process, key=lambda pid: len(by_process[pid]))
    assert min(by_process[facts_pid]) > checks_done


FORKED = Isolation("fork", "test")
CPU = SimpleNamespace(device="cpu")


def test_jobs_default_to_one_worker_per_usable_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run asked for nothing starts one worker per core it may use, and the report records that number."""
    assert DEFAULT_JOBS == "auto"
    monkeypatch.setattr(session_module, "usable_cores", lambda: 3)
    session = prepare(Request(backend="reference", terms=["relu"]))
    assert session.settings["jobs"] == 3
    assert session.settings["isolation"] == "fork"


def test_usable_cores_are_the_affinity_mask() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert usable_cores() == expected >= 1


def test_auto_jobs_are_one_in_this_process_and_on_an_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "usable_cores", lambda: 8)
    assert worker_count("auto", FORKED, CPU) == 8
    assert worker_count("auto", Isolation("off", "asked for"), CPU) == 1
    assert worker_count("auto", Isolation("spawn", "test"), SimpleNamespace(device="cuda:0")) == 1
    assert worker_count(3, Isolation("spawn", "test"), SimpleNamespace(device="cuda:0")) == 3  # asked for: kept


@pytest.mark.parametrize("jobs", [0, -2, "many", 1.5, True])
def test_bad_jobs_are_refused_naming_the_value(jobs: object) -> None:
    with pytest.raises(RunError, match=rf"--jobs {jobs!r}: expected a positive integer or auto"):
        worker_count(jobs, FORKED, CPU)  # type: ignore[arg-type]


def test_more_than_one_job_in_this_process_is_refused() -> None:
    with pytest.raises(RunError, match="--jobs 2: needs worker processes, but asked for; expected --jobs 1"):
        worker_count(2, Isolation("off", "asked for"), CPU)
