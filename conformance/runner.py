"""Run the registered invariants against a backend, one Hypothesis property each.

Each (invariant, dtype) pair is one *check* and becomes one row with a status:

* ``pass``: no counterexample in ``max_examples`` generated cases;
* ``fail``: the property is false; the row carries the shrunk counterexample,
  the worst element and the numbers of the
  :class:`~dlterms.conformance.checks.Violation`;
* ``error``: the backend raised, or the check ran past its time limit;
* ``unsupported``: the backend lacks an op, the dtype, or ``vjp``;
* ``skip``: Hypothesis could not generate a valid case;
* ``xfail`` / ``xpass``: a check listed as an expected failure that failed / passed.

Runs are deterministic: the same seed gives the same cases and verdicts
(``derandomize`` is not used because it ignores the seed; every run is seeded,
with 0 by default).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable

from . import invariants as _invariants  # noqa: F401  (registers every invariant)
from .backends import Backend
from .checks import Unsupported, Violation, json_safe, measure_errors
from .limits import CheckTimeout, TimeLimit
from .registry import INVARIANTS, Invariant
from .settings import (
    DEEP_MAX_EXAMPLES,
    DEFAULT_DTYPES,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_TIMEOUT_S,
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
    "apply_xfail",
    "plan",
    "run",
    "run_checks",
    "run_one",
    "select",
    "summary",
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
    details: dict[str, Any] = field(default_factory=dict)

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
                "message": self.message,
                "counterexample": self.counterexample,
                "details": self.details,
            }
        )


def select(terms: Iterable[str] | None = None) -> list[Invariant]:
    """The registered invariants of ``terms`` (all when None), in the seed's reading order.

    Terms come in glossary order (the seed's sections, then each entry's
    ``order``); a term's invariants in registration order.
    """
    from dlterms.glossary import load_terms

    rank = {term_id: i for i, term_id in enumerate(load_terms())}
    wanted = set(terms) if terms else None
    chosen = [inv for inv in INVARIANTS.values() if wanted is None or inv.term in wanted]
    position = {inv.id: i for i, inv in enumerate(INVARIANTS.values())}
    return sorted(chosen, key=lambda inv: (rank.get(inv.term, len(rank)), position[inv.id]))


def plan(
    terms: Iterable[str] | None = None,
    dtypes: Iterable[str] = DEFAULT_DTYPES,
    shard: tuple[int, int] | None = None,
) -> list[Check]:
    """The checks of a run, in a fixed order; ``shard=(i, n)`` keeps every n-th from the i-th (1-based).

    Round-robin over the fixed order spreads slow and fast invariants evenly,
    and the same (i, n) always selects the same checks.
    """
    dtypes = tuple(dtypes)
    checks = [
        Check(inv, dtype) for inv in select(terms) for dtype in dtypes if inv.dtypes is None or dtype in inv.dtypes
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
    return None


def run_one(
    bk: Backend,
    inv: Invariant,
    dtype: str,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = DEFAULT_SEED,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
) -> Result:
    """Check one invariant in one dtype; never raises for a backend's failure, error or hang."""
    row = Result(inv.term, inv.id, dtype, "pass", inv.statement, inv.kind, backend=bk.name, device=bk.device)
    reason = _unsupported_reason(bk, inv, dtype)
    if reason:
        row.status, row.message = "unsupported", reason
        return row

    state: dict[str, Any] = {"case": None, "examples": 0}

    def prop(case: dict[str, Any]) -> None:
        state["case"] = case
        state["examples"] += 1
        inv.check(bk, dtype, **case)

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
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )(test)
    test = hypothesis_seed(seed)(test)
    errors = measure_errors()
    start = time.perf_counter()
    try:
        with TimeLimit(timeout_s):
            test()
    except Violation as exc:
        # Hypothesis replays the shrunk example last, so state holds it.
        row.status, row.message = "fail", str(exc)
        row.counterexample = state["case"]
        row.details = {k: v for k, v in exc.details.items() if k not in ("max_abs_err", "max_rel_err", "tolerance")}
        for k in ("max_abs_err", "max_rel_err", "tolerance"):
            if k in exc.details:
                setattr(row, k, exc.details[k])
    except Unsupported as exc:
        row.status, row.message = "unsupported", str(exc)
    except Unsatisfiable as exc:
        row.status, row.message = "skip", f"no valid example could be generated: {exc}"
    except CheckTimeout as exc:
        row.status, row.message = "error", f"timeout: {exc}"
        row.counterexample = state["case"]
    except Exception as exc:  # the backend raised: an error row, and the run goes on
        row.status = "error"
        row.message = f"{type(exc).__name__}: {exc}"
        row.counterexample = state["case"]
        row.details = {"exception": "".join(traceback.format_exception_only(exc)).strip()}
    row.duration_s = time.perf_counter() - start
    row.examples = state["examples"]
    if row.status == "pass":
        row.max_abs_err, row.max_rel_err, row.tolerance = (
            errors["max_abs_err"],
            errors["max_rel_err"],
            errors["tolerance"],
        )
    return row


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
) -> Iterator[Result]:
    """The run loop: yield one row per check, in the given order, with ``xfail`` applied.

    Every way of running checks goes through here: ``dlterms conform``, its
    ``--jobs`` workers and the pytest plugin. A generator, so an interrupted run
    keeps the rows it yielded. ``settings`` None means the defaults of :class:`RunSettings`.
    """
    settings = settings or RunSettings()
    for check in checks:
        row = run_one(
            bk,
            check.invariant,
            check.dtype,
            max_examples=settings.max_examples,
            seed=settings.seed,
            timeout_s=settings.timeout_s,
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
) -> Iterator[Result]:
    """Yield one row per check of ``terms`` × ``dtypes``, in plan order (see :func:`run_checks`)."""
    settings = RunSettings(max_examples=max_examples, seed=seed, timeout_s=timeout_s)
    yield from run_checks(bk, plan(terms, dtypes, shard), settings, xfail=xfail)


def summary(results: Iterable[Result | dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for r in results:
        counts[r["status"] if isinstance(r, dict) else r.status] += 1
    counts["total"] = sum(counts.values())
    return counts
