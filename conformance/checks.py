"""Shared assertions for invariants: whole-array comparisons that explain themselves.

Every check compares in the same order (shape, then dtype-independent
values) and raises :class:`Violation` carrying the numbers a report needs:
the worst element's index, the expected and actual values there, the largest
absolute and relative error and the tolerance used.
"""

from __future__ import annotations

import math
import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tolerances import Relative, Tolerance

__all__ = [
    "Unsupported",
    "UnsupportedCase",
    "Violation",
    "as_float64",
    "assert_close",
    "assert_shape",
    "assert_that",
    "json_safe",
    "measure_errors",
]


@dataclass
class Violation(AssertionError):
    """An invariant does not hold on an example."""

    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class Unsupported(Exception):
    """The backend lacks something the invariant needs (an op, a dtype, autodiff)."""


class UnsupportedCase(Unsupported):
    """The backend cannot express this one case (an option value its API lacks).

    The runner sets the example aside and checks the others; the row counts the cases set aside
    and is unsupported only if every case was.
    """


# The largest errors seen by assert_close while one invariant runs (see measure_errors).
_ERRORS: ContextVar[dict[str, Any] | None] = ContextVar("dlterms_errors", default=None)


def measure_errors() -> dict[str, Any]:
    """Start recording the largest absolute and relative errors of every :func:`assert_close`.

    Returns the dict that the following comparisons update in place: ``max_abs_err``,
    ``max_rel_err``, ``error_ratio`` (the largest error over the error allowed there, −1 before
    any comparison) and the ``tolerance`` of the comparison that came closest to failing.
    """
    acc: dict[str, Any] = {"max_abs_err": 0.0, "max_rel_err": 0.0, "tolerance": None, "error_ratio": -1.0}
    _ERRORS.set(acc)
    return acc


def _record(err: np.ndarray, rel: np.ndarray, allowed: np.ndarray, tol: Tolerance | Relative) -> None:
    acc = _ERRORS.get()
    if acc is None or not err.size:
        return
    acc["max_abs_err"] = max(acc["max_abs_err"], float(err.max()))
    acc["max_rel_err"] = max(acc["max_rel_err"], float(rel.max()))
    closeness = float(np.max(err / allowed)) if np.all(allowed > 0) else float(err.max() > 0)
    # An error beyond ~10³⁰⁸ times the allowance (1e305 against the smallest normal number)
    # overflows the ratio: kept the largest finite float, a number as the report's schema says.
    closeness = min(closeness, sys.float_info.max)
    if closeness > acc["error_ratio"]:
        acc["error_ratio"], acc["tolerance"] = closeness, tol.as_dict()


def _float(x: Any) -> float | str:
    return json_safe(float(x))


def as_float64(bk: Any, x: Any) -> np.ndarray:
    """A backend's native array as a float64 NumPy array (exact: every dtype widens to float64)."""
    return np.asarray(bk.to_numpy(x), dtype=np.float64)


def assert_shape(actual: Any, expected: tuple[int, ...], what: str) -> None:
    shape = tuple(np.shape(actual))
    if shape != tuple(expected):
        raise Violation(f"{what}: shape {shape}, expected {tuple(expected)}", {"shape": list(shape)})


