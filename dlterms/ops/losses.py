"""Op records of the cost functions (seed section: the cost function)."""

from __future__ import annotations

from .record import (
    HUGE_ROWS,
    INF,
    LONG_REDUCTION,
    MANY_ROWS,
    NAN,
    REDUCTION_LENGTHS,
    REFUSED,
    Cases,
    Op,
    Special,
    index,
    option,
    relative,
    tensor,
)

_REDUCTION = option("reduction", "mean", "'mean' | 'sum' | 'none'")

_REDUCTIONS = "reductions of 255 to 2,049 terms"

OPS = (
    Op(
        "mse_loss",
        term="mean-squared-error",
        sizes=Cases(
            "sizes.losses",
            {"loss": "mse", "lengths": REDUCTION_LENGTHS, "long": LONG_REDUCTION, "edges": ("signed_zeros",)},
            why=f"{_REDUCTIONS}; a mean of {LONG_REDUCTION:,} squares",
        ),
        summary="mean of (input − target)²",
        args=(tensor("input"), tensor("target"), _REDUCTION),
        cases=Cases(
            "invariants.losses.mse_cases",
            {"edges": ("large_offsets", "signed_zeros")},
            why="input and target far from 0 but close to each other, where a−b must not be expanded",
        ),
        accuracy=relative(
            "sum_of_terms",
            "each term (a − b)² is two roundings of exact inputs, and a sum of non-negative terms does not cancel",
            accumulation="sum_of_terms",
        ),
        special_values=(
            Special(
                "infinite_error",
                "mse_loss elementwise at ±∞: (∞ − 0)² = ∞, (∞ − ∞)² = NaN",
                "IEEE arithmetic",
                {"input": [INF, INF], "target": [0.0, INF], "reduction": "none"},
                value=[INF, NAN],
                kind="definition",
                because="(∞ − 0)² = ∞ is the formula; (∞ − ∞)² is undefined, and NaN is IEEE's result for it",
            ),
            Special(
                "mean_of_nothing",
                "mse_loss of empty tensors with reduction='mean' is NaN",
                "0/0",
                {"input": [], "target": []},
                value=NAN,
                kind="choice",
                because="the mean of no terms is 0/0: NaN, 0 and an error are all in use",
            ),
            Special(
                "nan_propagates",
                "mse_loss with a NaN input is NaN there and only there",
                "NaN in, NaN out, elementwise",
                {"input": [NAN, 1.0], "target": [0.0, 1.0], "reduction": "none"},
                value=[NAN, 0.0],
                kind="definition",
                because="NaN in, NaN out, elementwise",
            ),
        ),
    ),
    Op(
        "binary_cross_entropy",
        term="cross-entropy",
        sizes=Cases("sizes.losses", {"loss": "bce", "lengths": REDUCTION_LENGTHS}, why=_REDUCTIONS),
        summary="−(y log p + (1 − y) log(1 − p)), logs clamped at −100; input holds probabilities",
        args=(tensor("input"), tensor("target", differentiable=False), _REDUCTION),
        cases=Cases(
            "invariants.losses.bce_cases",
            {"edges": ("probability_ends",)},
            why="probabilities within a few ulp of 0 and 1, where log p and log(1 − p) break",
        ),
        accuracy=relative(
            "sum_of_terms",
            "each term is a weighted sum of two non-positive logs of exact inputs (log1p for 1 − p), "
            "and a sum of non-negative terms does not cancel",
            accumulation="sum_of_terms",
        ),
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
                kind="choice",
                because="the definition gives +∞; the clamp at −100 is PyTorch's convention, which the reference keeps",
            ),
            Special(
                "zero_when_certain_and_right",
                "binary_cross_entropy(p=y) = 0 for the hard labels 0 and 1",
                "0·log 0 is taken as 0",
                {"input": [0.0, 1.0], "target": [0.0, 1.0], "reduction": "none"},
                value=[0.0, 0.0],
                kind="definition",
                because="0·log 0 = 0 is the limit of p·log p as p → 0: a certain, right prediction costs 0",
            ),
            Special(
                "refuses_nan",
                "A NaN probability is refused (an error), not turned into a loss",
                "NaN is not a probability",
                {"input": [NAN], "target": [1.0]},
                value=REFUSED,
                kind="definition",
                because="NaN is not a probability: an error or a NaN loss honours that, a number does not",
            ),
            Special(
                "refuses_infinity",
                "An infinite probability is refused (an error)",
                "a probability lies in [0, 1]",
                {"input": [INF], "target": [1.0]},
                value=REFUSED,
                kind="definition",
                because="∞ is not a probability: an error or a NaN loss honours that, a number does not",
            ),
        ),
    ),
    Op(
        "cross_entropy",
        term="cross-entropy",
        sizes=Cases(
            "sizes.losses",
            {
                "loss": "cross_entropy",
                "lengths": REDUCTION_LENGTHS,
                "rows": MANY_ROWS,
                "long": HUGE_ROWS,
                "edges": ("exp_overflow",),
            },
            why=f"{_REDUCTIONS} classes; {MANY_ROWS:,} rows; a mean over {HUGE_ROWS:,} rows",
        ),
        summary="−log softmax(logits)[target]; logits (N, C), target N class indices",
        args=(tensor("logits"), index("target"), _REDUCTION),
        cases=Cases(
            "invariants.losses.ce_cases",
            {"edges": ("large_offsets", "exp_overflow", "signed_zeros")},
            # Not the whole range: a row's loss at logits ±max is 2·max, past the range, and a mean
            # over rows whose exact value is finite then overflows in its sum in every framework.
            why="logits 10⁷ + a few units, and beyond e^x's overflow",
        ),
        accuracy=relative(
            "cross_entropy",
            "each term is −log_softmax at the target, and a sum of non-negative terms does not cancel",
            accumulation="cross_entropy",
        ),
        special_values=(
            Special(
                "infinite_logit_at_target",
                "cross_entropy([[+∞, 0]], [0]) = 0",
                "the target takes all the probability",
                {"logits": [[INF, 0.0]], "target": [0]},
                value=0.0,
                kind="choice",
                because="a row holding +∞: the limit is 0, the max-shift computes ∞ − ∞ = NaN",
            ),
            Special(
                "infinite_logit_elsewhere",
                "cross_entropy([[+∞, 0]], [1]) = +∞",
                "the target has probability 0",
                {"logits": [[INF, 0.0]], "target": [1]},
                value=INF,
                kind="choice",
                because="a row holding +∞: the limit is +∞, the max-shift computes ∞ − ∞ = NaN",
            ),
            Special(
                "masked_class",
                "cross_entropy([[−∞, 0]], [1]) = 0",
                "a masked (−∞) class takes nothing from the others",
                {"logits": [[-INF, 0.0]], "target": [1]},
                value=0.0,
                kind="definition",
                because="e^−∞ = 0 exactly: a masked class takes no probability and the rest is finite arithmetic",
            ),
            Special(
                "all_classes_masked",
                "cross_entropy([[−∞, −∞]], [0]) = NaN",
                "the softmax of a row of only −∞ is 0/0",
                {"logits": [[-INF, -INF]], "target": [0]},
                value=NAN,
                kind="choice",
                because="0/0: the definition gives no value",
            ),
            Special(
                "mean_of_nothing",
                "cross_entropy of an empty batch with reduction='mean' is NaN",
                "0/0",
                {"logits": [], "target": []},
                value=NAN,
                kind="choice",
                because="the mean over an empty batch is 0/0: NaN, 0 and an error are all in use",
            ),
        ),
    ),
)
