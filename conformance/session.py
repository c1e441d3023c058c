"""One ``dlterms conform`` run, from the options given to the reports written.

:func:`prepare` checks the options, reads the xfail file, loads the backend
and plans the checks; :meth:`Session.execute` runs them (in worker processes that may crash, see
:mod:`~dlterms.conformance.isolation`, or in this process with ``--isolation off``;
both through :func:`~dlterms.conformance.runner.run_checks`) and survives Ctrl-C
and SIGTERM with the rows done so far; :meth:`Session.report`
builds the JSON report and :func:`write_reports` writes it in each format asked
for. The CLI only parses arguments and prints. A wrong option value raises
:class:`RunError`, whose message names the option, its value and what was expected.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from .backends import CANONICAL_OPS, DEVICE_ENV_VAR, DTYPES, ENV_VAR, Backend, BackendError, load_backend
from .conventions import CONVENTIONS
from .isolation import Isolation, choose_isolation, on_accelerator, run_isolated, run_jobs
from .registry import INVARIANTS
from .report import build_report, merge_reports, probe_time_limit, read_report, write_html, write_json, write_junit
from .runner import FAILING, Check, Result, RunSettings, plan, run_checks
from .settings import (
    DEEP_MAX_EXAMPLES,
    DEFAULT_DTYPES,
    DEFAULT_ISOLATION,
    DEFAULT_JOBS,
    DEFAULT_MATH_MODE,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_TIERS,
    DEFAULT_TIMEOUT_S,
    MATH_MODE_NAMES,
    TIERS,
    expand_dtypes,
    usable_cores,
)
from .special_values import SPECIAL_VALUES
from .special_values import measure as measure_special_values
from .worker import convention_probes, convention_record

__all__ = [
    "Outcome",
    "Request",
    "RunError",
    "Session",
    "measure_facts",
    "merge_report_files",
    "prepare",
    "read_xfail",
    "reduced_precision_warning",
    "write_reports",
]


# A report's special-value records and convention records.
Facts = tuple[list[dict[str, Any]], list[dict[str, Any]]]


class RunError(Exception):
    """A run cannot start as asked: the message names the option, its value and what was expected."""


@dataclass(frozen=True)
class Request:
    """What a conform run was asked to do, as given (checked by :func:`prepare`).

    ``backend`` None reads ``$DLTERMS_BACKEND``, ``device`` None ``$DLTERMS_DEVICE``;
    ``max_examples`` None means the default, or the ``deep`` one. ``sizes`` adds the
    size tier (:mod:`.sizes`) to the default checks. ``jobs`` is a number of worker
    processes, or ``"auto"`` (see :func:`worker_count`).
    """

    backend: str | None = None
    device: str | None = None
    terms: Sequence[str] | None = None
    dtypes: Sequence[str] | None = None
    max_examples: int | None = None
    deep: bool = False
    sizes: bool = False
    seed: int = DEFAULT_SEED
    timeout_s: float | None = DEFAULT_TIMEOUT_S
    shard: tuple[int, int] | None = None
    xfail_file: str | None = None
    jobs: int | str = DEFAULT_JOBS
    repro: str | None = None
    command: str | None = None
    isolation: str = DEFAULT_ISOLATION
    math_mode: str = DEFAULT_MATH_MODE


@dataclass
class Outcome:
    """The rows of a run, in plan order, and whether it was interrupted before the end."""

    results: list[Result] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> bool:
        return any(r.status in FAILING for r in self.results)


@dataclass
class Session:
    """A prepared run: the loaded backend, the planned checks and the settings the report records."""

    request: Request
    backend: Backend
    backend_spec: str
    checks: list[Check]
    run_settings: RunSettings
    xfail: dict[str, str]
    stale_xfail: list[str]
    settings: dict[str, Any]
    isolation: Isolation
    facts: Future[Facts] | None = field(default=None, init=False, repr=False)  # measured beside the checks

    def coverage(self) -> tuple[int, int]:
        """(canonical ops the backend implements, canonical ops)."""
        return len(self.backend.supported_ops()), len(CANONICAL_OPS)

    def warnings(self) -> list[str]:
        """What to say before the run: stale --xfail entries, reduced-precision math (one line each)."""
        stale = [f"--xfail lists {key!r}, which is not a registered invariant" for key in self.stale_xfail]
        reduced = reduced_precision_warning(self.backend, self.settings["dtypes"])
        return stale + ([reduced] if reduced else [])

    def execute(self, on_row: Callable[[Result], None] = lambda row: None) -> Outcome:
        """Run every check; ``on_row`` sees each row as it is done. Ctrl-C or SIGTERM ends the run early.

        The checks run in worker processes (see :mod:`.isolation`), ``--jobs`` of them
        at once, unless the isolation is off: then in this process, one after another.
        With spawned workers on the CPU, the report's special values and conventions are
        measured meanwhile by one more worker (see :meth:`start_facts`).
        """
        outcome = Outcome()
        self.start_facts()
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            if self.isolation.mode == "off":
                rows = run_checks(self.backend, self.checks, self.run_settings, xfail=self.xfail)
            else:
                rows = run_isolated(
                    self.backend,
                    self.checks,
                    mode=self.isolation.mode,
                    spec=self.backend_spec,
                    device=self.request.device,
                    jobs=self.settings["jobs"],
                    settings=self.run_settings,
                    xfail=self.xfail,
                )
            for row in rows:
                outcome.results.append(row)
                on_row(row)
        except KeyboardInterrupt:
            outcome.interrupted = True
        finally:
            signal.signal(signal.SIGTERM, previous)
        return outcome

    def start_facts(self) -> None:
        """Start measuring the report's special values and conventions beside the checks (once).

        Only with spawned workers on the CPU: there the facts' worker is one more framework
        import and its probes (JAX: 11 s, TensorFlow: 7 s here) that would otherwise follow
        the last check, often while a core idles. A thread of this process supervises that
        worker. Forked workers are not started beside a second thread (a fork copies one
        thread of a process whose other threads may hold locks; PyTorch's facts take 1.5 s),
        and two processes starting on one accelerator at once contend for its memory.
        :meth:`report` waits for them.
        """
        if self.facts is not None or self.isolation.mode != "spawn" or on_accelerator(self.backend):
            return
        facts: Future[Facts] = Future()

        def measure() -> None:
            try:
                facts.set_result(self._measure_facts())
            except BaseException as exc:  # handed to whoever waits for the facts
                facts.set_exception(exc)

        # A daemon: a second Ctrl-C while the report waits for it ends the process at once (the worker then
        # reads the end of its pipe and exits).
        threading.Thread(target=measure, name="dlterms-facts", daemon=True).start()
        self.facts = facts

    def _measure_facts(self) -> Facts:
        return measure_facts(
            self.backend,
            mode=self.isolation.mode,
            spec=self.backend_spec,
            device=self.request.device,
            timeout_s=probe_time_limit(self.request.timeout_s),
        )

    def report(self, outcome: Outcome) -> dict[str, Any]:
        """The JSON report (schema ``dlterms.report/1``) of ``outcome``.

        The special values and the conventions are measured in a worker process too
        (:func:`measure_facts`; beside the checks when :meth:`start_facts` started it, else now),
        unless the isolation is off: then here, by :func:`.report.build_report`.
        """
        special = conventions = None
        if self.isolation.mode != "off":
            special, conventions = self.facts.result() if self.facts is not None else self._measure_facts()
        return build_report(
            self.backend,
            outcome.results,
            self.settings,
            backend_spec=self.backend_spec,
            interrupted=outcome.interrupted,
            extra={"xfail_stale": self.stale_xfail} if self.stale_xfail else None,
            special_values=special,
            conventions=conventions,
        )


def prepare(request: Request) -> Session:
    """Check the request, read its xfail file, load the backend and plan the checks; :class:`RunError` if wrong."""
    dtypes = expand_dtypes(list(request.dtypes or DEFAULT_DTYPES))
    for d in dtypes:
        if d not in DTYPES:
            raise RunError(f"--dtype {d!r}: expected one or more of {', '.join(DTYPES)}, or all")
    if request.math_mode not in MATH_MODE_NAMES:
        raise RunError(f"--math-mode {request.math_mode!r}: expected one of {', '.join(MATH_MODE_NAMES)}")
    terms = _term_ids(request.terms, dtypes) if request.terms else None
    xfail = read_xfail(request.xfail_file) if request.xfail_file else {}
    stale = sorted(k for k in xfail if k.split("[", 1)[0] not in INVARIANTS)
    max_examples = request.max_examples or (DEEP_MAX_EXAMPLES if request.deep else DEFAULT_MAX_EXAMPLES)
    spec = request.backend or os.environ.get(ENV_VAR) or ""
    try:
        bk = load_backend(spec or None, device=request.device)
    except BackendError as exc:
        raise RunError(str(exc)) from None
    tiers = TIERS if request.sizes else DEFAULT_TIERS
    checks = plan(terms, dtypes, request.shard, tiers)
    if request.repro:
        checks = [c for c in plan(terms, dtypes) if request.repro in (c.key, c.invariant.id)]
        if not checks:
            raise RunError(
                f"--repro {request.repro!r}: no such check; expected an id such as 'softmax.sums_to_one[float32]'"
            )
    try:
        isolation = choose_isolation(request.isolation, bk, spec)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    jobs = worker_count(request.jobs, isolation, bk)
    settings = {
        "terms": terms,
        "dtypes": dtypes,
        "max_examples": max_examples,
        "seed": request.seed,
        "device": request.device or os.environ.get(DEVICE_ENV_VAR),
        "timeout_s": request.timeout_s,
        "shard": f"{request.shard[0]}/{request.shard[1]}" if request.shard else None,
        "tiers": list(tiers),
        "xfail": request.xfail_file,
        "jobs": jobs,
        "isolation": isolation.mode,
        "isolation_reason": isolation.reason,
        "math_mode": request.math_mode,
        "command": request.command,
    }
    run_settings = RunSettings(
        max_examples=max_examples, seed=request.seed, timeout_s=request.timeout_s, math_mode=request.math_mode
    )
    return Session(request, bk, spec, checks, run_settings, xfail, stale, settings, isolation)


def worker_count(jobs: int | str, isolation: Isolation, bk: Backend) -> int:
    """The worker processes a run starts at once, for ``--jobs`` (a positive number, or ``"auto"``).

    ``"auto"`` is one worker per usable CPU core (:func:`~.settings.usable_cores`), or 1 where
    the checks run in this process (``--isolation off``) or on an accelerator. An explicit number
    above 1 without worker processes is a :class:`RunError`.
    """
    if jobs == "auto":
        return 1 if isolation.mode == "off" or on_accelerator(bk) else usable_cores()
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise RunError(f"--jobs {jobs!r}: expected a positive integer or auto")
    if isolation.mode == "off" and jobs > 1:
        raise RunError(f"--jobs {jobs}: needs worker processes, but {isolation.reason}; expected --jobs 1")
    return jobs


def reduced_precision_warning(bk: Backend, dtypes: Sequence[str]) -> str | None:
    """Why float32 failures are expected when a math mode (TF32, ...) is on and float32 is checked; else None.

    The mode is recorded in the report (``backend.math_modes``, ``backend.reduced_precision``).
    Judged strictly (``--math-mode strict``), float32 keeps its tolerance and each failing row
    of the affected kernels says whether it passes under TF32; ``--math-mode tf32`` judges by
    TF32's (see :mod:`.math_modes`).
    """
    reduced = bk.facts().get("reduced_precision") or []
    if not reduced or "float32" not in dtypes:
        return None
    return (
        f"reduced-precision math is on for {bk.device}: {'; '.join(reduced)}. Judged by float32's tolerance "
        "(--math-mode strict), float32 rows of linear, conv2d and rnn may fail, and each failure says whether "
        "it passes under TF32; --math-mode tf32 judges them by TF32's tolerance, and NVIDIA_TF32_OVERRIDE=0 "
        "turns TF32 off."
    )


def _term_ids(terms: Sequence[str], dtypes: Sequence[str]) -> list[str]:
    """The glossary ids of ``terms`` (``dlterms:<id>`` accepted); RunError for an unknown or untested term."""
    from dlterms.glossary import get_term

    try:
        ids = [get_term(t).id for t in terms]
    except KeyError as exc:
        raise RunError(f"--terms: {exc.args[0]}") from None
    if not plan(ids, dtypes):
        raise RunError(f"--terms {','.join(terms)}: these terms have no invariants in {', '.join(dtypes)}")
    return ids


def read_xfail(path: str) -> dict[str, str]:
    """``--xfail FILE``: a TOML table ``[xfail]`` of check id (``inv`` or ``inv[dtype]``) = reason."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise RunError(f"--xfail {path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RunError(f"--xfail {path}: not valid TOML: {exc}") from None
    table = data.get("xfail")
    if not isinstance(table, dict) or not all(isinstance(v, str) and v.strip() for v in table.values()):
        raise RunError(f"--xfail {path}: expected a table [xfail] of 'invariant.id' = \"reason\" (a non-empty string)")
    return dict(table)


def write_reports(
    report: dict[str, Any], *, json_path: str | None = None, junit: str | None = None, html: str | None = None
) -> list[str]:
    """Write ``report`` as JSON, JUnit XML and HTML to the paths given; return the paths written, in that order."""
    written = []
    for path, write in ((json_path, write_json), (junit, write_junit), (html, write_html)):
        if path:
            write(path, report)
            written.append(path)
    return written


def merge_report_files(paths: Sequence[str]) -> dict[str, Any]:
    """Read the JSON reports of a run's shards and merge them, rows in plan order; RunError if they do not fit."""
    reports = []
    for path in paths:
        try:
            reports.append(read_report(path))
        except ValueError as exc:
            raise RunError(f"report merge: {exc}") from None
    first = reports[0]["settings"]
    order = [c.key for c in plan(first.get("terms"), first.get("dtypes") or (), None, first.get("tiers") or TIERS)]
    try:
        return merge_reports(reports, order=order)
    except ValueError as exc:
        raise RunError(str(exc)) from None


def measure_facts(
    bk: Backend, *, mode: str, spec: str = "", device: str | None = None, timeout_s: float | None = 5.0
) -> Facts:
    """The report's special values (:func:`.special_values.measure`) and conventions, measured in a worker.

    One worker (``mode`` fork or spawn, :func:`.isolation.run_jobs`) measures the
    special values one op at a time, then the conventions one at a time
    (:func:`.worker.measure_convention`: the probe that
    :func:`.worker.convention_probes` picks, through the adapter's ops, a probe it
    declares or its framework's API), each probe within ``timeout_s``.
    When a job kills the worker, a new worker takes the next one, and the job's
    records say so in their ``value`` (``matches_canonical`` false for a special
    value, None for a convention, as for any probe that errs):

    * ``"error: crashed: SIGSEGV (signal 11)"`` (or ``"... the worker exited with
      code 3"``) for each special value of the op, or for the one convention,
      whose probe crashed; a convention's record keeps its ``api``, which says
      what the probe called;
    * ``"error: killed: ran past its time limit of T s"`` for a job still running
      :data:`~.limits.HARD_LIMIT_MARGIN_S` past its limit (a hang in C code; T is
      ``timeout_s`` for a convention, ``timeout_s`` times its number of probes for an op);
    * ``"error: <why>"`` for every job left when a spawned worker cannot load the backend;
    * ``"error: OpTimedOut: ..."`` for a convention probed through an op whose special
      values ran past their time limit in the same worker (not called again).
    """
    unmeasured = dataclasses.replace(bk, impl=_NoOps(bk.impl))
    special = {r["id"]: r for r in measure_special_values(unmeasured, timeout_s=timeout_s)}
    ops = list(dict.fromkeys(sv.op for sv in SPECIAL_VALUES if bk.has(sv.op)))
    probes = convention_probes(bk)
    conventions = {cid: convention_record(bk, cid, None) for cid in CONVENTIONS if cid not in probes}
    per_op = {op: [sv.id for sv in SPECIAL_VALUES if sv.op == op] for op in ops}
    jobs = [("special_values", op, timeout_s) for op in ops] + [("conventions", cid, timeout_s) for cid in probes]
    limits = [len(per_op[op]) * (timeout_s or 0) for op in ops] + [timeout_s or 0] * len(probes)
    answers = run_jobs(bk, jobs, limits, mode=mode, spec=spec, device=device)
    for (kind, what, _), (answer, why) in zip(jobs, answers, strict=True):
        if kind == "conventions":
            lost = {**convention_record(bk, what, None), "api": probes[what].api, "value": f"error: {why}"}
            conventions[what] = lost if why else answer
        elif why:
            for i in per_op[what]:
                special[i] = {**special[i], "value": f"error: {why}", "matches_canonical": False}
        else:
            special.update((r["id"], r) for r in answer)
    return [special[sv.id] for sv in SPECIAL_VALUES], [conventions[cid] for cid in CONVENTIONS]


class _NoOps:
    """An adapter's stand-in with no canonical op: measure() then writes every record, unmeasured."""

    def __init__(self, impl: Any) -> None:
        self._impl = impl

    def __getattr__(self, name: str) -> Any:
        if name in CANONICAL_OPS:
            raise AttributeError(name)
        return getattr(self._impl, name)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
