"""Checks run in worker processes that may die: a crash, an exit or a hang becomes an ``error`` row.

A framework's kernel can segfault, abort, be killed for memory or hang in C code. ``dlterms
conform`` therefore runs its checks in worker processes and supervises them from the process that
writes the report:

* each worker takes one check at a time and sends its row back on a pipe; before every case it
  writes the check and the case to a small file of its own (a *breadcrumb*), and Python's
  :mod:`faulthandler` writes the Python stack of a fatal signal to a log beside it (with whatever
  the framework printed on stderr);
* when a worker dies, its check becomes an ``error`` row: "crashed: SIGSEGV (signal 11)" or
  "crashed: the worker exited with code 3", the case from the breadcrumb as counterexample, the
  end of the log in ``details``; a new worker takes the remaining checks;
* a check still running :data:`~.limits.HARD_LIMIT_MARGIN_S` after its time limit (a call into C
  code that SIGALRM cannot interrupt) has its worker killed and becomes a ``timeout`` error row;
* Ctrl-C or SIGTERM in the supervisor kills the workers; the rows done so far are kept. Workers
  ignore SIGINT, so a Ctrl-C in a terminal reaches them only through the supervisor;
* a worker whose memory mappings pass half of the kernel's limit makes way for a fresh one
  (:mod:`.memory_maps`: XLA's compiled programs would otherwise exhaust them in a long JAX run);
* with several workers, each keeps to one term's checks while that term has checks left
  (:func:`next_check`): a term's checks call the same ops on the same shapes, so a framework that
  compiles a program per op and shape (JAX) compiles it in one worker instead of in each.

The report's probes (special values, conventions) run in workers as well, one job at a time
(:func:`run_jobs`): a probe that crashes or hangs costs only its own record (see
:func:`.session.measure_facts`).

Two ways to start a worker (:func:`choose_isolation`):

* **fork** (POSIX, the default): the worker is a copy of this process, with the framework and the
  backend already loaded, so it starts in milliseconds and can run an adapter defined only in memory;
* **spawn**: a fresh interpreter that imports the framework and loads the backend from its
  ``--backend`` spec. Used for JAX and TensorFlow, whose runtime threads a fork cannot copy (a
  forked copy may deadlock), and where there is no fork. It costs one framework import per worker.

With ``--isolation off`` (or an adapter that can be neither forked nor imported by a fresh process)
the checks run in this process, as a plain loop over :func:`~.runner.run_checks`: a crash then
ends the run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .backends import Backend
from .crash_logs import ROW_MESSAGE_CHARS, TRACEBACK_LINES, clip, fatal_message, log_tail, read_log
from .limits import HARD_LIMIT_MARGIN_S
from .memory_maps import WorkerLife
from .runner import Check, Result, RunSettings, apply_xfail, time_limit
from .settings import CHECKS_PER_WORKER, ISOLATION_MODES, MAPPINGS_SHARE
from .worker import read_crumb, serve

__all__ = [
    "NO_FORK",
    "RECYCLED",
    "TRACEBACK_LINES",
    "Isolation",
    "choose_isolation",
    "next_check",
    "on_accelerator",
    "run_isolated",
    "run_jobs",
    "unforkable_framework",
    "worker_life",
    "worker_share",
]

# Frameworks whose runtime threads make a fork unsafe once they have run (the forked copy may deadlock).
NO_FORK = ("jax", "tensorflow", "keras")
# Frameworks whose workers are replaced after CHECKS_PER_WORKER checks (as well as at their mapping budget, see
# conformance/memory_maps.py): a JAX worker slowed down as JAX kept the MLIR module of every program it lowered (60
# checks took 19.7 s in a fresh process and 33.2 s after 250 others), which its adapter now releases after each call;
# the share stays as the bound where mappings cannot be counted (settings.CHECKS_PER_WORKER). Others keep one
# worker: a TensorFlow worker gained 29 mappings over 102 checks, and a spawned one costs a TensorFlow import (5 s).
RECYCLED = ("jax",)


@dataclass(frozen=True)
class Isolation:
    """How a run's checks are isolated: ``mode`` fork, spawn or off, and why (one line for the report)."""

    mode: str
    reason: str


