"""Special values (NaN, ±inf, −0.0, the loss clamp, empty batches): checked where the definition fixes them.

Each op record of :mod:`dlterms.ops` declares its special inputs once, with
the hand-checked value and the reason (:class:`dlterms.ops.Special`), and
whether the definition *fixes* that value (``kind="definition"``: NaN in gives
NaN out, the limits of sigmoid and tanh at ±∞, a masked −∞ logit gets
probability 0) or leaves a *choice* (``kind="choice"``: a softmax row holding
+∞, where the max-shift every framework uses computes ∞ − ∞ = NaN; the −100
clamp of the binary cross-entropy; the mean of an empty batch). The reference
is tested against every value (``tests/reference/test_special_values.py``).

Through a backend:

* the definitions are **checks that fail**: :func:`check_definitions` is the
  generated invariant ``<op>.special_values`` (kind ``robustness``), which
  raises a :class:`~dlterms.conformance.checks.Violation` naming the probe, the
  input, the value and the expected value. A definition that refuses an input
  (:data:`~dlterms.ops.REFUSED`) is met by an error or a NaN result, never a number;
* every special value, both kinds, is also **measured as a fact**: :func:`measure`
  calls each op of a backend *through its adapter* on each special input and
  reports what came back next to the canonical value::

    {"id", "description", "kind", "op", "input", "value", "canonical", "matches_canonical"}

``value`` is ``None`` (and ``matches_canonical`` too) when the backend lacks
the op, and ``"error: <Type>: <message>"`` when the call raised or ran past
its time limit (after which the op's other probes are skipped): measuring never
fails or hangs a run. NaN and infinities are written ``"nan"``, ``"inf"``, ``"-inf"``
(the report is strict JSON). In the facts a refusal matches a canonical refusal
(the reference refuses NaN probabilities; so does PyTorch) whatever the exception
type. The records are the ``special_values`` section of a conformance report.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlterms import ops, reference
from dlterms.ops import REFUSED

from .backends import Backend
from .checks import Violation, json_safe
from .limits import CheckTimeout, TimeLimit

__all__ = [
    "SPECIAL_VALUES",
    "SpecialValue",
    "canonical",
    "check_definitions",
    "definitions",
    "measure",
    "meets_definition",
    "on_reference",
    "same_values",
]


@dataclass(frozen=True)
class SpecialValue:
    """One special input of one op (a :class:`dlterms.ops.Special` of its record), ready to probe."""

    id: str
    description: str
    op: str
    args: dict[str, Any]
    canonical: Any  # the hand-checked value declared in the record (REFUSED: the op must raise)
    tensors: tuple[str, ...] = ("x",)
    indices: tuple[str, ...] = ()
    signed_zeros: bool = False  # whether +0.0 and −0.0 count as different here
    kind: str = "definition"  # "definition": checked and failed; "choice": a fact only

    @property
    def fixed(self) -> bool:
        return self.kind == "definition"


def _probes() -> tuple[SpecialValue, ...]:
    out = []
    for op in ops.OPS.values():
        for sv in op.special_values:
            out.append(
                SpecialValue(
                    id=f"{op.name}.{sv.name}",
                    description=sv.description,
                    op=op.name,
                    args=sv.args,
                    canonical=sv.value,
                    tensors=op.tensors,
                    indices=op.indices,
                    signed_zeros=sv.signed_zeros,
                    kind=sv.kind,
                )
            )
    return tuple(out)


SPECIAL_VALUES: tuple[SpecialValue, ...] = _probes()


def _call(impl: Any, sv: SpecialValue, convert: Any) -> Any:
    kwargs = {
        k: convert(v, "int64" if k in sv.indices else None) if k in sv.tensors or k in sv.indices else v
        for k, v in sv.args.items()
    }
    return getattr(impl, sv.op)(**kwargs)


def _outcome(call: Any, timeout_s: float | None = None) -> Any:
    """The nested-list result of ``call()``, or ``"error: <Type>: <message>"``."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), TimeLimit(timeout_s):
            warnings.simplefilter("ignore")  # NaN and inf are the point here
            return call()
    except (Exception, CheckTimeout) as exc:  # a probe that raises (or hangs) is a fact too
        return f"error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def canonical(sv: SpecialValue) -> Any:
    """The canonical value of ``sv``: the record's hand-checked value, or an error string for a refusal."""
    return f"error: the definition refuses {sv.id}" if sv.canonical == REFUSED else sv.canonical


def on_reference(sv: SpecialValue) -> Any:
    """What :mod:`dlterms.reference` returns for ``sv`` (a nested list or number, or an error string)."""
    return _outcome(lambda: _call(reference, sv, lambda v, dtype: v))


