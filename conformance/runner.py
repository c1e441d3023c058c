"""Run the registered invariants against a backend, one Hypothesis property each.

Each (invariant, dtype) pair is one *check* and becomes one row with a status:

* ``pass``: no counterexample in ``max_examples`` generated cases;
* ``fail``: the property is false; the row carries the shrunk counterexample,
  the worst element and the numbers of the
  :class:`~dlterms.conformance.checks.Violation`;
* ``error``: the backend raised (the row's ``details`` hold the trimmed traceback), the
  check ran past its time limit, or its worker process crashed (see :mod:`.isolation`);
* ``unsupported``: the backend lacks an op, the dtype, ``vjp``, or the op in this dtype
  (its ``op_dtypes``);
* ``skip``: Hypothesis could not generate a valid case;
* ``xfail`` / ``xpass``: a check listed as an expected failure that failed / passed.

A failure is re-checked on its shrunk case (see :mod:`.nondeterminism`): when
the backend answers differently on the same input, the row is still ``fail`` but
carries ``nondeterministic`` and its message says which call gave which values.

Runs are deterministic: the same seed gives the same cases and verdicts
(``derandomize`` is not used because it ignores the seed; every run is seeded,
with 0 by default). Hypothesis keeps its files in a temporary folder for the
run (:func:`private_hypothesis_home`), so a run leaves no ``.hypothesis/`` behind.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, reject
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Flaky, Unsatisfiable

from . import invariants as _invariants  # noqa: F401  (registers every invariant)
from .backends import Backend
from .checks import Unsupported, UnsupportedCase, Violation, json_safe, measure_errors
from .generation import bounded_shrinking, no_local_constants, private_hypothesis_home, reused_expansions
from .limits import CheckTimeout, TimeLimit
from .math_modes import MATH_MODES, affected, device_math_mode, judged_under
from .nondeterminism import Nondeterminism, rerun
from .registry import INVARIANTS, Invariant
from .settings import (
    DEEP_MAX_EXAMPLES,
    DEFAULT_DTYPES,
    DEFAULT_MATH_MODE,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_TIERS,
    DEFAULT_TIMEOUT_S,
    SIZES_TIMEOUT_S,
    TIERS,
    RunSettings,
)

__all__ = [
    "DEEP_MAX_EXAMPLES",
    "DEFAULT_DTYPES",
    "DEFAULT_MAX_EXAMPLES",
    "STATUSES",
    "Check",
    "Result",
    "RunSettings",
    "affected",
    "apply_xfail",
    "device_math_mode",
    "no_local_constants",
    "plan",
    "private_hypothesis_home",
    "run",
    "run_checks",
    "run_one",
    "select",
    "summary",
    "trimmed_traceback",
]

STATUSES = ("pass", "fail", "error", "unsupported", "skip", "xfail", "xpass")
FAILING = ("fail", "error", "xpass")


@dataclass(frozen=True)
class Check:
    """One unit of work: an invariant in one dtype."""

    invariant: Invariant
    dtype: str

    @property
    def key(self) -> str:
        return f"{self.invariant.id}[{self.dtype}]"


@dataclass
class Result:
    term: str
    invariant: str
    dtype: str
    status: str
    statement: str
    kind: str
    backend: str = ""
    device: str = "cpu"
    examples: int = 0
    duration_s: float = 0.0
    message: str = ""
    counterexample: dict[str, Any] | None = None
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    tolerance: dict[str, float] | None = None
    error_ratio: float | None = (
        None  # the largest error over the error allowed there, over all examples (> 1: violated)
    )
    details: dict[str, Any] = field(default_factory=dict)
    nondeterministic: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return f"{self.invariant}[{self.dtype}]"

    def as_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "id": self.key,
                "term": self.term,
                "invariant": self.invariant,
                "dtype": self.dtype,
                "backend": self.backend,
                "device": self.device,
                "status": self.status,
                "statement": self.statement,
                "kind": self.kind,
                "examples": self.examples,
                "duration_s": round(self.duration_s, 4),
                "max_abs_err": self.max_abs_err,
                "max_rel_err": self.max_rel_err,
                "tolerance": self.tolerance,
                "error_ratio": None if self.error_ratio is None else round(self.error_ratio, 4),
                "message": self.message,
                "counterexample": self.counterexample,
                "details": self.details,
                **({"nondeterministic": self.nondeterministic} if self.nondeterministic else {}),
            }
        )


def select(terms: Iterable[str] | None = None, tiers: Iterable[str] = TIERS) -> list[Invariant]:
    """The registered invariants of ``terms`` (all when None) in ``tiers``, in the seed's reading order.

    Terms come in glossary order (the seed's sections, then each entry's
    ``order``); a term's invariants in registration order.
    """
    from dlterms.glossary import load_terms

    rank = {term_id: i for i, term_id in enumerate(load_terms())}
    wanted = set(terms) if terms else None
    tiers = set(tiers)
    chosen = [inv for inv in INVARIANTS.values() if (wanted is None or inv.term in wanted) and inv.tier in tiers]
    position = {inv.id: i for i, inv in enumerate(INVARIANTS.values())}
    return sorted(chosen, key=lambda inv: (rank.get(inv.term, len(rank)), position[inv.id]))


def plan(
    terms: Iterable[str] | None = None,
    dtypes: Iterable[str] = DEFAULT_DTYPES,
    shard: tuple[int, int] | None = None,
    tiers: Iterable[str] = TIERS,
) -> list[Check]:
    """The checks of a run, in a fixed order; ``shard=(i, n)`` keeps every n-th from the i-th (1-based).

    Round-robin over the fixed order spreads slow and fast invariants evenly,
    and the same (i, n) always selects the same checks. ``tiers``: every tier by
    default (a worker looks checks up by key); a run names its own.
    """
    dtypes = tuple(dtypes)
    checks = [
        Check(inv, dtype)
        for inv in select(terms, tiers)
        for dtype in dtypes
        if inv.dtypes is None or dtype in inv.dtypes
    ]
    if shard is not None:
        i, n = shard
        checks = checks[i - 1 :: n]
    return checks


def _unsupported_reason(bk: Backend, inv: Invariant, dtype: str) -> str | None:
    missing = [op for op in inv.ops if not bk.has(op)]
    if missing:
        return f"backend has no {', '.join(missing)}"
    if inv.needs_vjp and not bk.has_vjp:
        return "backend has no vjp (no autodiff)"
    if dtype not in bk.dtypes:
        return f"backend does not support {dtype}"
    partial = [op for op in inv.ops if not bk.supports(op, dtype)]
    if partial:
        return f"backend has {', '.join(partial)} in {', '.join(bk.op_dtypes[partial[0]])} only, not {dtype}"
    return None


def time_limit(inv: Invariant, timeout_s: float | None) -> float | None:
    """The time limit of a check of ``inv``: the run's, or at least :data:`SIZES_TIMEOUT_S` in the size tier."""
    if timeout_s and inv.tier == "sizes":
        return max(timeout_s, SIZES_TIMEOUT_S)
    return timeout_s


