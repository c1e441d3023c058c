"""Is a failure reproducible? Re-run the check on the same case and compare what the ops returned.

When a check fails, the runner calls :func:`rerun` on the shrunk case. The check
runs twice more on a backend that records the output of every op call (and of
``vjp``), in call order. The check's own code is deterministic, so as long as
the outputs agree, the next call gets the same input in both runs: the first
call whose outputs differ received the same input twice and answered
differently. That call is reported with its op and the element that differs
most: "nondeterministic: two calls of avg_pool2d on the same input gave 0.25
and 0.0". When no op output differs but the outcomes do (a pass and a fail,
or two different messages), the outcomes are reported instead.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends import CANONICAL_OPS, Backend
from .checks import json_safe

__all__ = ["Nondeterminism", "outcome_of", "rerun"]

# Besides the canonical ops, the backend's vjp is recorded (its gradients can be nondeterministic too).
_RECORDED = frozenset(CANONICAL_OPS) | {"vjp"}


@dataclass(frozen=True)
class Nondeterminism:
    """Two runs of one check on the same case that disagree.

    ``op`` is the first op call whose outputs differed ("" when every op output
    agreed and only the outcomes differ), ``call`` its position (1-based) among
    the check's op calls, ``index`` the element that differs most, ``first`` and
    ``second`` its two values; ``outcomes`` what each run concluded.
    """

    outcomes: tuple[str, ...]
    op: str = ""
    call: int = 0
    index: list[int] = field(default_factory=list)
    first: Any = None
    second: Any = None

    def describe(self) -> str:
        """One line for the row's message."""
        if self.op:
            where = f" at element {tuple(self.index)}" if self.index else ""
            return (
                f"nondeterministic: two calls of {self.op} on the same input gave {self.first} and "
                f"{self.second}{where} (op call {self.call} of the check)"
            )
        shown = "; then ".join(dict.fromkeys(self.outcomes))
        return f"nondeterministic: runs of the check on the same input gave: {shown}"

    def as_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self) | {"description": self.describe()})


def outcome_of(check: Callable[..., Any], bk: Backend, dtype: str, case: Mapping[str, Any]) -> str:
    """Run ``check`` once on a copy of ``case``: ``"pass"``, ``"fail: <message>"`` or ``"error: <type>: <message>"``."""
    try:
        check(bk, dtype, **copy.deepcopy(dict(case)))
    except AssertionError as exc:  # a Violation
        return f"fail: {exc}"
    except Exception as exc:
        return f"error: {type(exc).__name__}: {exc}"
    return "pass"


def rerun(
    bk: Backend,
    check: Callable[..., Any],
    dtype: str,
    case: Mapping[str, Any],
    *,
    first_outcome: str | None = None,
    runs: int = 2,
) -> Nondeterminism | None:
    """Run ``check`` ``runs`` times on ``case`` with every op output recorded; None when all runs agree.

    ``first_outcome`` is what the failing run concluded (``outcome_of``'s form);
    it takes part in the comparison of outcomes.
    """
    recordings: list[list[tuple[str, Any]]] = []
    outcomes = [first_outcome] if first_outcome is not None else []
    for _ in range(runs):
        calls: list[tuple[str, Any]] = []
        recording = dataclasses.replace(bk, impl=_Recorder(bk.impl, calls))
        outcomes.append(outcome_of(check, recording, dtype, case))
        recordings.append(calls)
    for later in recordings[1:]:
        found = _first_difference(recordings[0], later)
        if found is not None:
            return Nondeterminism(outcomes=tuple(outcomes), **found)
    if len(set(outcomes)) > 1:
        return Nondeterminism(outcomes=tuple(outcomes))
    return None


class _Recorder:
    """An adapter's stand-in that appends ``(op, output as NumPy)`` to ``calls`` for every op call."""

    def __init__(self, impl: Any, calls: list[tuple[str, Any]]) -> None:
        self._impl = impl
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._impl, name)
        if name not in _RECORDED or not callable(attr):
            return attr

        def recorded(*args: Any, **kwargs: Any) -> Any:
            out = attr(*args, **kwargs)
            self._calls.append((name, self._snapshot(out)))
            return out

        return recorded

    def _snapshot(self, out: Any) -> Any:
        if out is None:
            return None
        if isinstance(out, tuple | list):
            return tuple(self._snapshot(o) for o in out)
        try:
            return np.array(self._impl.to_numpy(out), dtype=np.float64)
        except Exception:  # not an array of this backend: compare its text
            return repr(out)


def _first_difference(a: list[tuple[str, Any]], b: list[tuple[str, Any]]) -> dict[str, Any] | None:
    """The first op call (same position, same op) whose outputs differ, as Nondeterminism fields."""
    for call, ((op_a, out_a), (op_b, out_b)) in enumerate(zip(a, b, strict=False), start=1):
        if op_a != op_b:
            return None  # the runs took different paths: only their outcomes can be compared
        diff = _differ(out_a, out_b)
        if diff is not None:
            index, first, second = diff
            return {"op": op_a, "call": call, "index": index, "first": first, "second": second}
    return None


def _differ(a: Any, b: Any) -> tuple[list[int], Any, Any] | None:
    """None when ``a`` and ``b`` are identical (NaN equal to NaN), else (index, value in a, value in b)."""
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        for x, y in zip(a, b, strict=True):
            found = _differ(x, y)
            if found is not None:
                return found
        return None
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return None if repr(a) == repr(b) else ([], repr(a), repr(b))
    if a.shape != b.shape:
        return [], f"shape {a.shape}", f"shape {b.shape}"
    if np.array_equal(a, b, equal_nan=True):
        return None
    with np.errstate(invalid="ignore"):
        gap = np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, np.abs(a - b))
    gap = np.where(np.isnan(gap), np.inf, gap)  # NaN against a number, or inf against inf of the other sign
    worst = np.unravel_index(int(np.argmax(gap)), a.shape) if a.shape else ()
    return [int(i) for i in worst], json_safe(float(a[worst])), json_safe(float(b[worst]))
