"""A session measures the report's facts beside the checks when its workers are spawned on the CPU."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from dlterms.conformance.session import Request, measure_facts, prepare

if TYPE_CHECKING:
    from conftest import ReluCalls


def test_spawned_workers_measure_the_facts_beside_the_checks(relu_calls: Callable[[str], ReluCalls]) -> None:
    """The facts' worker calls relu before the checks are done, and the report's facts are those measured on their
    own after the run."""
    calls = relu_calls("numpy")
    terms = ["relu", "sigmoid", "tanh", "softmax"]  # checks that take seconds (3.6 s here; the facts' relu at 1 s)
    session = prepare(Request(backend=calls.spec, terms=terms, isolation="spawn", max_examples=25))
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
    session = prepare(Request(backend=calls.spec, terms=["relu"], isolation="fork", max_examples=5))
    outcome = session.execute()
    checks_done = time.monotonic()
    assert session.facts is None
    session.report(outcome)
    by_process = calls.by_process()
    assert len(by_process) == 2, by_process.keys()
    facts_pid = min(by_process, key=lambda pid: len(by_process[pid]))
    assert min(by_process[facts_pid]) > checks_done