def same_values(value: Any, canonical_value: Any, rtol: float = 1e-12, signed_zeros: bool = False) -> bool:
    """NaN where NaN, the same infinities, finite values within ``rtol`` (and the same sign of each zero if asked)."""
    if isinstance(canonical_value, str) or isinstance(value, str):
        return isinstance(value, str) and isinstance(canonical_value, str)  # both refused
    if isinstance(canonical_value, list) and len({np.shape(c) for c in canonical_value}) > 1:
        # The outputs of a multi-output op whose shapes differ (lstm's outputs, h_n, c_n): output by output.
        return (
            isinstance(value, list | tuple)
            and len(value) == len(canonical_value)
            and all(same_values(v, c, rtol, signed_zeros) for v, c in zip(value, canonical_value, strict=True))
        )
    a = np.asarray(value, dtype=np.float64)
    b = np.asarray(canonical_value, dtype=np.float64)
    if a.shape != b.shape:
        return False
    nan = np.isnan(b)
    zero = b == 0
    return bool(
        np.array_equal(np.isnan(a), nan)
        and (not signed_zeros or np.array_equal(np.signbit(a[zero]), np.signbit(b[zero])))
        and np.allclose(a[~nan], b[~nan], rtol=rtol, atol=0.0)  # also compares ±inf exactly
    )


def _resolution(dtype: str) -> float:
    """The relative difference below which two finite values count as the same in ``dtype``."""
    return {"float64": 1e-12, "float32": 1e-6}.get(dtype, 1e-2)


def definitions(op: str) -> tuple[SpecialValue, ...]:
    """The special values of ``op`` that its definition fixes, in record order."""
    return tuple(sv for sv in SPECIAL_VALUES if sv.op == op and sv.fixed)


def meets_definition(value: Any, sv: SpecialValue, dtype: str = "float64") -> bool:
    """Whether ``value`` (a nested list, or an ``"error: ..."`` string) is what the definition fixes for ``sv``.

    A refusal is met by an error or by a result that is NaN everywhere; any
    other value must be :func:`same_values` as the canonical one, within the
    dtype's resolution (the sign of zero compared where the record asks).
    """
    if sv.canonical == REFUSED:
        return isinstance(value, str) or bool(np.all(np.isnan(np.asarray(value, dtype=np.float64))))
    return not isinstance(value, str) and same_values(value, sv.canonical, _resolution(dtype), sv.signed_zeros)


def check_definitions(bk: Backend, op: str, dtype: str) -> None:
    """Call ``op`` on each special input its definition fixes, in ``dtype``; raise a Violation at the first miss.

    The body of the generated invariant ``<op>.special_values``. An exception
    from the backend counts as a value (``"error: ..."``), which meets only a
    refusal; the runner's time limit is left to the runner.
    """
    for sv in definitions(op):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")  # NaN and inf are the point here
                value: Any = _to_lists(bk, _call(bk, sv, lambda v, d: bk.asarray(v, d or dtype)))
        except Exception as exc:  # a refusal, or a crash: a value like any other here
            value = f"error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        if not meets_definition(value, sv, dtype):
            expected = "an error or NaN" if sv.canonical == REFUSED else json_safe(sv.canonical)
            args = json_safe(sv.args)
            raise Violation(
                f"{sv.id}: {op}(**{args}) in {dtype} gave {json_safe(value)}; the definition gives {expected} "
                f"({sv.description})",
                {"probe": sv.id, "input": args, "got": json_safe(value), "expected": expected},
            )


def measure(bk: Backend, timeout_s: float | None = 5.0) -> list[dict[str, Any]]:
    """One record per special value: what the backend's op returns and whether it is the canonical value.

    Computed in float64 where the backend has it, else in its most precise
    dtype (finite values then compared within that dtype's resolution). Each
    call has ``timeout_s`` seconds; an op that runs past it is not called again.
    """
    hung: set[str] = set()
    dtype = next((d for d in ("float64", "float32", "bfloat16", "float16") if d in bk.dtypes), "float64")
    rtol = _resolution(dtype)
    records = []
    for sv in SPECIAL_VALUES:
        expected = canonical(sv)
        record: dict[str, Any] = {
            "id": sv.id,
            "description": sv.description,
            "kind": sv.kind,
            "op": sv.op,
            "input": json_safe(sv.args),
            "value": None,
            "canonical": json_safe(expected),
            "matches_canonical": None,
        }
        if bk.has(sv.op) and sv.op in hung:
            record["value"], record["matches_canonical"] = f"error: skipped: {sv.op} ran past its time limit", False
        elif bk.has(sv.op):
            value = _outcome(
                lambda sv=sv: _to_lists(bk, _call(bk, sv, lambda v, d: bk.asarray(v, d or dtype))), timeout_s
            )
            if isinstance(value, str) and value.startswith("error: CheckTimeout"):
                hung.add(sv.op)
            record["value"] = json_safe(value)
            record["matches_canonical"] = same_values(value, expected, rtol, sv.signed_zeros)
        records.append(record)
    return records


def _to_lists(bk: Backend, out: Any) -> Any:
    if isinstance(out, tuple):  # a multi-output op: one list per output
        return [_to_lists(bk, o) for o in out]
    return np.asarray(bk.to_numpy(out), dtype=np.float64).tolist()