def choose_isolation(requested: str, bk: Backend, spec: str) -> Isolation:
    """The isolation for ``--isolation requested``; ValueError naming the option when it cannot be had."""
    if requested not in ISOLATION_MODES:
        raise ValueError(f"--isolation {requested!r}: expected one of {', '.join(ISOLATION_MODES)}")
    if requested == "off":
        return Isolation("off", "asked for: checks run in this process, so a crash ends the run")
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    unforkable = unforkable_framework(bk)
    spawn_problem = _spawn_problem(spec)
    accelerator = on_accelerator(bk)
    if requested == "fork":
        if not can_fork:
            raise ValueError("--isolation fork: this platform has no fork; expected spawn, auto or off")
        if accelerator:
            raise ValueError(f"--isolation fork: {accelerator}; expected spawn, auto or off")
        return Isolation("fork", "asked for: forked workers")
    if requested == "spawn":
        if spawn_problem:
            raise ValueError(f"--isolation spawn: {spawn_problem}; expected fork, auto or off")
        return Isolation("spawn", "asked for: spawned workers that load the backend themselves")
    if can_fork and not unforkable and not accelerator:
        return Isolation("fork", "forked workers (the backend is loaded once; each worker is a copy)")
    why = accelerator or (f"{unforkable} cannot be forked once its runtime runs" if unforkable else "no fork here")
    if not spawn_problem:
        return Isolation("spawn", f"spawned workers that load the backend themselves: {why}")
    return Isolation("off", f"checks run in this process, so a crash ends the run: {why}, and {spawn_problem}")


# Accelerators whose runtime a forked child cannot use once the parent has initialised it (torch
# on an H200: "Cannot re-initialize CUDA in forked subprocess", 219 error rows in a forked run).
ACCELERATOR_DEVICES: tuple[str, ...] = ("cuda", "gpu", "rocm", "hip", "xpu", "mps", "tpu")


def on_accelerator(bk: Backend) -> str:
    """Why the backend's device cannot be used from a forked worker ("" for the CPU)."""
    device = str(bk.device).lower()
    if any(name in device for name in ACCELERATOR_DEVICES):
        return f"a process that has initialised {bk.device} cannot use it in a forked child"
    return ""


def unforkable_framework(bk: Backend) -> str | None:
    """The framework of :data:`NO_FORK` that the adapter uses (its ``framework``, its name, its modules' imports)."""
    return _framework_among(bk, NO_FORK)


def worker_share(bk: Backend) -> int | None:
    """How many checks a worker answers at most before a fresh one replaces it: :data:`~.settings.CHECKS_PER_WORKER`
    for an adapter on a framework of :data:`RECYCLED`, ``None`` (no limit) for any other."""
    return CHECKS_PER_WORKER if _framework_among(bk, RECYCLED) else None


def worker_life(bk: Backend, checks_per_worker: int | None = None) -> WorkerLife:
    """How long each worker of a run serves: until its mappings pass :data:`~.settings.MAPPINGS_SHARE` of the
    kernel's limit, or it has answered ``checks_per_worker`` checks (None: :func:`worker_share`), whichever
    comes first."""
    return WorkerLife.within(MAPPINGS_SHARE, worker_share(bk) if checks_per_worker is None else checks_per_worker)


