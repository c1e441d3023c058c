"""The worker side of :mod:`.isolation`: a process that runs the checks and probes it is sent.

Messages on the worker's pipe, from the supervisor: a check's index (run it),
``("special_values", op, timeout_s)`` (measure the special values of one op),
``("conventions", convention, timeout_s)`` (measure one convention, see
:func:`measure_convention`; a probe through an op that ran past its time limit on
a special value in this worker reads ``"error: OpTimedOut: ..."`` instead of
waiting for its limit again), or None (stop). From the worker: ``("ready",)``,
``("failed", message)`` (a spawned worker could not load the backend),
``("row", index, row, served)`` (``served``: the worker has served its time, see
:class:`.memory_maps.WorkerLife`, and a fresh one should take the next check),
``("special_values", op, records)`` and ``("conventions", convention, record)``.

Before every case the worker writes ``(check index, examples so far, case)``
to its *breadcrumb* file, so that the supervisor can name the case a crash
happened on; the worker's stderr and :mod:`faulthandler`'s stack of a fatal
signal go to its log file.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import os
import pickle
import signal
import struct
import sys
import types
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from .backends import CANONICAL_OPS, Backend, load_backend
from .conventions import ADAPTER_PROBES, CONVENTIONS, PROBES, Probe, Value, declared_probes, measure_backend
from .limits import TimeLimit
from .memory_maps import WorkerLife
from .runner import Check, RunSettings, plan, private_hypothesis_home, run_checks

__all__ = [
    "OpTimedOut",
    "convention_probes",
    "convention_record",
    "measure_convention",
    "read_crumb",
    "serve",
    "spawned_worker",
]

_HEADER = struct.Struct("<Q")


def serve(
    conn: Connection,
    bk: Backend,
    checks: list[Check],
    settings: RunSettings,
    xfail: dict[str, str],
    crumb_path: str,
    log_path: str,
    life: WorkerLife | None = None,
) -> None:
    """A worker's loop: do what arrives on ``conn`` and answer, until None arrives.

    ``life`` says when the worker has served its time (each row says whether it has); None: never.
    """
    life = life or WorkerLife()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    log = open(log_path, "ab")  # noqa: SIM115  (open for the worker's lifetime)
    os.dup2(log.fileno(), 2)  # what the framework prints on stderr before it dies
    faulthandler.enable(log)
    crumb = os.open(crumb_path, os.O_WRONLY)
    state = {"index": -1, "examples": 0}
    hung: set[str] = set()  # ops that ran past their time limit on a special value: no convention probe calls them

    def note(check: Check, case: dict[str, Any]) -> None:
        state["examples"] += 1
        _write_crumb(crumb, (state["index"], state["examples"], case))

    life.begin()
    conn.send(("ready",))
    with private_hypothesis_home():
        while (job := conn.recv()) is not None:
            if isinstance(job, tuple) and job[0] == "special_values":  # ("special_values", op, timeout_s)
                records = _special_values(bk, job[1], job[2])
                if any(str(r["value"]).startswith(("error: CheckTimeout", "error: skipped")) for r in records):
                    hung.add(job[1])
                conn.send(("special_values", job[1], records))
                continue
            if isinstance(job, tuple):  # ("conventions", convention, timeout_s)
                view = dataclasses.replace(bk, impl=_NotCalledAgain(bk.impl, hung)) if hung else bk
                conn.send(("conventions", job[1], measure_convention(view, job[1], job[2])))
                continue
            state.update(index=job, examples=0)
            _write_crumb(crumb, (job, 0, None))
            (row,) = run_checks(bk, [checks[job]], settings, xfail=xfail, on_case=note)
            conn.send(("row", job, row.as_dict(), life.after_check()))


def _special_values(bk: Backend, op: str, timeout_s: float | None) -> list[dict[str, Any]]:
    """The special-value records of ``op`` (measured on a backend that shows no other op)."""
    from .special_values import measure

    only = dataclasses.replace(bk, impl=_OnlyOp(bk.impl, op))
    return [r for r in measure(only, timeout_s=timeout_s) if r["op"] == op]


class OpTimedOut(Exception):
    """Raised instead of calling an op that ran past its time limit on a special value in this worker."""


class _NotCalledAgain:
    """An adapter's stand-in whose ``hung`` ops raise :class:`OpTimedOut` instead of running."""

    def __init__(self, impl: Any, hung: set[str]) -> None:
        self._impl, self._hung = impl, hung

    def __getattr__(self, name: str) -> Any:
        if name in self._hung:
            return self._refuse(name)
        return getattr(self._impl, name)

    @staticmethod
    def _refuse(op: str) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise OpTimedOut(f"{op} ran past its time limit on a special value; not called again")

        return refused


