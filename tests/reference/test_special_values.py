"""Special values (NaN, ±inf, −0.0, the loss clamp, empty input): what the reference returns, and the checks.

Each op record (:mod:`dlterms.ops`) declares its special inputs with a
hand-checked value (from the limit of the formula, or IEEE arithmetic where
the formula is a product such as 0·∞); the reference must return exactly
that value, sign of zero included. The conformance side is checked too: every
backend is measured without a crash, a framework that differs on a *choice* is
reported (a fact, not a failure), a value the *definition* fixes is checked by
``<op>.special_values`` (a relu that maps NaN to 0 fails), and a broken or
partial adapter gives an error string or ``None``, never an exception.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from dlterms.conformance import known_defects, load_backend
from dlterms.conformance.registry import INVARIANTS
from dlterms.conformance.runner import run_one
from dlterms.conformance.special_values import (
    SPECIAL_VALUES,
    canonical,
    measure,
    meets_definition,
    on_reference,
    same_values,
)

from dlterms import ops
from dlterms import reference as ref

INF, NAN = math.inf, math.nan


def identical(got: Any, expected: Any) -> bool:
    """Equal as nested lists (a multi-output op's tuple as one list per output), NaN equal to NaN, zeros' signs."""
    if isinstance(expected, list):
        return isinstance(got, list | tuple) and len(got) == len(expected) and all(map(identical, got, expected))
    if isinstance(got, float | int) and not isinstance(got, bool):
        if math.isnan(expected):
            return math.isnan(got)
        return got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)
    return False


def test_every_record_special_value_is_probed() -> None:
    """The probes are exactly the special values declared in the op records, in record order."""
    declared = [f"{op.name}.{sv.name}" for op in ops.OPS.values() for sv in op.special_values]
    assert [sv.id for sv in SPECIAL_VALUES] == declared
    assert len(declared) == len(set(declared)) == 149


@pytest.mark.parametrize("sv", SPECIAL_VALUES, ids=lambda sv: sv.id)
def test_reference_returns_the_declared_special_value(sv: Any) -> None:
    """The reference returns the record's hand-checked value, sign of zero included (or refuses it)."""
    got = on_reference(sv)
    if sv.canonical == ops.REFUSED:
        assert isinstance(got, str) and got.startswith("error: ValueError"), got
    else:
        assert identical(got, sv.canonical), (sv.id, got)


def test_a_refusal_is_canonical_as_an_error_string() -> None:
    """A declared refusal is reported as an error string, which any framework error matches."""
    refusals = [sv for sv in SPECIAL_VALUES if sv.canonical == ops.REFUSED]
    assert [sv.id for sv in refusals] == [
        "binary_cross_entropy.refuses_nan",
        "binary_cross_entropy.refuses_infinity",
        "binary_cross_entropy_with_logits.refuses_target_outside",
        "smoothed_cross_entropy.refuses_smoothing_outside",
        "kl_div.refuses_negative_target",
    ]
    for sv in refusals:
        assert canonical(sv).startswith("error: ")
        assert same_values("error: RuntimeError: all elements of input should be between 0 and 1", canonical(sv))
        assert not same_values([0.0], canonical(sv))


# --- limits not in the conformance table (no framework op to probe, or VJPs) ------------------------


def test_derivatives_vanish_at_the_infinities() -> None:
    """σ'(±∞) = tanh'(±∞) = 0, and NaN propagates through every elementwise VJP."""
    assert ref.sigmoid_vjp([-INF, INF], [1.0, 1.0]) == [0.0, 0.0]
    assert ref.tanh_vjp([-INF, INF], [1.0, 1.0]) == [0.0, 0.0]
    for name in ("sigmoid_vjp", "tanh_vjp", "relu_vjp", "leaky_relu_vjp"):
        assert math.isnan(getattr(ref, name)([NAN], [1.0])[0]), name


def test_relu_and_leaky_relu_at_zero_and_negative_zero() -> None:
    """relu(−0.0) = +0.0; the derivative at 0 is 0 for relu and the slope for leaky_relu."""
    assert math.copysign(1.0, ref.relu(-0.0)) == 1.0
    assert ref.relu_vjp([0.0, -0.0], [1.0, 1.0]) == [0.0, 0.0]
    assert ref.leaky_relu_vjp([0.0], [1.0], negative_slope=0.25) == [0.25]
    assert math.copysign(1.0, ref.leaky_relu(-0.0)) == -1.0  # 0.01 · (−0.0) = −0.0


def test_leaky_relu_with_zero_slope_at_negative_infinity_is_nan() -> None:
    """With slope 0, leaky_relu(−∞) = 0·(−∞) = NaN (IEEE, as PyTorch), unlike relu(−∞) = 0."""
    assert math.isnan(ref.leaky_relu(-INF, negative_slope=0.0))
    assert ref.relu(-INF) == 0.0


def test_log_softmax_shares_infinite_mass_as_minus_log_k() -> None:
    """log_softmax([+∞, +∞, 0]) = [−log 2, −log 2, −∞] and softmax is its exponential."""
    assert ref.log_softmax([INF, INF, 0.0]) == [-math.log(2.0), -math.log(2.0), -INF]
    assert ref.softmax([INF, INF, INF, 0.0]) == [1 / 3, 1 / 3, 1 / 3, 0.0]


def test_softmax_vjp_at_a_one_hot_limit() -> None:
    """softmax_vjp at [+∞, 0] is 0: the one-hot limit has zero Jacobian."""
    assert ref.softmax_vjp([INF, 0.0], [1.0, -2.0]) == [0.0, 0.0]


def test_binary_cross_entropy_at_the_clamp_and_its_gradient() -> None:
    """ℓ(0, y) = 100·y and ℓ(1, y) = 100·(1 − y); the gradient of a clamped log is 0 there."""
    assert ref.binary_cross_entropy([0.0, 0.0, 1.0], [0.25, 0.0, 0.75], reduction="none") == [25.0, 0.0, 25.0]
    assert ref.binary_cross_entropy_vjp([0.0, 1.0], [1.0, 0.0], [1.0, 1.0], reduction="none") == [0.0, 0.0]


def test_empty_input_reductions() -> None:
    """Over no elements, 'sum' is 0 and 'mean' is NaN (0/0), as in PyTorch; 'none' is empty."""
    assert ref.mse_loss([], [], reduction="sum") == 0.0
    assert math.isnan(ref.cross_entropy([], [], reduction="mean"))
    assert ref.cross_entropy([], [], reduction="none") == []
    assert ref.sigmoid([]) == [] and ref.softmax([[]]) == [[]]


def test_large_finite_inputs_stay_finite() -> None:
    """Huge finite logits never overflow: softmax/log_softmax/cross_entropy of ±1e308 are finite where the limit is."""
    assert ref.softmax([1e308, -1e308]) == [1.0, 0.0]
    assert ref.log_softmax([1e308, 1e308]) == [-math.log(2.0)] * 2
    assert ref.cross_entropy([[1e308, -1e308]], [0]) == 0.0
    assert ref.sigmoid([-1e308, 1e308]) == [0.0, 1.0]


# --- the conformance side: facts, not failures ---------------------------------------------------


def test_same_values_compares_nan_infinities_and_optionally_zero_signs() -> None:
    """NaN matches NaN, inf matches only the same inf, −0.0 differs from +0.0 only when asked; refusals match."""
    assert same_values([NAN, INF, 1.0], [NAN, INF, 1.0])
    assert not same_values([NAN, 1.0], [1.0, 1.0])
    assert not same_values([-INF], [INF])
    assert same_values([-0.0], [0.0]) and not same_values([-0.0], [0.0], signed_zeros=True)
    assert same_values("error: RuntimeError: x", "error: ValueError: y")
    assert not same_values([1.0], "error: ValueError: y")
    assert not same_values([1.0, 2.0], [[1.0, 2.0]])


def test_the_reference_backend_matches_every_special_value() -> None:
    """Measured through its own adapter, the reference returns every canonical value."""
    records = measure(load_backend("reference"))
    assert [r["id"] for r in records] == [sv.id for sv in SPECIAL_VALUES]
    assert all(r["matches_canonical"] is True for r in records), [
        r["id"] for r in records if not r["matches_canonical"]
    ]


def test_torch_is_measured_and_its_differences_are_reported_not_raised() -> None:
    """PyTorch's softmax of a row holding +inf is NaN (∞ − ∞): a recorded fact, with strict-JSON values."""
    pytest.importorskip("torch")
    records = {r["id"]: r for r in measure(load_backend("torch"))}
    one_hot = records["softmax.one_positive_infinity"]
    assert one_hot["matches_canonical"] is False
    assert one_hot["value"] == ["nan", "nan", "nan"] and one_hot["canonical"] == [1.0, 0.0, 0.0]
    assert records["sigmoid.at_infinities"]["matches_canonical"] is True
    assert records["binary_cross_entropy.refuses_nan"]["value"].startswith("error: RuntimeError")
    assert records["binary_cross_entropy.refuses_nan"]["matches_canonical"] is True


def test_a_broken_or_partial_backend_is_measured_without_a_crash(broken_backend) -> None:
    """An op that raises gives value 'error: ...' (matches False); a missing op gives value and match None."""

    def exploding_softmax(x: Any, axis: int = -1) -> Any:
        raise ZeroDivisionError("boom")

    bk = load_backend(broken_backend("numpy", softmax=exploding_softmax, relu=None))
    records = {r["id"]: r for r in measure(bk)}
    assert records["softmax.one_positive_infinity"]["value"] == "error: ZeroDivisionError: boom"
    assert records["softmax.one_positive_infinity"]["matches_canonical"] is False
    assert records["relu.at_infinities"]["value"] is None and records["relu.at_infinities"]["matches_canonical"] is None
    assert records["sigmoid.at_infinities"]["matches_canonical"] is True


def test_conform_reports_special_values_without_changing_the_verdict(conform) -> None:
    """`dlterms conform` writes a special_values list and prints one line; differences do not fail the run."""
    pytest.importorskip("torch")
    run = conform("torch", "--terms", "softmax", "--dtype", "float64", "--max-examples", "3")
    assert run.code == 0, run.out
    ids = {r["id"]: r for r in run.report["special_values"]}
    assert ids["softmax.one_positive_infinity"]["matches_canonical"] is False
    line = next(t for t in run.out.splitlines() if t.startswith("special values left to a choice"))
    assert "(facts, not failures)" in line
    assert "differs: " in line and "softmax.one_positive_infinity" in line


def test_a_hanging_op_is_cut_off_and_not_called_again(broken_backend) -> None:
    """An op that hangs gives 'error: CheckTimeout ...' after the time limit; its other probes are skipped."""
    import time

    calls = []

    def hanging_relu(x: Any) -> Any:
        calls.append(x)
        time.sleep(60)

    bk = load_backend(broken_backend("numpy", relu=hanging_relu))
    start = time.perf_counter()
    records = {r["id"]: r for r in measure(bk, timeout_s=0.3)}
    assert time.perf_counter() - start < 10
    assert records["relu.at_infinities"]["value"].startswith("error: CheckTimeout")
    assert records["relu.nan_propagates"]["value"].startswith("error: skipped")
    assert len(calls) == 1 and records["relu.nan_propagates"]["matches_canonical"] is False


# --- the definitions: checks that fail ------------------------------------------------------------


def test_the_probes_carry_their_kind_and_the_report_records_it() -> None:
    """109 of the 149 are fixed by the definition; every measured record says which kind it is."""
    assert sum(sv.fixed for sv in SPECIAL_VALUES) == 109
    records = measure(load_backend("reference"))
    assert {r["id"]: r["kind"] for r in records} == {sv.id: sv.kind for sv in SPECIAL_VALUES}


def test_a_refusal_is_met_by_an_error_or_nan_but_not_by_a_number() -> None:
    """The definition refuses a NaN probability: an error string or NaN meets it, a finite loss does not."""
    sv = next(sv for sv in SPECIAL_VALUES if sv.id == "binary_cross_entropy.refuses_nan")
    assert meets_definition("error: RuntimeError: all elements of input should be between 0 and 1", sv)
    assert meets_definition(NAN, sv) and not meets_definition(0.69, sv)


def test_a_fixed_value_is_compared_within_the_dtypes_resolution_and_zero_signs_where_asked() -> None:
    """−log 2 rounded to float32 meets log_softmax's definition in float32, not in float64; tanh(−0) must be −0."""
    row = next(sv for sv in SPECIAL_VALUES if sv.id == "log_softmax.nan_poisons_its_row")
    in_float32 = [[NAN, NAN], [float(np.float32(-math.log(2.0)))] * 2]
    assert meets_definition(in_float32, row, "float32") and not meets_definition(in_float32, row, "float64")
    zero = next(sv for sv in SPECIAL_VALUES if sv.id == "tanh.keeps_negative_zero")
    assert meets_definition([-0.0], zero) and not meets_definition([0.0], zero)


def _relu_drops_nan(x: Any) -> Any:
    import torch

    return torch.where(x > 0, x, torch.zeros_like(x))  # where(x > 0, x, 0): NaN > 0 is False


def test_a_relu_that_maps_nan_to_zero_fails_relu_special_values(broken_backend) -> None:
    """relu(NaN) = 0 fails relu.special_values, naming the probe, the input, the value and the expected value."""
    pytest.importorskip("torch")
    bk = load_backend(broken_backend("torch", relu=_relu_drops_nan))
    row = run_one(bk, INVARIANTS["relu.special_values"], "float64")
    assert row.status == "fail" and row.kind == "robustness"
    assert row.details == {"probe": "relu.nan_propagates", "input": {"x": ["nan"]}, "got": [0.0], "expected": ["nan"]}
    assert "relu.nan_propagates" in row.message and "gave [0.0]" in row.message


# TensorFlow 2.21's documented definition defects (docs/findings/tensorflow.md): tf.nn.max_pool2d
# gives −FLT_MAX for a window of NaNs only; Keras' KL divergence clips q = 0 to 1e-7 (finite, not +∞).
# PyTorch 2.13's scaled_dot_product_attention returns 0 for a query of NaN (known_defects.TORCH_ATTENTION_DEFECTS).
KNOWN_DEFINITION_DEFECTS = {
    "tensorflow": {check.split("[")[0] for check in known_defects.TENSORFLOW_DEFINITION_DEFECTS},
    "torch": {check.split("[")[0] for check in known_defects.TORCH_ATTENTION_DEFECTS},
}
# The probe each documented defect fails first.
FIRST_MISSED_PROBE = {
    "max_pool2d.special_values": "max_pool2d.all_nan_window",
    "kl_div.special_values": "kl_div.infinite_where_prediction_is_zero",
    "scaled_dot_product_attention.special_values": "scaled_dot_product_attention.nan_propagates_within_its_query",
}


@pytest.mark.parametrize("framework", ["reference", "numpy", "torch", "jax", "tensorflow"])
def test_every_builtin_framework_meets_every_definition(framework: str) -> None:
    """The correct frameworks pass <op>.special_values in every dtype they have (no false alarm), and
    TensorFlow fails only its documented max-pooling and KL divergence defects and PyTorch its attention one
    (a NaN query), naming the probe."""
    if framework not in ("reference", "numpy"):
        pytest.importorskip(framework)
    bk = load_backend(framework)
    known = KNOWN_DEFINITION_DEFECTS.get(framework, set())
    for inv in (i for i in INVARIANTS.values() if i.id.endswith(".special_values")):
        for dtype in (d for d in ("float32", "float64") if d in bk.dtypes):
            row = run_one(bk, inv, dtype)
            if inv.id in known:
                assert row.status == "fail" and FIRST_MISSED_PROBE[inv.id] in row.message, row.message
            elif row.status == "unsupported":  # an op the framework lacks (NumPy: gelu, which needs erf)
                assert f"backend has no {inv.ops[0]}" in row.message, row.message
            else:
                assert row.status == "pass", (inv.id, dtype, row.message)
