"""Op records of the activation functions (seed section: activation functions)."""

from __future__ import annotations

import math

from .record import INF, MANY_ROWS, NAN, REDUCTION_LENGTHS, VECTOR_LENGTHS, Cases, Op, Special, option, relative, tensor

LOG_2 = math.log(2.0)  # −log_softmax of two equal largest logits

# The forward comparison reaches the tails and the tiny inputs where relative accuracy matters
# (dlterms.conformance.tolerances), and the edges of the dtype's range where formulas break
# (dlterms.conformance.edges: e^x overflowing, e^−x underflowing, saturation, ±0.0, the whole
# finite range); the gradients reach the same edges, away from a kink.
_TAILS = "tails and tiny inputs, where only a relative bound sees an inaccurate formula"
_EDGES = "the edges of the range where formulas break"
_EXP_EDGES = ("exp_overflow", "exp_underflow", "saturation", "full_range", "signed_zeros")
_TANH_EDGES = ("half_exp_overflow", *_EXP_EDGES)
_RANGE_EDGES = ("full_range", "signed_zeros")
_LOGIT_EDGES = ("large_offsets", "exp_overflow", "full_range", "signed_zeros")
# Slopes of leaky ReLU: a negative one, and exactly 0 (then a·x = −0.0 for x < 0, and a backward that
# tests the output's sign instead of the input's passes every gradient through).
_SLOPES = (-1.0, 1.0)
_ELEMENTWISE = Cases("invariants.activations.elementwise_cases", {"edges": _RANGE_EDGES}, why=_EDGES)
_AWAY_FROM_KINK = Cases(
    "invariants.activations.elementwise_cases",
    {"away_from": 0.0, "edges": ("full_range",)},
    why="not differentiable at 0 (the kink); " + _EDGES,
)
_SIGMOID_CASES = Cases(
    "invariants.activations.elementwise_cases",
    {"magnitudes": (1e-30, 80.0), "edges": _EXP_EDGES},
    why=f"{_TAILS}; {_EDGES}",
)
_SIGMOID_GRAD_CASES = Cases("invariants.activations.elementwise_cases", {"edges": _EXP_EDGES}, why=_EDGES)
_TANH_CASES = Cases(
    "invariants.activations.elementwise_cases",
    {"magnitudes": (1e-30, 20.0), "edges": _TANH_EDGES},
    why=f"{_TAILS}; {_EDGES}",
)
_TANH_GRAD_CASES = Cases("invariants.activations.elementwise_cases", {"edges": _TANH_EDGES}, why=_EDGES)
_SPREAD_LOGITS = Cases(
    "strategies.logits_with_axis", {"magnitudes": (1e-30, 1e4), "edges": _LOGIT_EDGES}, why=f"{_TAILS}; {_EDGES}"
)
_LOGITS = Cases("strategies.logits_with_axis", {"edges": ("large_offsets", "signed_zeros")}, why=_EDGES)
# The size tier (dlterms.conformance.sizes): vectors of every length around the vector widths'
# multiples, and softmax rows of 255 to 2,049 logits, one shifted by 10³ to 10⁷, and 65,537 rows.
_VECTORS = "vectors of every length 2^k − 1, 2^k, 2^k + 1, with edge values in the body and the tail"
_SIZED_LOGITS = Cases(
    "sizes.logits",
    {"lengths": REDUCTION_LENGTHS, "rows": MANY_ROWS, "edges": ("large_offsets", "exp_overflow")},
    why=f"rows of 255 to 2,049 logits along either axis, one far from 0; {MANY_ROWS:,} rows",
)
_ELEMENTWISE_WHY = "one elementwise function: an error of a few roundings relative to the value"

