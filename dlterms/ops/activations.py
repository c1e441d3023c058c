"""Op records of the activation functions (seed section: activation functions)."""

from __future__ import annotations

import math

from .record import INF, NAN, Cases, Op, Special, option, tensor

LOG_2 = math.log(2.0)  # −log_softmax of two equal largest logits

_ELEMENTWISE = Cases("invariants.activations.elementwise_cases")
_AWAY_FROM_KINK = Cases(
    "invariants.activations.elementwise_cases", {"away_from": 0.0}, why="not differentiable at 0 (the kink)"
)
_LOGITS = Cases("strategies.logits_with_axis")

OPS = (
    Op(
        "sigmoid",
        term="sigmoid",
        summary="logistic function 1/(1 + e^−x), elementwise",
        args=(tensor("x"),),
        cases=_ELEMENTWISE,
        special_values=(
            Special(
                "at_infinities",
                "sigmoid(−∞) = 0 and sigmoid(+∞) = 1",
                "the limits",
                {"x": [-INF, INF]},
                value=[0.0, 1.0],
            ),
            Special(
                "nan_propagates",
                "sigmoid(NaN) = NaN",
                "the other element is unaffected",
                {"x": [NAN, 0.0]},
                value=[NAN, 0.5],
            ),
        ),
    ),
    Op(
        "tanh",
        term="tanh",
        summary="hyperbolic tangent, elementwise",
        args=(tensor("x"),),
        cases=_ELEMENTWISE,
        special_values=(
            Special("at_infinities", "tanh(∓∞) = ∓1", "the limits", {"x": [-INF, INF]}, value=[-1.0, 1.0]),
            Special(
                "keeps_negative_zero",
                "tanh(−0.0) = −0.0",
                "tanh is odd",
                {"x": [-0.0]},
                value=[-0.0],
                signed_zeros=True,
            ),
            Special("nan_propagates", "tanh(NaN) = NaN", "NaN in, NaN out", {"x": [NAN, 0.0]}, value=[NAN, 0.0]),
        ),
    ),
    Op(
        "relu",
        term="relu",
        summary="max(0, x), elementwise",
        args=(tensor("x"),),
        cases=_ELEMENTWISE,
        grad_cases=_AWAY_FROM_KINK,
        special_values=(
            Special(
                "at_infinities",
                "relu(−∞) = 0, relu(+∞) = +∞",
                "the formula at the limits",
                {"x": [-INF, INF]},
                value=[0.0, INF],
            ),
            Special(
                "nan_propagates", "relu(NaN) = NaN", "max(0, NaN) must not drop the NaN", {"x": [NAN]}, value=[NAN]
            ),
        ),
    ),
    Op(
        "leaky_relu",
        term="leaky-relu",
        summary="x for x > 0, negative_slope·x otherwise",
        args=(tensor("x"), option("negative_slope", 0.01, "float")),
        cases=Cases("invariants.activations.leaky_relu_cases"),
        grad_cases=Cases(
            "invariants.activations.leaky_relu_cases", {"away_from": 0.0}, why="not differentiable at 0 (the kink)"
        ),
        special_values=(
            Special(
                "at_negative_infinity", "leaky_relu(−∞) = −∞", "a·x with a > 0", {"x": [-INF, INF]}, value=[-INF, INF]
            ),
            Special(
                "zero_slope_at_negative_infinity",
                "leaky_relu(−∞) with negative_slope = 0 is NaN",
                "0·(−∞) is NaN in IEEE arithmetic (unlike relu(−∞) = 0)",
                {"x": [-INF], "negative_slope": 0.0},
                value=[NAN],
            ),
            Special("nan_propagates", "leaky_relu(NaN) = NaN", "NaN in, NaN out", {"x": [NAN]}, value=[NAN]),
        ),
    ),
    Op(
        "softmax",
        term="softmax",
        summary="e^x / Σ e^x along an axis",
        args=(tensor("x"), option("axis", -1, "int")),
        cases=_LOGITS,
        special_values=(
            Special(
                "one_positive_infinity",
                "softmax([+∞, 0, −1]) = [1, 0, 0]",
                "the limit, where the max-shift computes ∞ − ∞ = NaN",
                {"x": [INF, 0.0, -1.0]},
                value=[1.0, 0.0, 0.0],
            ),
            Special(
                "two_positive_infinities",
                "softmax([+∞, +∞, 0]) = [½, ½, 0]",
                "the +∞ entries share the mass",
                {"x": [INF, INF, 0.0]},
                value=[0.5, 0.5, 0.0],
            ),
            Special(
                "negative_infinity_entry",
                "softmax([−∞, 0, 0]) = [0, ½, ½]",
                "a masked (−∞) logit gets probability 0",
                {"x": [-INF, 0.0, 0.0]},
                value=[0.0, 0.5, 0.5],
            ),
            Special(
                "all_negative_infinity",
                "softmax([−∞, −∞]) = [NaN, NaN]",
                "0/0, undefined",
                {"x": [-INF, -INF]},
                value=[NAN, NAN],
            ),
            Special(
                "nan_poisons_its_row",
                "A NaN makes its whole row NaN and leaves the other rows alone",
                "every output of a row depends on every input of that row",
                {"x": [[NAN, 0.0], [0.0, 0.0]]},
                value=[[NAN, NAN], [0.5, 0.5]],
            ),
        ),
    ),
    Op(
        "log_softmax",
        term="softmax",
        summary="x − log Σ e^x along an axis",
        args=(tensor("x"), option("axis", -1, "int")),
        cases=_LOGITS,
        special_values=(
            Special(
                "one_positive_infinity",
                "log_softmax([+∞, 0]) = [0, −∞]",
                "the limit",
                {"x": [INF, 0.0]},
                value=[0.0, -INF],
            ),
            Special(
                "negative_infinity_entry",
                "log_softmax([−∞, 0]) = [−∞, 0]",
                "a masked logit",
                {"x": [-INF, 0.0]},
                value=[-INF, 0.0],
            ),
            Special(
                "all_negative_infinity",
                "log_softmax([−∞, −∞]) = [NaN, NaN]",
                "log(0/0)",
                {"x": [-INF, -INF]},
                value=[NAN, NAN],
            ),
            Special(
                "two_positive_infinities",
                "log_softmax([+∞, +∞, 0]) = [−log 2, −log 2, −∞]",
                "the +∞ entries share the mass (the log of softmax's limit)",
                {"x": [INF, INF, 0.0]},
                value=[-LOG_2, -LOG_2, -INF],
            ),
            Special(
                "nan_poisons_its_row",
                "A NaN makes its whole row NaN and leaves the other rows alone",
                "every output of a row depends on every input of that row",
                {"x": [[NAN, 0.0], [0.0, 0.0]]},
                value=[[NAN, NAN], [-LOG_2, -LOG_2]],
            ),
        ),
    ),
)