class _OnlyOp:
    """An adapter's stand-in that hides every canonical op but one."""

    def __init__(self, impl: Any, op: str) -> None:
        self._impl, self._op = impl, op

    def __getattr__(self, name: str) -> Any:
        if name in CANONICAL_OPS and name != self._op:
            raise AttributeError(name)
        return getattr(self._impl, name)


def convention_probes(bk: Backend) -> dict[str, Probe]:
    """The probe that :func:`.conventions.measure_backend` runs for each convention of ``bk``, by convention id.

    The adapter's declared probes; else, for a framework dlterms ships probes for
    (the adapter's ``framework``, else its name), that framework's; for
    ``reference``, the canonical value itself; for any other (a plug-in), the
    probes through its ops that apply (:data:`.conventions.ADAPTER_PROBES`). A
    convention missing here has no probe on ``bk`` (its value is None). The same
    choice as ``measure_backend`` makes, tied to it by
    tests/conformance/test_plugin_conventions.py. Calls no op.
    """
    framework = getattr(bk.impl, "framework", bk.name)
    probes: dict[str, Probe]
    if framework == "reference":
        probes = {c.id: Probe(c.id, "dlterms.reference", c.canonical) for c in CONVENTIONS.values()}
    elif framework in PROBES:
        probes = dict(PROBES[framework])
    else:
        probes = {}
        for p in ADAPTER_PROBES:
            dtype = p.dtype_on(bk)
            if dtype is not None:
                probes[p.convention] = Probe(p.convention, p.api(bk, dtype), _bound(p.measure, bk, dtype))
    return {**probes, **declared_probes(bk.impl)}


def measure_convention(bk: Backend, convention: str, timeout_s: float | None) -> dict[str, Any]:
    """The record of ``convention`` on ``bk``, as :func:`.conventions.measure_backend` writes it; only its probe
    (:func:`convention_probes`) runs, within ``timeout_s`` (None: the registry's own limit); past it the value
    is ``"error: CheckTimeout: ..."``."""
    probe = convention_probes(bk).get(convention)
    limited = None if probe is None else Probe(convention, probe.api, _time_limited(probe.measure, timeout_s))
    return convention_record(bk, convention, limited)


def convention_record(bk: Backend, convention: str, probe: Probe | None) -> dict[str, Any]:
    """The record :func:`.conventions.measure_backend` writes for ``convention`` when ``probe`` is its only probe.

    ``probe`` is handed to ``measure_backend`` as the one declared probe of a
    stand-in adapter with no op and no framework, so the record (canonical value,
    ``matches_canonical``, ``"error: ..."`` for a probe that raises) is made by the
    same code as every other column's; ``probe`` None gives the unmeasured record
    (value and api None). No op of ``bk`` is called but through ``probe``.
    """
    stand_in = types.SimpleNamespace(framework="", conventions=() if probe is None else (probe,))
    (record,) = measure_backend(dataclasses.replace(bk, impl=stand_in), only=convention)
    return record


def _bound(measure: Callable[[Backend, str], Value], bk: Backend, dtype: str) -> Callable[[], Value]:
    return lambda: measure(bk, dtype)


def _time_limited(measure: Callable[[], Value], timeout_s: float | None) -> Callable[[], Value]:
    def limited() -> Value:
        with TimeLimit(timeout_s):
            return measure()

    return limited


def _write_crumb(fd: int, value: tuple[int, int, Any]) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    os.pwrite(fd, _HEADER.pack(len(data)) + data, 0)


def read_crumb(data: bytes) -> tuple[int, int, Any] | None:
    """A breadcrumb's ``(check index, examples so far, case)``; None when ``data`` holds none."""
    try:
        (size,) = _HEADER.unpack_from(data)
        return pickle.loads(data[_HEADER.size : _HEADER.size + size])
    except Exception:
        return None


def spawned_worker() -> None:
    """The entry point of a spawned worker: ``python -c '...spawned_worker()' FD`` with its pipe's end as FD.

    The first message is the job: how to load the backend, the checks' keys and
    settings, the parent's ``sys.path``, the paths of the breadcrumb and the log, and
    the worker's :class:`.memory_maps.WorkerLife`.
    """
    conn = Connection(int(sys.argv[1]))
    job = conn.recv()
    sys.path[:] = job["path"]
    try:
        bk = load_backend(job["spec"] or None, device=job["device"])
    except Exception as exc:
        conn.send(("failed", f"the worker could not load the backend: {type(exc).__name__}: {exc}"))
        sys.exit(1)
    by_key = {c.key: c for c in plan(None, job["dtypes"])}
    checks = [by_key[k] for k in job["keys"]]
    serve(conn, bk, checks, job["settings"], job["xfail"], job["crumb"], job["log"], job["life"])