def run_one(
    bk: Backend,
    inv: Invariant,
    dtype: str,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = DEFAULT_SEED,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    on_case: Callable[[dict[str, Any]], None] | None = None,
    math_mode: str = DEFAULT_MATH_MODE,
    device_mode: str | None = None,
) -> Result:
    """Check one invariant in one dtype; never raises for a backend's failure, error or hang.

    ``on_case`` is called with each generated case just before the check runs on it
    (the isolation workers record it, so a crash can name the case it died on).

    Math modes: with ``math_mode`` other than "strict", a check the mode affects is judged
    by the mode's tolerances and its row says so (``details["judged_by"]``). Judged strictly,
    a failing check that the device's own mode (``device_mode``, see :func:`device_math_mode`)
    affects is re-judged under that mode on its counterexample, and the row says whether it
    passes there (``details["math_mode"]``).
    """
    row = Result(inv.term, inv.id, dtype, "pass", inv.statement, inv.kind, backend=bk.name, device=bk.device)
    reason = _unsupported_reason(bk, inv, dtype)
    if reason:
        row.status, row.message = "unsupported", reason
        return row

    state: dict[str, Any] = {"case": None, "examples": 0, "set_aside": 0, "set_aside_reason": "", "failure": None}

    def prop(case: dict[str, Any]) -> None:
        state["case"] = case
        state["examples"] += 1
        if on_case is not None:
            on_case(case)
        try:
            inv.check(bk, dtype, **case)
        except UnsupportedCase as exc:
            # A case the backend's API cannot express: set aside, the other cases still checked.
            state["examples"] -= 1
            state["set_aside"] += 1
            state["set_aside_reason"] = state["set_aside_reason"] or str(exc)
            reject()
        except Violation as exc:
            state["failure"] = (case, exc)  # while shrinking: the last failing case tried
            raise

    if inv.max_examples is not None:
        max_examples = min(max_examples, inv.max_examples)
    timeout_s = time_limit(inv, timeout_s)
    test = given(inv.cases(dtype))(prop)
    test = hypothesis_settings(
        # From Hypothesis' defaults, not the loaded profile: a test suite's profile
        # (derandomize, example counts) must not change a conformance run's verdicts.
        parent=hypothesis_settings.get_profile("default"),
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        report_multiple_bugs=False,
        # A size-tier case is a seed: shrinking it would only rerun every shape.
        phases=(Phase.explicit, Phase.generate)
        if inv.tier == "sizes"
        else (Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )(test)
    test = hypothesis_seed(seed)(test)
    errors = measure_errors()
    judge = math_mode if affected(inv, dtype, math_mode) else None
    start = time.perf_counter()
    try:
        with (
            TimeLimit(timeout_s),
            bounded_shrinking(),
            no_local_constants(),
            reused_expansions(),
            judged_under(judge),
        ):
            test()
    except Violation as exc:
        # Hypothesis replays the shrunk example last, so state holds it.
        _fail(row, exc, state["case"])
        _flag(row, _recheck(bk, inv, dtype, state["case"], f"fail: {exc}", _left(timeout_s, start), judge))
    except Flaky as exc:
        # The same case failed and then passed while Hypothesis replayed it.
        violation = next((e for e in getattr(exc, "exceptions", ()) if isinstance(e, Violation)), None)
        if violation is None:
            _error(row, exc, state["case"])
        else:
            _fail(row, violation, state["case"])
        first = f"fail: {violation}" if violation is not None else f"error: {exc}"
        found = _recheck(bk, inv, dtype, state["case"], first, _left(timeout_s, start), judge)
        _flag(row, found or Nondeterminism(outcomes=(first, "pass")))
    except Unsupported as exc:
        row.status, row.message = "unsupported", str(exc)
    except Unsatisfiable as exc:
        if state["set_aside"]:
            row.status, row.message = "unsupported", f"every case was set aside: {state['set_aside_reason']}"
        else:
            row.status, row.message = "skip", f"no valid example could be generated: {exc}"
    except CheckTimeout as exc:
        if state["failure"] is None:
            row.status, row.message = "error", f"timeout: {exc}"
            row.counterexample = state["case"]
        else:  # the invariant failed, and shrinking its case ran out of time: still a failure
            _fail(row, state["failure"][1], state["failure"][0])
            row.details["shrinking"] = f"stopped: {exc}; the counterexample is the last failing case tried"
    except Exception as exc:  # the backend raised: an error row, and the run goes on
        _error(row, exc, state["case"])
    if judge is not None:
        row.details["judged_by"] = judge
    elif row.status == "fail" and affected(inv, dtype, device_mode) and row.counterexample is not None:
        _under_device_mode(row, bk, inv, dtype, device_mode or "", _left(timeout_s, start))
    row.duration_s = time.perf_counter() - start
    row.examples = state["examples"]
    if state["set_aside"]:
        row.details["set_aside"] = {"cases": state["set_aside"], "reason": state["set_aside_reason"]}
    if row.status == "pass":
        row.max_abs_err, row.max_rel_err, row.tolerance = (
            errors["max_abs_err"],
            errors["max_rel_err"],
            errors["tolerance"],
        )
    if row.status in ("pass", "fail") and errors["error_ratio"] >= 0:
        row.error_ratio = errors["error_ratio"]
    return row


def _under_device_mode(
    row: Result, bk: Backend, inv: Invariant, dtype: str, mode: str, timeout_s: float | None
) -> None:
    """Re-judge a failing row's counterexample under the device's math mode, and say the outcome in the row."""
    if timeout_s is not None and timeout_s <= 0:
        return
    try:
        with TimeLimit(timeout_s), judged_under(mode):
            inv.check(bk, dtype, **(row.counterexample or {}))
        passes = True
    except Violation:
        passes = False
    except Exception:  # an error or a timeout on the re-run: no verdict under the mode
        return
    label = MATH_MODES[mode].label
    row.details["math_mode"] = {"mode": mode, "passes": passes}
    row.message += (
        f" [passes under {label}, the device's math mode: --math-mode {mode} judges by it]"
        if passes
        else f" [fails under {label} too]"
    )


def _fail(row: Result, exc: Violation, case: dict[str, Any] | None) -> None:
    row.status, row.message = "fail", str(exc)
    row.counterexample = case
    row.details = {k: v for k, v in exc.details.items() if k not in ("max_abs_err", "max_rel_err", "tolerance")}
    for k in ("max_abs_err", "max_rel_err", "tolerance"):
        if k in exc.details:
            setattr(row, k, exc.details[k])


def _error(row: Result, exc: BaseException, case: dict[str, Any] | None) -> None:
    row.status = "error"
    row.message = f"{type(exc).__name__}: {exc}"
    row.counterexample = case
    row.details = {
        "exception": "".join(traceback.format_exception_only(exc)).strip(),
        "traceback": trimmed_traceback(exc),
    }


def _left(timeout_s: float | None, start: float) -> float | None:
    """What is left of the check's time limit (None: no limit)."""
    return None if not timeout_s else timeout_s - (time.perf_counter() - start)


def _recheck(
    bk: Backend,
    inv: Invariant,
    dtype: str,
    case: dict[str, Any],
    first: str,
    timeout_s: float | None,
    judge: str | None = None,
) -> Nondeterminism | None:
    """Re-run the failing ``case`` within ``timeout_s`` (None: no limit), judged as the check was (``judge``).

    No verdict when the time runs out.
    """
    if timeout_s is not None and timeout_s <= 0:
        return None
    try:
        with TimeLimit(timeout_s), judged_under(judge):
            return rerun(bk, inv.check, dtype, case, first_outcome=first)
    except CheckTimeout:
        return None


def _flag(row: Result, found: Nondeterminism | None) -> None:
    """Mark the failing ``row`` nondeterministic when re-running its case gave something else."""
    if found is not None:
        row.nondeterministic = found.as_dict()
        row.message = f"{found.describe()}; the failure: {row.message}"


def trimmed_traceback(exc: BaseException, limit: int = 20) -> str:
    """The last ``limit`` lines of ``exc``'s traceback without Hypothesis' and the runner's frames.

    What is left are the frames of the invariant, the adapter and the framework.
    """
    import hypothesis

    skip = (os.path.dirname(hypothesis.__file__) + os.sep, os.path.abspath(__file__))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(skip)]
    last = f"{type(exc).__name__}: {exc}"  # without the notes Hypothesis adds (the case is in the row already)
    lines = ("".join(traceback.format_list(frames)) + last).splitlines()
    return "\n".join(lines[-limit:])