def _framework_among(bk: Backend, frameworks: tuple[str, ...]) -> str | None:
    """The first of ``frameworks`` the adapter uses (its ``framework``, its name, its modules' imports)."""
    names = {str(getattr(bk.impl, "framework", "")), bk.name}
    modules = [bk.impl] if isinstance(bk.impl, types.ModuleType) else []
    for op in bk.supported_ops():
        module = sys.modules.get(getattr(getattr(bk.impl, op, None), "__module__", None) or "")
        if module is not None:
            modules.append(module)
    for module in modules:
        names.update(v.__name__.split(".")[0] for v in vars(module).values() if isinstance(v, types.ModuleType))
    return next((name for name in frameworks if name in names), None)


def _spawn_problem(spec: str) -> str:
    """Why a fresh interpreter could not load the backend ``spec`` ("" when it can)."""
    module = sys.modules.get(spec.split(":", 1)[0]) if ":" in spec else None
    if module is not None and getattr(module, "__spec__", None) is None:
        return f"the adapter's module {module.__name__!r} exists only in this process (a fresh one cannot import it)"
    return ""


# --- the supervisor -------------------------------------------------------------------


def run_isolated(
    bk: Backend,
    checks: Sequence[Check],
    *,
    mode: str,
    spec: str = "",
    device: str | None = None,
    jobs: int = 1,
    settings: RunSettings | None = None,
    xfail: Mapping[str, str] | None = None,
    checks_per_worker: int | None = None,
) -> Iterator[Result]:
    """Yield one row per check, in the given order, each check run in a worker process (``mode`` fork or spawn).

    ``jobs`` workers run at once. ``spec`` and ``device`` are how a spawned worker
    loads the backend (``bk`` is the backend loaded here: forked workers use it).
    A worker whose memory mappings pass :data:`~.settings.MAPPINGS_SHARE` of the kernel's
    limit, or that has answered ``checks_per_worker`` checks, is stopped and a fresh one
    takes the next (see :func:`worker_life`: XLA's compiled programs exhaust a process's
    memory mappings in a long JAX run).
    """
    if mode not in ("fork", "spawn"):
        raise ValueError(f"run_isolated: mode={mode!r}; expected 'fork' or 'spawn'")
    settings = settings or RunSettings()
    life = worker_life(bk, checks_per_worker)
    xfail = dict(xfail or {})
    checks = list(checks)
    # A worker still on check i past hard_limits[i] (its time limit and the margin) is killed.
    hard_limits = [
        (t + HARD_LIMIT_MARGIN_S if (t := time_limit(c.invariant, settings.timeout_s)) else None) for c in checks
    ]
    pending = list(range(len(checks)))
    terms = [c.invariant.term for c in checks]
    done: dict[int, Result] = {}
    workers: list[_Worker] = []
    with tempfile.TemporaryDirectory(prefix="dlterms-workers-") as tmp:
        start = _Starter(bk, checks, mode, spec, device, settings, xfail, Path(tmp), life)
        try:
            yielded = 0
            while yielded < len(checks):
                free = sum(1 for w in workers if w.check is None)
                while pending and len(workers) < jobs and free < len(pending):
                    workers.append(start())
                    free += 1
                for w in workers:
                    if w.ready and w.check is None and pending:
                        others = {terms[o.check] for o in workers if o.check is not None}
                        index = next_check(pending, terms, w.term, others)
                        pending.remove(index)
                        w.assign(index)
                _wait(workers, hard_limits)
                for w in list(workers):
                    for index, row in w.collect(hard_limits):
                        done[index] = row
                    if w.failed_to_start:  # the backend cannot be loaded: no worker will do better
                        for index in pending:
                            done[index] = apply_xfail(w.unstarted_row(checks[index]), xfail)
                        pending.clear()
                    if w.alive and w.check is None and pending and w.served:
                        w.stop()  # a fresh worker takes the next checks (see worker_life)
                    if not w.alive:
                        workers.remove(w)
                while yielded in done:
                    yield done.pop(yielded)
                    yielded += 1
            for w in workers:
                w.stop()
        finally:
            for w in workers:
                w.kill()