OPS = (
    Op(
        "sigmoid",
        term="sigmoid",
        sizes=Cases("sizes.elementwise", {"lengths": VECTOR_LENGTHS, "edges": _EXP_EDGES}, why=_VECTORS),
        summary="logistic function 1/(1 + e^−x), elementwise",
        args=(tensor("x"),),
        cases=_SIGMOID_CASES,
        grad_cases=_SIGMOID_GRAD_CASES,
        accuracy=relative("sigmoid", _ELEMENTWISE_WHY + "; κ(x) = |x|(1 − σ(x)) is large only in the left tail"),
        special_values=(
            Special(
                "at_infinities",
                "sigmoid(−∞) = 0 and sigmoid(+∞) = 1",
                "the limits",
                {"x": [-INF, INF]},
                value=[0.0, 1.0],
                kind="definition",
                because="the limits of 1/(1 + e^−x) as x → ∓∞; every formula for σ has them",
            ),
            Special(
                "nan_propagates",
                "sigmoid(NaN) = NaN",
                "the other element is unaffected",
                {"x": [NAN, 0.0]},
                value=[NAN, 0.5],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2); elementwise, so the other element is σ(0) = ½",
            ),
        ),
    ),
    Op(
        "tanh",
        term="tanh",
        sizes=Cases("sizes.elementwise", {"lengths": VECTOR_LENGTHS, "edges": _TANH_EDGES}, why=_VECTORS),
        summary="hyperbolic tangent, elementwise",
        args=(tensor("x"),),
        cases=_TANH_CASES,
        grad_cases=_TANH_GRAD_CASES,
        accuracy=relative(
            "tanh", _ELEMENTWISE_WHY + "; κ(x) = 2|x|/|sinh 2x| ≤ 1, so tanh is well conditioned everywhere"
        ),
        special_values=(
            Special(
                "at_infinities",
                "tanh(∓∞) = ∓1",
                "the limits",
                {"x": [-INF, INF]},
                value=[-1.0, 1.0],
                kind="definition",
                because="the limits of tanh as x → ∓∞",
            ),
            Special(
                "keeps_negative_zero",
                "tanh(−0.0) = −0.0",
                "tanh is odd",
                {"x": [-0.0]},
                value=[-0.0],
                signed_zeros=True,
                kind="definition",
                because="tanh is odd, so tanh(−0) = −tanh(+0) = −0; IEEE 754-2019 §9.2 specifies tanh(±0) = ±0",
            ),
            Special(
                "nan_propagates",
                "tanh(NaN) = NaN",
                "NaN in, NaN out",
                {"x": [NAN, 0.0]},
                value=[NAN, 0.0],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2); elementwise",
            ),
        ),
    ),
    Op(
        "silu",
        term="silu",
        sizes=Cases("sizes.elementwise", {"lengths": VECTOR_LENGTHS, "edges": _EXP_EDGES}, why=_VECTORS),
        summary="x·sigmoid(x) (swish with β = 1), elementwise",
        args=(tensor("x"),),
        cases=_SIGMOID_CASES,
        grad_cases=_SIGMOID_GRAD_CASES,
        accuracy=relative(
            "silu",
            _ELEMENTWISE_WHY + "; κ(x) = |1 + x·σ(−x)|; σ's floor λ, times x, where σ(x) is below the smallest normal",
            accumulation="times_x",
        ),
        special_values=(
            Special(
                "at_plus_infinity",
                "silu(+∞) = +∞",
                "∞·σ(∞) = ∞·1",
                {"x": [INF]},
                value=[INF],
                kind="definition",
                because="x·σ(x) at +∞ is ∞·1 = ∞: the formula, no limit taken",
            ),
            Special(
                "at_minus_infinity",
                "silu(−∞) = −0.0 (the limit) or NaN (−∞·0)",
                "the product is indeterminate there",
                {"x": [-INF]},
                value=[-0.0],
                kind="choice",
                because="x·σ(x) at −∞ is −∞·0, which IEEE arithmetic makes NaN; the limit is 0 from below, "
                "the reference's value; the definition fixes neither",
            ),
            Special(
                "nan_propagates",
                "silu(NaN) = NaN",
                "the other element is unaffected",
                {"x": [NAN, 0.0]},
                value=[NAN, 0.0],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2); elementwise, so the other element is 0·σ(0) = 0",
            ),
        ),
    ),
    Op(
        "relu",
        term="relu",
        sizes=Cases("sizes.elementwise", {"lengths": VECTOR_LENGTHS, "edges": _RANGE_EDGES}, why=_VECTORS),
        summary="max(0, x), elementwise",
        args=(tensor("x"),),
        cases=_ELEMENTWISE,
        accuracy=relative("value", "max(0, x) is exact: no rounding at all"),
        grad_cases=_AWAY_FROM_KINK,
        special_values=(
            Special(
                "at_infinities",
                "relu(−∞) = 0, relu(+∞) = +∞",
                "the formula at the limits",
                {"x": [-INF, INF]},
                value=[0.0, INF],
                kind="definition",
                because="max(0, −∞) = 0 and max(0, +∞) = +∞: the formula itself, no limit taken",
            ),
            Special(
                "nan_propagates",
                "relu(NaN) = NaN",
                "max(0, NaN) must not drop the NaN",
                {"x": [NAN]},
                value=[NAN],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2); a where(x > 0, x, 0) that returns 0 drops it",
            ),
        ),
    ),
    Op(
        "leaky_relu",
        term="leaky-relu",
        sizes=Cases(
            "sizes.elementwise",
            {"lengths": VECTOR_LENGTHS, "edges": _RANGE_EDGES, "slopes": (0.01, 0.0, -0.5)},
            why=_VECTORS,
        ),
        summary="x for x > 0, negative_slope·x otherwise",
        args=(tensor("x"), option("negative_slope", 0.01, "float")),
        cases=Cases(
            "invariants.activations.leaky_relu_cases",
            {"edges": _RANGE_EDGES, "slopes": _SLOPES},
            why=f"{_EDGES}; slopes at and below 0",
        ),
        accuracy=relative("value", "a·x is one rounding"),
        grad_cases=Cases(
            "invariants.activations.leaky_relu_cases",
            {"away_from": 0.0, "edges": ("full_range",), "slopes": _SLOPES},
            why="not differentiable at 0 (the kink); slopes at and below 0",
        ),
        special_values=(
            Special(
                "at_negative_infinity",
                "leaky_relu(−∞) = −∞",
                "a·x with a > 0",
                {"x": [-INF, INF]},
                value=[-INF, INF],
                kind="definition",
                because="a·(−∞) = −∞ for a > 0 and +∞ stays +∞: the formula, no limit taken",
            ),
            Special(
                "zero_slope_at_negative_infinity",
                "leaky_relu(−∞) with negative_slope = 0 is NaN",
                "0·(−∞) is NaN in IEEE arithmetic (unlike relu(−∞) = 0)",
                {"x": [-INF], "negative_slope": 0.0},
                value=[NAN],
                kind="choice",
                because="0·(−∞) is undefined: IEEE arithmetic gives NaN, the limit of 0·x is 0 (relu's value)",
            ),
            Special(
                "nan_propagates",
                "leaky_relu(NaN) = NaN",
                "NaN in, NaN out",
                {"x": [NAN]},
                value=[NAN],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2)",
            ),
        ),
    ),
    Op(
        "softmax",
        term="softmax",
        sizes=_SIZED_LOGITS,
        summary="e^x / Σ e^x along an axis",
        args=(tensor("x"), option("axis", -1, "int")),
        cases=_SPREAD_LOGITS,
        grad_cases=_LOGITS,
        accuracy=relative(
            "softmax",
            "e^(x − max x)/Σ: the rounding of x − max x perturbs each logit by ≤ u·2‖x‖∞ (normwise)",
            accumulation="softmax",
        ),
        special_values=(
            Special(
                "one_positive_infinity",
                "softmax([+∞, 0, −1]) = [1, 0, 0]",
                "the limit, where the max-shift computes ∞ − ∞ = NaN",
                {"x": [INF, 0.0, -1.0]},
                value=[1.0, 0.0, 0.0],
                kind="choice",
                because="the limit is one-hot, but the max-shift every framework uses computes ∞ − ∞ = NaN",
            ),
            Special(
                "two_positive_infinities",
                "softmax([+∞, +∞, 0]) = [½, ½, 0]",
                "the +∞ entries share the mass",
                {"x": [INF, INF, 0.0]},
                value=[0.5, 0.5, 0.0],
                kind="choice",
                because="the limit shares the mass, but the max-shift computes ∞ − ∞ = NaN",
            ),
            Special(
                "negative_infinity_entry",
                "softmax([−∞, 0, 0]) = [0, ½, ½]",
                "a masked (−∞) logit gets probability 0",
                {"x": [-INF, 0.0, 0.0]},
                value=[0.0, 0.5, 0.5],
                kind="definition",
                because="e^−∞ = 0 exactly: a masked logit gets probability 0 and the rest is finite arithmetic",
            ),
            Special(
                "all_negative_infinity",
                "softmax([−∞, −∞]) = [NaN, NaN]",
                "0/0, undefined",
                {"x": [-INF, -INF]},
                value=[NAN, NAN],
                kind="choice",
                because="0/0: the definition gives no value (NaN, uniform or zeros are all defensible)",
            ),
            Special(
                "nan_poisons_its_row",
                "A NaN makes its whole row NaN and leaves the other rows alone",
                "every output of a row depends on every input of that row",
                {"x": [[NAN, 0.0], [0.0, 0.0]]},
                value=[[NAN, NAN], [0.5, 0.5]],
                kind="definition",
                because="NaN in, NaN out for every output of the row; other rows do not depend on it",
            ),
        ),
    ),
    Op(
        "log_softmax",
        term="softmax",
        sizes=_SIZED_LOGITS,
        summary="x − log Σ e^x along an axis",
        args=(tensor("x"), option("axis", -1, "int")),
        cases=_SPREAD_LOGITS,
        grad_cases=_LOGITS,
        accuracy=relative(
            "log_softmax",
            "x − max x − log Σ: the shift as for softmax, and log Σ of a sum ≥ 1 adds a few u absolute",
            accumulation="log_softmax",
        ),
        special_values=(
            Special(
                "one_positive_infinity",
                "log_softmax([+∞, 0]) = [0, −∞]",
                "the limit",
                {"x": [INF, 0.0]},
                value=[0.0, -INF],
                kind="choice",
                because="the limit, but the max-shift every framework uses computes ∞ − ∞ = NaN",
            ),
            Special(
                "negative_infinity_entry",
                "log_softmax([−∞, 0]) = [−∞, 0]",
                "a masked logit",
                {"x": [-INF, 0.0]},
                value=[-INF, 0.0],
                kind="definition",
                because="log e^−∞ = −∞ for the masked logit; the others are finite arithmetic",
            ),
            Special(
                "all_negative_infinity",
                "log_softmax([−∞, −∞]) = [NaN, NaN]",
                "log(0/0)",
                {"x": [-INF, -INF]},
                value=[NAN, NAN],
                kind="choice",
                because="log(0/0): the definition gives no value",
            ),
            Special(
                "two_positive_infinities",
                "log_softmax([+∞, +∞, 0]) = [−log 2, −log 2, −∞]",
                "the +∞ entries share the mass (the log of softmax's limit)",
                {"x": [INF, INF, 0.0]},
                value=[-LOG_2, -LOG_2, -INF],
                kind="choice",
                because="the limit, but the max-shift computes ∞ − ∞ = NaN",
            ),
            Special(
                "nan_poisons_its_row",
                "A NaN makes its whole row NaN and leaves the other rows alone",
                "every output of a row depends on every input of that row",
                {"x": [[NAN, 0.0], [0.0, 0.0]]},
                value=[[NAN, NAN], [-LOG_2, -LOG_2]],
                kind="definition",
                because="NaN in, NaN out for every output of the row; other rows do not depend on it",
            ),
        ),
    ),
)