def apply_xfail(row: Result, xfail: Mapping[str, str]) -> Result:
    """Turn a listed check's fail/error into ``xfail`` and its pass into ``xpass``."""
    reason = xfail.get(row.key, xfail.get(row.invariant))
    if reason is None:
        return row
    if row.status in ("fail", "error"):
        row.status, row.message = "xfail", f"expected failure ({reason}): {row.message}"
    elif row.status == "pass":
        row.status = "xpass"
        row.message = f"listed as an expected failure ({reason}) but passed: remove it from the xfail file"
    return row


def run_checks(
    bk: Backend,
    checks: Iterable[Check],
    settings: RunSettings | None = None,
    *,
    xfail: Mapping[str, str] | None = None,
    on_case: Callable[[Check, dict[str, Any]], None] | None = None,
) -> Iterator[Result]:
    """The run loop: yield one row per check, in the given order, with ``xfail`` applied.

    Every way of running checks goes through here: ``dlterms conform`` (in its
    worker processes, see :mod:`.isolation`) and the pytest plugin. A generator, so
    an interrupted run keeps the rows it yielded. ``settings`` None means the
    defaults of :class:`RunSettings`; ``on_case(check, case)`` sees each case
    before the check runs on it.
    """
    settings = settings or RunSettings()
    device_mode = device_math_mode(bk)
    with private_hypothesis_home():
        for check in checks:
            row = run_one(
                bk,
                check.invariant,
                check.dtype,
                max_examples=settings.max_examples,
                seed=settings.seed,
                timeout_s=settings.timeout_s,
                on_case=None if on_case is None else lambda case, check=check: on_case(check, case),
                math_mode=settings.math_mode,
                device_mode=device_mode,
            )
            yield apply_xfail(row, xfail or {})


def run(
    bk: Backend,
    *,
    terms: Iterable[str] | None = None,
    dtypes: Iterable[str] = DEFAULT_DTYPES,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = DEFAULT_SEED,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    shard: tuple[int, int] | None = None,
    xfail: dict[str, str] | None = None,
    math_mode: str = DEFAULT_MATH_MODE,
    tiers: Iterable[str] = DEFAULT_TIERS,
) -> Iterator[Result]:
    """Yield one row per check of ``terms`` × ``dtypes`` in ``tiers``, in plan order (see :func:`run_checks`)."""
    settings = RunSettings(max_examples=max_examples, seed=seed, timeout_s=timeout_s, math_mode=math_mode)
    yield from run_checks(bk, plan(terms, dtypes, shard, tiers), settings, xfail=xfail)


def summary(results: Iterable[Result | dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for r in results:
        counts[r["status"] if isinstance(r, dict) else r.status] += 1
    counts["total"] = sum(counts.values())
    return counts