def next_check(pending: Sequence[int], terms: Sequence[str], last: str | None, others: set[str]) -> int:
    """The check a free worker takes next, among ``pending`` (in run order): the first of the term of its
    ``last`` check; else the first of a term no other worker is on (``others``); else the first.

    A term's checks draw the same shapes for the same ops, so keeping them in one worker spares a framework that
    compiles per op and shape (JAX) compiling each program in every worker; a worker out of terms of its own
    helps with another's. Each check's row is the same whichever worker runs it.
    """
    if not pending:
        raise ValueError("next_check: pending is empty; expected at least one check left to take")
    for index in pending:
        if terms[index] == last:
            return index
    for index in pending:
        if terms[index] not in others:
            return index
    return pending[0]


def _wait(workers: list[_Worker], hard_limits: Sequence[float | None]) -> None:
    """Block until a worker sends something or dies, a time limit (``hard_limits[check]``) falls due, or 1 s passes."""
    timeout = 1.0
    now = time.monotonic()
    for w in workers:
        if w.check is not None and hard_limits[w.check] is not None:
            timeout = min(timeout, max(0.0, w.started + hard_limits[w.check] - now))
    handles: list[Any] = [w.conn for w in workers] + [w.sentinel for w in workers if w.sentinel is not None]
    if handles:
        wait(handles, timeout)


