"""Special values (NaN, ±inf, −0.0, the loss clamp, empty batches) measured through a backend, as facts.

The reference defines what each op returns on special inputs (its docstrings
say so, and ``tests/reference/test_special_values.py`` pins them by hand): NaN
propagates, ±inf follow the limits of the formula (σ(−∞) = 0, the softmax of a
row with one +∞ is one-hot, a row of all −∞ is 0/0 = NaN), the binary
cross-entropy clamps each log at −100. Frameworks do not all agree, and none
of them is wrong to differ: ``torch.softmax([inf, 0])`` computes ``inf − inf``
and returns NaN. So these are **facts, not failures**: :func:`measure` calls
each op of a backend *through its adapter* on each special input and reports
what came back next to the canonical value::

    {"id", "description", "op", "input", "value", "canonical", "matches_canonical"}

``value`` is ``None`` (and ``matches_canonical`` too) when the backend lacks
the op, and ``"error: <Type>: <message>"`` when the call raised or ran past
its time limit (after which the op's other probes are skipped): measuring never
fails or hangs a run. NaN and infinities are written ``"nan"``, ``"inf"``, ``"-inf"``
(the report is strict JSON). A refusal matches a canonical refusal (the
reference refuses NaN probabilities; so does PyTorch) whatever the exception type.
The records are the ``special_values`` section of a conformance report.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlterms import reference

from .backends import Backend
from .checks import json_safe

__all__ = ["SPECIAL_VALUES", "SpecialValue", "canonical", "measure", "same_values"]

INF, NAN = math.inf, math.nan


@dataclass(frozen=True)
class SpecialValue:
    """One special input of one op: ``op(**args)``, ``tensors``/``indices`` converted by the backend."""

    id: str
    description: str
    op: str
    args: dict[str, Any]
    tensors: tuple[str, ...] = ("x",)
    indices: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # keyword arguments passed as they are
    signed_zeros: bool = False  # whether +0.0 and −0.0 count as different here


def _image(v: float, w: float) -> list:
    return [[[[v, w], [0.0, 1.0]]]]  # (1, 1, 2, 2)


SPECIAL_VALUES: tuple[SpecialValue, ...] = (
    SpecialValue(
        "sigmoid.at_infinities", "sigmoid(−∞) = 0 and sigmoid(+∞) = 1, the limits.", "sigmoid", {"x": [-INF, INF]}
    ),
    SpecialValue(
        "sigmoid.nan_propagates", "sigmoid(NaN) = NaN; the other element is unaffected.", "sigmoid", {"x": [NAN, 0.0]}
    ),
    SpecialValue("tanh.at_infinities", "tanh(∓∞) = ∓1, the limits.", "tanh", {"x": [-INF, INF]}),
    SpecialValue(
        "tanh.keeps_negative_zero", "tanh(−0.0) = −0.0 (tanh is odd).", "tanh", {"x": [-0.0]}, signed_zeros=True
    ),
    SpecialValue("relu.at_infinities", "relu(−∞) = 0, relu(+∞) = +∞.", "relu", {"x": [-INF, INF]}),
    SpecialValue("relu.nan_propagates", "relu(NaN) = NaN (max(0, NaN) must not drop the NaN).", "relu", {"x": [NAN]}),
    SpecialValue(
        "leaky_relu.at_negative_infinity", "leaky_relu(−∞) = −∞ (a·x with a > 0).", "leaky_relu", {"x": [-INF, INF]}
    ),
    SpecialValue(
        "softmax.one_positive_infinity",
        "softmax([+∞, 0, −1]) = [1, 0, 0]: the limit, where the max-shift computes ∞ − ∞ = NaN.",
        "softmax",
        {"x": [INF, 0.0, -1.0]},
    ),
    SpecialValue(
        "softmax.two_positive_infinities",
        "softmax([+∞, +∞, 0]) = [½, ½, 0]: the +∞ entries share the mass.",
        "softmax",
        {"x": [INF, INF, 0.0]},
    ),
    SpecialValue(
        "softmax.negative_infinity_entry",
        "softmax([−∞, 0, 0]) = [0, ½, ½]: a masked (−∞) logit gets probability 0.",
        "softmax",
        {"x": [-INF, 0.0, 0.0]},
    ),
    SpecialValue(
        "softmax.all_negative_infinity",
        "softmax([−∞, −∞]) = [NaN, NaN]: 0/0, undefined.",
        "softmax",
        {"x": [-INF, -INF]},
    ),
    SpecialValue(
        "softmax.nan_poisons_its_row",
        "A NaN makes its whole row NaN and leaves the other rows alone.",
        "softmax",
        {"x": [[NAN, 0.0], [0.0, 0.0]]},
    ),
    SpecialValue(
        "log_softmax.one_positive_infinity",
        "log_softmax([+∞, 0]) = [0, −∞], the limit.",
        "log_softmax",
        {"x": [INF, 0.0]},
    ),
    SpecialValue(
        "log_softmax.negative_infinity_entry",
        "log_softmax([−∞, 0]) = [−∞, 0]: a masked logit.",
        "log_softmax",
        {"x": [-INF, 0.0]},
    ),
    SpecialValue(
        "log_softmax.all_negative_infinity",
        "log_softmax([−∞, −∞]) = [NaN, NaN]: log(0/0).",
        "log_softmax",
        {"x": [-INF, -INF]},
    ),
    SpecialValue(
        "mse_loss.infinite_error",
        "mse_loss elementwise at ±∞: (∞ − 0)² = ∞, (∞ − ∞)² = NaN.",
        "mse_loss",
        {"input": [INF, INF], "target": [0.0, INF]},
        tensors=("input", "target"),
        extra={"reduction": "none"},
    ),
    SpecialValue(
        "mse_loss.mean_of_nothing",
        "mse_loss of empty tensors with reduction='mean' is NaN (0/0).",
        "mse_loss",
        {"input": [], "target": []},
        tensors=("input", "target"),
    ),
    SpecialValue(
        "binary_cross_entropy.clamped_when_confidently_wrong",
        "binary_cross_entropy(p=0, y=1) = binary_cross_entropy(p=1, y=0) = 100: each log is clamped at −100.",
        "binary_cross_entropy",
        {"input": [0.0, 1.0], "target": [1.0, 0.0]},
        tensors=("input", "target"),
        extra={"reduction": "none"},
    ),
    SpecialValue(
        "binary_cross_entropy.zero_when_certain_and_right",
        "binary_cross_entropy(p=y) = 0 for the hard labels 0 and 1 (0·log 0 taken as 0).",
        "binary_cross_entropy",
        {"input": [0.0, 1.0], "target": [0.0, 1.0]},
        tensors=("input", "target"),
        extra={"reduction": "none"},
    ),
    SpecialValue(
        "binary_cross_entropy.refuses_nan",
        "A NaN probability is refused (an error), not turned into a loss.",
        "binary_cross_entropy",
        {"input": [NAN], "target": [1.0]},
        tensors=("input", "target"),
    ),
    SpecialValue(
        "cross_entropy.infinite_logit_at_target",
        "cross_entropy([[+∞, 0]], [0]) = 0: the target takes all the probability.",
        "cross_entropy",
        {"logits": [[INF, 0.0]], "target": [0]},
        tensors=("logits",),
        indices=("target",),
    ),
    SpecialValue(
        "cross_entropy.infinite_logit_elsewhere",
        "cross_entropy([[+∞, 0]], [1]) = +∞: the target has probability 0.",
        "cross_entropy",
        {"logits": [[INF, 0.0]], "target": [1]},
        tensors=("logits",),
        indices=("target",),
    ),
    SpecialValue(
        "cross_entropy.masked_class",
        "cross_entropy([[−∞, 0]], [1]) = 0: a masked (−∞) class takes nothing from the others.",
        "cross_entropy",
        {"logits": [[-INF, 0.0]], "target": [1]},
        tensors=("logits",),
        indices=("target",),
    ),
    SpecialValue(
        "sgd_step.zero_rate_infinite_gradient",
        "sgd_step with lr = 0 and an infinite gradient gives NaN (0·∞), as IEEE arithmetic does.",
        "sgd_step",
        {"param": [1.0], "grad": [INF]},
        tensors=("param", "grad"),
        extra={"lr": 0.0},
    ),
    SpecialValue(
        "conv2d.infinity_times_zero_weight",
        "conv2d of an input holding +∞ with a zero weight gives NaN (0·∞), as IEEE arithmetic does.",
        "conv2d",
        {"x": _image(INF, 0.0), "weight": [[[[0.0]]]]},
        tensors=("x", "weight"),
    ),
    SpecialValue(
        "max_pool2d.nan_in_window",
        "max_pool2d of a window holding NaN is NaN (the NaN is not skipped).",
        "max_pool2d",
        {"x": _image(NAN, 5.0)},
        extra={"kernel_size": 2},
    ),
    SpecialValue(
        "avg_pool2d.infinity_in_window",
        "avg_pool2d of a window holding +∞ is +∞.",
        "avg_pool2d",
        {"x": _image(INF, 5.0)},
        extra={"kernel_size": 2},
    ),
)


def _call(impl: Any, sv: SpecialValue, convert: Any) -> Any:
    kwargs = {k: convert(v, "int64" if k in sv.indices else None) for k, v in sv.args.items()}
    return getattr(impl, sv.op)(**kwargs, **sv.extra)


def _outcome(call: Any, timeout_s: float | None = None) -> Any:
    """The nested-list result of ``call()``, or ``"error: <Type>: <message>"``."""
    from .runner import CheckTimeout, _TimeLimit  # the runner's per-check time limit (SIGALRM, main thread)

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), _TimeLimit(timeout_s):
            warnings.simplefilter("ignore")  # NaN and inf are the point here
            return call()
    except (Exception, CheckTimeout) as exc:  # a probe that raises (or hangs) is a fact too
        return f"error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def canonical(sv: SpecialValue) -> Any:
    """What :mod:`dlterms.reference` returns for ``sv`` (a nested list or number, or an error string)."""
    return _outcome(lambda: _call(reference, sv, lambda v, dtype: v))


def same_values(value: Any, canonical_value: Any, rtol: float = 1e-12, signed_zeros: bool = False) -> bool:
    """NaN where NaN, the same infinities, finite values within ``rtol`` (and the same sign of each zero if asked)."""
    if isinstance(canonical_value, str) or isinstance(value, str):
        return isinstance(value, str) and isinstance(canonical_value, str)  # both refused
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


def measure(bk: Backend, timeout_s: float | None = 5.0) -> list[dict[str, Any]]:
    """One record per special value: what the backend's op returns and whether it is the canonical value.

    Computed in float64 where the backend has it, else in its most precise
    dtype (finite values then compared within that dtype's resolution). Each
    call has ``timeout_s`` seconds; an op that runs past it is not called again.
    """
    hung: set[str] = set()
    dtype = next((d for d in ("float64", "float32", "bfloat16", "float16") if d in bk.dtypes), "float64")
    rtol = {"float64": 1e-12, "float32": 1e-6}.get(dtype, 1e-2)
    records = []
    for sv in SPECIAL_VALUES:
        expected = canonical(sv)
        record: dict[str, Any] = {
            "id": sv.id,
            "description": sv.description,
            "op": sv.op,
            "input": json_safe({**sv.args, **sv.extra}),
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
    return np.asarray(bk.to_numpy(out), dtype=np.float64).tolist()
