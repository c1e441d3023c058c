"""Op records of the cost functions (seed section: the cost function)."""

from __future__ import annotations

from .record import INF, NAN, REFUSED, Cases, Op, Special, index, option, tensor

_REDUCTION = option("reduction", "mean", "'mean' | 'sum' | 'none'")

OPS = (
    Op(
        "mse_loss",
        term="mean-squared-error",
        summary="mean of (input − target)²",
        args=(tensor("input"), tensor("target"), _REDUCTION),
        cases=Cases("invariants.losses.mse_cases"),
        special_values=(
            Special(
                "infinite_error",
                "mse_loss elementwise at ±∞: (∞ − 0)² = ∞, (∞ − ∞)² = NaN",
                "IEEE arithmetic",
                {"input": [INF, INF], "target": [0.0, INF], "reduction": "none"},
                value=[INF, NAN],
            ),
            Special(
                "mean_of_nothing",
                "mse_loss of empty tensors with reduction='mean' is NaN",
                "0/0",
                {"input": [], "target": []},
                value=NAN,
            ),
            Special(
                "nan_propagates",
                "mse_loss with a NaN input is NaN there and only there",
                "NaN in, NaN out, elementwise",
                {"input": [NAN, 1.0], "target": [0.0, 1.0], "reduction": "none"},
                value=[NAN, 0.0],
            ),
        ),
    ),
    Op(
        "binary_cross_entropy",
        term="cross-entropy",
        summary="−(y log p + (1 − y) log(1 − p)), logs clamped at −100; input holds probabilities",
        args=(tensor("input"), tensor("target", differentiable=False), _REDUCTION),
        cases=Cases("invariants.losses.bce_cases"),
        grad_cases=Cases(
            "invariants.losses.bce_grad_cases",
            why="away from p = 0 and 1, where 1/(p(1 − p)) blows up and the clamp makes the derivative jump",
        ),
        special_values=(
            Special(
                "clamped_when_confidently_wrong",
                "binary_cross_entropy(p=0, y=1) = binary_cross_entropy(p=1, y=0) = 100",
                "each log is clamped at −100",
                {"input": [0.0, 1.0], "target": [1.0, 0.0], "reduction": "none"},
                value=[100.0, 100.0],
            ),
            Special(
                "zero_when_certain_and_right",
                "binary_cross_entropy(p=y) = 0 for the hard labels 0 and 1",
                "0·log 0 is taken as 0",
                {"input": [0.0, 1.0], "target": [0.0, 1.0], "reduction": "none"},
                value=[0.0, 0.0],
            ),
            Special(
                "refuses_nan",
                "A NaN probability is refused (an error), not turned into a loss",
                "NaN is not a probability",
                {"input": [NAN], "target": [1.0]},
                value=REFUSED,
            ),
            Special(
                "refuses_infinity",
                "An infinite probability is refused (an error)",
                "a probability lies in [0, 1]",
                {"input": [INF], "target": [1.0]},
                value=REFUSED,
            ),
        ),
    ),
    Op(
        "cross_entropy",
        term="cross-entropy",
        summary="−log softmax(logits)[target]; logits (N, C), target N class indices",
        args=(tensor("logits"), index("target"), _REDUCTION),
        cases=Cases("invariants.losses.ce_cases"),
        special_values=(
            Special(
                "infinite_logit_at_target",
                "cross_entropy([[+∞, 0]], [0]) = 0",
                "the target takes all the probability",
                {"logits": [[INF, 0.0]], "target": [0]},
                value=0.0,
            ),
            Special(
                "infinite_logit_elsewhere",
                "cross_entropy([[+∞, 0]], [1]) = +∞",
                "the target has probability 0",
                {"logits": [[INF, 0.0]], "target": [1]},
                value=INF,
            ),
            Special(
                "masked_class",
                "cross_entropy([[−∞, 0]], [1]) = 0",
                "a masked (−∞) class takes nothing from the others",
                {"logits": [[-INF, 0.0]], "target": [1]},
                value=0.0,
            ),
            Special(
                "all_classes_masked",
                "cross_entropy([[−∞, −∞]], [0]) = NaN",
                "the softmax of a row of only −∞ is 0/0",
                {"logits": [[-INF, -INF]], "target": [0]},
                value=NAN,
            ),
            Special(
                "mean_of_nothing",
                "cross_entropy of an empty batch with reduction='mean' is NaN",
                "0/0",
                {"logits": [], "target": []},
                value=NAN,
            ),
        ),
    ),
)