class _Starter:
    """Starts workers of one run (their files go to ``tmp``)."""

    def __init__(
        self,
        bk: Backend,
        checks: list[Check],
        mode: str,
        spec: str,
        device: str | None,
        settings: RunSettings,
        xfail: dict[str, str],
        tmp: Path,
        life: WorkerLife | None = None,
    ) -> None:
        self.bk, self.checks, self.mode, self.spec, self.device = bk, checks, mode, spec, device
        self.settings, self.xfail, self.tmp = settings, xfail, tmp
        self.life = life or WorkerLife()
        self.count = 0

    def __call__(self) -> _Worker:
        self.count += 1
        crumb, log = self.tmp / f"w{self.count}.crumb", self.tmp / f"w{self.count}.log"
        crumb.write_bytes(b"")
        log.write_bytes(b"")
        if self.mode == "fork":
            ctx = multiprocessing.get_context("fork")
            conn, child = ctx.Pipe()
            args = (child, self.bk, self.checks, self.settings, self.xfail, str(crumb), str(log), self.life)
            proc: Any = ctx.Process(target=serve, args=args, daemon=True)
            proc.start()
            child.close()
            return _Worker(self, conn, proc, crumb, log)
        conn, child = multiprocessing.Pipe()
        code = "from dlterms.conformance.worker import spawned_worker; spawned_worker()"
        with open(log, "ab") as err:
            popen = subprocess.Popen(
                [sys.executable, "-c", code, str(child.fileno())],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        child.close()
        conn.send(
            {
                "spec": self.spec,
                "device": self.device,
                "keys": [c.key for c in self.checks],
                "dtypes": list(dict.fromkeys(c.dtype for c in self.checks)),
                "settings": self.settings,
                "xfail": self.xfail,
                "path": list(sys.path),
                "crumb": str(crumb),
                "log": str(log),
                "life": self.life,
            }
        )
        return _Worker(self, conn, popen, crumb, log)


class _Worker:
    """The supervisor's view of one worker process."""

    def __init__(self, starter: _Starter, conn: Connection, proc: Any, crumb: Path, log: Path) -> None:
        self.starter, self.conn, self.proc, self.crumb, self.log = starter, conn, proc, crumb, log
        self.ready = False
        self.alive = True
        self.failed_to_start = ""
        self.check: int | None = None
        self.term: str | None = None  # the term of the last check it took (see next_check)
        self.started = 0.0
        self.served = False  # it has served its time (see worker_life): a fresh worker takes the next check

    @property
    def sentinel(self) -> int | None:
        return getattr(self.proc, "sentinel", None)  # a forked worker's; a spawned one is watched through its pipe

    def exit_code(self) -> int | None:
        return self.proc.exitcode if hasattr(self.proc, "exitcode") else self.proc.poll()

    def assign(self, index: int) -> None:
        self.check, self.started = index, time.monotonic()
        self.term = self.starter.checks[index].invariant.term
        self.conn.send(index)

    def receive(self) -> tuple[list[tuple[Any, ...]], bool]:
        """The messages waiting on the pipe (``ready`` and ``failed`` are handled here), and whether it died."""
        messages = []
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if message[0] == "ready":
                    self.ready = True
                elif message[0] == "failed":
                    self.failed_to_start = message[1]
                else:
                    messages.append(message)
        except (EOFError, OSError):
            return messages, True
        return messages, self.exit_code() is not None

    def collect(self, hard_limits: Sequence[float | None]) -> list[tuple[int, Result]]:
        """The rows this worker finished, and the row of the check it died on or ran past the limit with."""
        rows: list[tuple[int, Result]] = []
        messages, dead = self.receive()
        for message in messages:
            if message[0] == "row":
                rows.append((message[1], _result(message[2])))
                self.check = None
                self.served = message[3]
        if dead:
            self.kill()
            if self.check is not None:
                rows.append((self.check, apply_xfail(self._crash_row(), self.starter.xfail)))
            elif not self.ready and not self.failed_to_start:
                self.failed_to_start = f"the worker process died while loading the backend ({self.how_it_ended()})"
        elif self.check is not None and (limit := hard_limits[self.check]) and time.monotonic() - self.started > limit:
            self.kill()
            rows.append((self.check, apply_xfail(self._timeout_row(), self.starter.xfail)))
        return rows

    def how_it_ended(self) -> str:
        code = self.exit_code()
        if code is None:
            return "it stopped answering"
        if code < 0:
            name = _signal_name(-code)
            oom = "; e.g. the out-of-memory killer" if -code == signal.SIGKILL else ""
            return f"{name} (signal {-code}{oom})"
        return f"the worker exited with code {code}"

    def _base_row(self, index: int) -> tuple[Result, dict[str, Any] | None, int]:
        check = self.starter.checks[index]
        inv, bk = check.invariant, self.starter.bk
        row = Result(inv.term, inv.id, check.dtype, "error", inv.statement, inv.kind, backend=bk.name, device=bk.device)
        row.duration_s = time.monotonic() - self.started
        crumb = _read_crumb(self.crumb)
        case, examples = (crumb[2], crumb[1]) if crumb and crumb[0] == index else (None, 0)
        row.counterexample, row.examples = case, examples
        return row, case, examples

    def _crash_row(self) -> Result:
        row, case, _ = self._base_row(self.check)  # type: ignore[arg-type]
        where = "on the case below" if case is not None else "before its first case"
        row.message = f"crashed: {self.how_it_ended()} {where}; the run went on in a new worker"
        code, lines = self.exit_code(), read_log(self.log)
        crash: dict[str, Any] = {"exit_code": code, "signal": _signal_name(-code) if code and code < 0 else None}
        if said := fatal_message(lines):
            crash["message"] = said
            row.message += f". It said: {clip(said, ROW_MESSAGE_CHARS)}"
        row.details = {"crash": crash, "traceback": log_tail(lines)}
        return row

    def _timeout_row(self) -> Result:
        row, _, _ = self._base_row(self.check)  # type: ignore[arg-type]
        limit = time_limit(self.starter.checks[self.check].invariant, self.starter.settings.timeout_s) or 0.0  # type: ignore[index]
        row.message = (
            f"timeout: ran past its time limit of {limit:g} s and did not stop within {HARD_LIMIT_MARGIN_S:g} s more "
            "(a call that does not return to Python, e.g. in C code); the worker was killed"
        )
        row.details = {"traceback": log_tail(read_log(self.log))}
        return row

    def unstarted_row(self, check: Check) -> Result:
        inv, bk = check.invariant, self.starter.bk
        row = Result(inv.term, inv.id, check.dtype, "error", inv.statement, inv.kind, backend=bk.name, device=bk.device)
        row.message = f"not run: {self.failed_to_start}"
        row.details = {"traceback": log_tail(read_log(self.log))}
        return row

    def stop(self) -> None:
        """Ask the worker to finish and wait a moment for it; kill it if it does not."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        deadline = time.monotonic() + 2.0
        while self.exit_code() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self.kill()

    def kill(self) -> None:
        if self.exit_code() is None:
            self.proc.kill()
        if hasattr(self.proc, "join"):
            self.proc.join()
        else:
            self.proc.wait()
        self.conn.close()
        self.alive = False


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "a signal"


def _result(data: dict[str, Any]) -> Result:
    return Result(**{k: data[k] for k in Result.__dataclass_fields__ if k in data})


def _read_crumb(path: Path) -> tuple[int, int, Any] | None:
    """(check index, examples so far, the case being tried) as the worker last wrote it; None if unreadable."""
    try:
        return read_crumb(path.read_bytes())
    except OSError:
        return None


# --- probes: the special values and conventions of a report --------------------------------------------------


def run_jobs(
    bk: Backend,
    jobs: Sequence[tuple[Any, ...]],
    limits: Sequence[float],
    *,
    mode: str,
    spec: str = "",
    device: str | None = None,
) -> list[tuple[Any, str]]:
    """Send each job (a message of :mod:`.worker`) to a worker, one at a time; per job ``(answer, "")``, or
    ``(None, why)`` when the worker gave none.

    ``why`` is ``"crashed: SIGSEGV (signal 11)"`` (or ``"crashed: the worker exited
    with code 3"``) when the job killed its worker, ``"killed: ran past its time
    limit of T s"`` when it ran :data:`~.limits.HARD_LIMIT_MARGIN_S` past
    ``limits[i]`` (0: no limit) and its worker was killed, or why a spawned worker
    could not load the backend (then for every job left). A new worker takes the
    job after one that killed its worker. ``mode`` fork or spawn, ``spec`` and
    ``device`` as for :func:`run_isolated`.
    """
    answers: list[tuple[Any, str]] = []
    with tempfile.TemporaryDirectory(prefix="dlterms-workers-") as tmp:
        start = _Starter(bk, [], mode, spec, device, RunSettings(), {}, Path(tmp))
        worker: _Worker | None = None
        try:
            while len(answers) < len(jobs):
                job, limit = jobs[len(answers)], limits[len(answers)]
                hard_limit = limit + HARD_LIMIT_MARGIN_S if limit else None
                if worker is None:
                    worker = start()
                if worker.ready and worker.check is None:
                    worker.check, worker.started = 0, time.monotonic()
                    worker.conn.send(job)
                _wait([worker], [hard_limit])
                messages, dead = worker.receive()
                for message in messages:
                    answers.append((message[2], ""))
                    worker.check = None
                late = worker.check is not None and hard_limit and time.monotonic() - worker.started > hard_limit
                if not (dead or late or worker.failed_to_start):
                    continue
                worker.kill()  # first: once it is reaped, its exit code says how it ended
                if dead and not worker.ready and not worker.failed_to_start:
                    worker.failed_to_start = f"the worker died while loading the backend ({worker.how_it_ended()})"
                if worker.failed_to_start:
                    answers += [(None, worker.failed_to_start)] * (len(jobs) - len(answers))
                elif late:
                    answers.append((None, f"killed: ran past its time limit of {limit:g} s"))
                elif worker.check is not None:
                    answers.append((None, f"crashed: {worker.how_it_ended()}"))
                worker = None
            if worker is not None:
                worker.stop()
        finally:
            if worker is not None:
                worker.kill()
    return answers
