"""Shared fixtures: run the CLI in-process, and build deliberately broken backends."""

from __future__ import annotations

import itertools
import json
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from dlterms.cli import main

# Our tests check the TensorFlow adapter's translations, so they run TensorFlow without its
# oneDNN CPU kernels: with them, some grouped convolutions and poolings return values that
# change from call to call (a TensorFlow finding, recorded on the Benchmarks page). A user's
# `dlterms conform --backend tensorflow` keeps TensorFlow's defaults. Set before TF is imported.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# Property tests of the project itself: deterministic, no example database.
settings.register_profile(
    "dlterms",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("dlterms")

_counter = itertools.count()

# A built-in adapter (BASE) whose relu logs the process it runs in and the time of every call.
_LOGGED_RELU_MODULE = '''
"""The BASE adapter, its relu logging the process and the time of every call."""
import os
import time
from types import SimpleNamespace

from dlterms.conformance.backends import BASE as base

ops = {k: getattr(base, k) for k in dir(base) if not k.startswith("_")}


def relu(x):
    with open(os.environ["DLTERMS_CALL_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {time.monotonic()}\\n")
    return base.relu(x)


backend = SimpleNamespace(**{**ops, "name": "NAME", "relu": relu})
'''


class ReluCalls:
    """A logged adapter's backend spec, and the relu calls it logged by process (times from ``time.monotonic``)."""

    def __init__(self, spec: str, log: Path) -> None:
        self.spec, self.log = spec, log

    def by_process(self) -> dict[int, list[float]]:
        calls: dict[int, list[float]] = {}
        if self.log.exists():
            for line in self.log.read_text(encoding="utf-8").splitlines():
                pid, when = line.split()
                calls.setdefault(int(pid), []).append(float(when))
        return calls


@pytest.fixture
def relu_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ReluCalls]:
    """``relu_calls("torch")``: that built-in adapter as a module file on sys.path (a spawned worker imports it too)
    whose relu logs every call; returns its spec and its log."""

    def _make(base: str) -> ReluCalls:
        name = f"logged_{base}"
        source = _LOGGED_RELU_MODULE.replace("BASE", base).replace("NAME", name)
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        sys.modules.pop(name, None)
        log = tmp_path / f"{name}.log"
        monkeypatch.setenv("DLTERMS_CALL_LOG", str(log))
        return ReluCalls(f"{name}:backend", log)

    return _make


# Tests marked nightly (the size tier's replays: minutes each, on millions of elements) run when
# DLTERMS_NIGHTLY=1, as a nightly job does; benchmarks/shipped_bugs.py runs the same replays.
NIGHTLY = os.environ.get("DLTERMS_NIGHTLY") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if NIGHTLY:
        return
    skip = pytest.mark.skip(reason="nightly test: set DLTERMS_NIGHTLY=1 to run it")
    for item in items:
        if "nightly" in item.keywords:
            item.add_marker(skip)


class ConformRun:
    """The outcome of one ``dlterms conform`` run: exit code, printed text, JSON report."""

    def __init__(self, code: int, out: str, err: str, report: dict[str, Any] | None) -> None:
        self.code, self.out, self.err, self.report = code, out, err, report

    def rows(self, status: str | None = None) -> list[dict[str, Any]]:
        rows = self.report["results"] if self.report else []
        return [r for r in rows if status is None or r["status"] == status]

    def failed_invariants(self) -> set[str]:
        return {r["invariant"] for r in self.rows() if r["status"] in ("fail", "error")}


@pytest.fixture
def conform(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., ConformRun]:
    """``conform("torch", "--terms", "softmax")`` runs the CLI in-process with ``--json``."""

    def _run(backend: str, *args: str) -> ConformRun:
        report_path = tmp_path / f"report-{next(_counter)}.json"
        code = main(["conform", "--backend", backend, "--json", str(report_path), *args])
        captured = capsys.readouterr()
        report = json.loads(report_path.read_text()) if report_path.exists() else None
        return ConformRun(code, captured.out, captured.err, report)

    return _run


@pytest.fixture
def broken_backend() -> Callable[..., str]:
    """``broken_backend("torch", softmax=bad_softmax)`` -> a ``module:attribute`` spec.

    The new backend is the named built-in adapter with some ops replaced (or
    removed, by passing ``None``), registered as an importable module so the
    CLI finds it exactly as it finds a user's adapter.
    """
    created: list[str] = []

    def _make(base: str, **ops: Callable[..., Any] | None) -> str:
        import importlib

        module = importlib.import_module(f"dlterms.conformance.backends.{base}")
        ns = types.SimpleNamespace(**{k: getattr(module, k) for k in dir(module) if not k.startswith("_")})
        ns.name = f"broken-{base}"
        for op, fn in ops.items():
            if fn is None:
                delattr(ns, op)
            else:
                setattr(ns, op, fn)
        mod_name = f"_dlterms_broken_{next(_counter)}"
        holder = types.ModuleType(mod_name)
        holder.backend = ns  # type: ignore[attr-defined]
        sys.modules[mod_name] = holder
        created.append(mod_name)
        return f"{mod_name}:backend"

    yield _make
    for name in created:
        sys.modules.pop(name, None)
