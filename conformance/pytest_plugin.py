"""A pytest plugin: the same invariants inside a project's own test suite.

Registered as the ``dlterms`` plugin (entry point group ``pytest11``), so with
dlterms installed::

    pytest --pyargs dlterms.conformance --dlterms-backend torch

collects one test per check, named by its ID (``test_invariant[softmax.sums_to_one[float32]]``).
A failing check fails its test with the message, the counterexample and a
reproducer; an unsupported one is skipped. The plugin only adds options until
``dlterms.conformance`` is collected, so it costs nothing elsewhere. The checks
run in the pytest process itself: a backend that crashes ends the pytest run
(``dlterms conform`` runs them in worker processes instead; the pytest-forked
plugin's ``--forked`` runs each test in a forked process).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from dlterms.conformance.settings import (
    DEFAULT_DTYPES,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_TIERS,
    DEFAULT_TIMEOUT_S,
    TIERS,
    RunSettings,
)

__all__ = ["pytest_addoption", "pytest_generate_tests"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dlterms", "dlterms conformance")
    group.addoption(
        "--dlterms-backend", help="backend to check (name, entry point, or module:attribute); default $DLTERMS_BACKEND"
    )
    group.addoption("--dlterms-terms", help="comma-separated term ids (default: all)")
    dtypes = ",".join(DEFAULT_DTYPES)
    group.addoption("--dlterms-dtype", default=dtypes, help=f"comma-separated dtypes (default: {dtypes})")
    group.addoption(
        "--dlterms-max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        help=f"examples per check (default: {DEFAULT_MAX_EXAMPLES})",
    )
    group.addoption("--dlterms-seed", type=int, default=DEFAULT_SEED, help=f"Hypothesis seed (default: {DEFAULT_SEED})")
    group.addoption(
        "--dlterms-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds per check, 0 for no limit (default: {DEFAULT_TIMEOUT_S:g})",
    )
    group.addoption(
        "--dlterms-sizes",
        action="store_true",
        help="add the size tier: each op at realistic shapes (as dlterms conform --sizes)",
    )


def _csv(text: str | None) -> list[str] | None:
    return [t for t in (text or "").split(",") if t] or None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dlterms_check" not in metafunc.fixturenames:
        return
    from dlterms.conformance.runner import plan

    opt = metafunc.config.getoption
    tiers = TIERS if opt("dlterms_sizes") else DEFAULT_TIERS
    checks = plan(_csv(opt("dlterms_terms")), _csv(opt("dlterms_dtype")) or (), tiers=tiers)
    metafunc.parametrize("dlterms_check", checks, ids=[c.key for c in checks])


@pytest.fixture(scope="session")
def dlterms_backend(pytestconfig: pytest.Config) -> Any:
    from dlterms.conformance import BackendError, load_backend

    spec = pytestconfig.getoption("dlterms_backend") or os.environ.get("DLTERMS_BACKEND")
    if not spec:
        raise pytest.UsageError("dlterms: pass --dlterms-backend NAME or set DLTERMS_BACKEND")
    try:
        return load_backend(spec)
    except BackendError as exc:
        raise pytest.UsageError(f"dlterms: {exc}") from None


@pytest.fixture
def dlterms_result(pytestconfig: pytest.Config) -> Any:
    """Run one check through the run loop, in this process, and return its row."""
    from dlterms.conformance.runner import run_checks

    opt = pytestconfig.getoption
    settings = RunSettings(
        max_examples=opt("dlterms_max_examples"), seed=opt("dlterms_seed"), timeout_s=opt("dlterms_timeout") or None
    )

    def _run(bk: Any, check: Any) -> Any:
        (row,) = run_checks(bk, [check], settings)
        return row

    return _run