def assert_close(
    actual: Any,
    expected: Any,
    tol: Tolerance | Relative,
    what: str,
    scale: Any = None,
    extra: Any = None,
    largest: float = math.inf,
) -> None:
    """``|actual − expected| ≤ tol.allowed(expected, scale, extra)`` elementwise, NaN and inf matching in place.

    With a :class:`~dlterms.conformance.tolerances.Tolerance`, ``atol + rtol·|expected| + extra``; with a
    :class:`~dlterms.conformance.tolerances.Relative` bound, ``k·u·(|expected| + scale) + extra + λ``
    (``scale``: the op's sensitivity, ``extra``: what its sums may add, each broadcast to the
    shape). Compared in float64; the arrays must have the same shape. ``largest``: the dtype's
    largest finite value, when ``expected`` is exact (the float64 reference) and may lie beyond
    it: where ``|expected|`` plus the allowed error reaches it, ±inf of the same sign is the
    result rounded to the dtype, and is accepted.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert_shape(a, e.shape, what)
    s = None if scale is None else np.broadcast_to(np.asarray(scale, dtype=np.float64), e.shape)
    x = None if extra is None else np.broadcast_to(np.asarray(extra, dtype=np.float64), e.shape)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # NaN, inf and 0/0 handled below
        _compare(a, e, tol, what, s, x, largest)


def _compare(
    a: np.ndarray,
    e: np.ndarray,
    tol: Tolerance | Relative,
    what: str,
    scale: np.ndarray | None,
    extra: np.ndarray | None,
    largest: float,
) -> None:
    finite = np.isfinite(a) & np.isfinite(e)
    exact = np.isfinite(e)
    err = np.where(finite, np.abs(a - e), 0.0)
    allowed = tol.allowed(
        np.where(exact, e, 0.0),
        None if scale is None else np.where(exact, scale, 0.0),
        None if extra is None else np.where(exact, extra, 0.0),
    )
    overflowed = np.isinf(a) & exact & (np.sign(a) == np.sign(e)) & (np.abs(e) + allowed >= largest)
    # Where either side is NaN or ±inf, both must be the same special value (or a rounded overflow).
    special_mismatch = ~finite & ~((a == e) | (np.isnan(a) & np.isnan(e)) | overflowed)
    bad = special_mismatch | (finite & (err > allowed))
    rel = np.where(finite & (e != 0), err / np.where(e != 0, np.abs(e), 1.0), np.where(err > 0, np.inf, 0.0))
    _record(err, np.where(finite & (e != 0), rel, 0.0), allowed, tol)
    if not bad.any():
        return
    score = np.where(bad, np.where(finite, err / allowed, np.inf), -np.inf)
    worst = np.unravel_index(int(np.argmax(score)), a.shape) if a.shape else ()
    details = {
        "index": [int(i) for i in worst],
        "expected": _float(e[worst]),
        "got": _float(a[worst]),
        "max_abs_err": _float(err.max()) if err.size else 0.0,
        "max_rel_err": _float(np.max(np.where(finite, rel, 0.0))) if rel.size else 0.0,
        "mismatched": int(bad.sum()),
        "size": int(a.size),
        "tolerance": tol.as_dict(),
    }
    if isinstance(tol, Relative):
        details["allowed"] = _float(allowed[worst])
        details["error_in_u"] = _float(err[worst] / tol.u) if finite[worst] else "inf"
    raise Violation(
        f"{what}: {details['mismatched']}/{details['size']} elements differ; worst at index "
        f"{tuple(details['index'])}: got {details['got']}, expected {details['expected']} "
        f"({tol.describe()}{_allowed_text(details)})",
        details,
    )


def _allowed_text(details: dict[str, Any]) -> str:
    if "allowed" not in details:
        return ""
    return f"; error {details['error_in_u']} u, allowed {details['allowed']}"


def assert_that(condition: Any, what: str, **details: Any) -> None:
    """A boolean (or boolean array: all must hold) property; ``details`` go into the report."""
    ok = np.asarray(condition)
    if ok.all():
        return
    if ok.shape:
        where = np.argwhere(~ok)
        details.setdefault("index", [int(i) for i in where[0]])
        details.setdefault("mismatched", int((~ok).sum()))
    raise Violation(what, {k: json_safe(v) for k, v in details.items()})


def json_safe(v: Any) -> Any:
    """``v`` with arrays as lists and NaN/inf as the strings ``"nan"``, ``"inf"``, ``"-inf"``."""
    if isinstance(v, np.ndarray | np.generic):
        v = v.tolist()
    if isinstance(v, float) and not np.isfinite(v):
        return repr(v)
    if isinstance(v, list | tuple):
        return [json_safe(x) for x in v]
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    return v
