"""Run the registered invariants against a backend, one Hypothesis property each.

Each (invariant, dtype) pair becomes one row with a status:

* ``pass``: no counterexample in ``max_examples`` generated cases;
* ``fail``: the property is false; the row carries the shrunk counterexample
  and the numbers of the :class:`~dlterms.conformance.checks.Violation`;
* ``error``: the backend raised; the row carries the exception and the case;
* ``unsupported``: the backend lacks an op, the dtype, or ``vjp``;
* ``skip``: Hypothesis could not generate a valid case.

Runs are deterministic: the same seed gives the same cases and verdicts.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable

from . import invariants as _invariants  # noqa: F401  (registers every invariant)
from .backends import Backend
from .checks import Unsupported, Violation, json_safe
from .registry import INVARIANTS, Invariant

__all__ = ["DEFAULT_DTYPES", "DEFAULT_MAX_EXAMPLES", "Result", "run", "select"]

DEFAULT_DTYPES = ("float32", "float64")
DEFAULT_MAX_EXAMPLES = 25
STATUSES = ("pass", "fail", "error", "unsupported", "skip")


@dataclass
class Result:
    term: str
    invariant: str
    dtype: str
    status: str
    statement: str
    kind: str
    examples: int = 0
    duration_s: float = 0.0
    message: str = ""
    counterexample: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "term": self.term,
                "invariant": self.invariant,
                "dtype": self.dtype,
                "status": self.status,
                "statement": self.statement,
                "kind": self.kind,
                "examples": self.examples,
                "duration_s": round(self.duration_s, 4),
                "message": self.message,
                "counterexample": self.counterexample,
                **self.details,
            }
        )


def select(terms: Iterable[str] | None = None) -> list[Invariant]:
    """The registered invariants of ``terms`` (all when None), in registration order."""
    wanted = set(terms) if terms else None
    return [inv for inv in INVARIANTS.values() if wanted is None or inv.term in wanted]


def _unsupported_reason(bk: Backend, inv: Invariant, dtype: str) -> str | None:
    missing = [op for op in inv.ops if not bk.has(op)]
    if missing:
        return f"backend has no {', '.join(missing)}"
    if inv.needs_vjp and not bk.has_vjp:
        return "backend has no vjp (no autodiff)"
    if dtype not in bk.dtypes:
        return f"backend does not support {dtype}"
    return None


def run_one(bk: Backend, inv: Invariant, dtype: str, *, max_examples: int, seed: int) -> Result:
    """Check one invariant in one dtype; never raises for a backend's failure."""
    row = Result(inv.term, inv.id, dtype, "pass", inv.statement, inv.kind)
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
    test = settings(
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
    start = time.perf_counter()
    try:
        test()
    except Violation as exc:
        # Hypothesis re-runs the shrunk example last, so state holds it.
        row.status, row.message = "fail", str(exc)
        row.counterexample = state["case"]
        row.details = dict(exc.details)
    except Unsupported as exc:
        row.status, row.message = "unsupported", str(exc)
    except Unsatisfiable as exc:
        row.status, row.message = "skip", f"no valid example could be generated: {exc}"
    except Exception as exc:  # the backend raised: an error row, and the run goes on
        row.status = "error"
        row.message = f"{type(exc).__name__}: {exc}"
        row.counterexample = state["case"]
        row.details = {"traceback": traceback.format_exception_only(exc)[-1].strip()}
    row.duration_s = time.perf_counter() - start
    row.examples = state["examples"]
    return row


def run(
    bk: Backend,
    *,
    terms: Iterable[str] | None = None,
    dtypes: Iterable[str] = DEFAULT_DTYPES,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = 0,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every selected invariant in every dtype it applies to, in registry order."""
    results = []
    for inv in select(terms):
        for dtype in dtypes:
            if inv.dtypes is not None and dtype not in inv.dtypes:
                continue
            row = run_one(bk, inv, dtype, max_examples=max_examples, seed=seed)
            results.append(row)
            if progress:
                progress(row)
    return results


def summary(results: Iterable[Result]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for r in results:
        counts[r.status] += 1
    counts["total"] = sum(counts.values())
    return counts
