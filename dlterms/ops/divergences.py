"""Op record of the Kullback-Leibler divergence as a loss (section: the cost function).

A module of its own (as :mod:`dlterms.reference.divergences`), beside the seed's
:mod:`dlterms.ops.losses`, to keep each under 500 lines.
"""

from __future__ import annotations

from .record import INF, MANY_ROWS, NAN, REDUCTION_LENGTHS, REFUSED, Cases, Op, Special, option, relative, tensor

_CASES = "invariants.divergences."
_HALF_LOG_HALF = -0.34657359027997264  # ½·(log ½ − 0) = −½ log 2 (mpmath, rounded to float64)

OPS = (
    Op(
        "kl_div",
        term="kl-divergence",
        sizes=Cases(
            "sizes.losses",
            {"loss": "kl", "lengths": REDUCTION_LENGTHS, "rows": MANY_ROWS},
            why=f"distributions over 255 to 2,049 classes; {MANY_ROWS:,} rows",
        ),
        summary="target·(log target − input), 0 where target = 0; input holds log-probabilities; reduced "
        "('batchmean': the sum over the batch size)",
        args=(
            tensor("input"),
            tensor("target"),
            option("reduction", "mean", "'mean' | 'batchmean' | 'sum' | 'none'"),
            option("log_target", False, "bool"),
        ),
        cases=Cases(
            _CASES + "kl_cases",
            why="rows that are distributions (log-softmax of logits, softmax targets with zeros); every reduction; "
            "targets as probabilities and as log-probabilities",
        ),
        grad_cases=Cases(
            _CASES + "kl_cases",
            {"zeros": False},
            why="no zero target: the derivative in the target, log p + 1 − log q, is −∞ there",
        ),
        accuracy=relative(
            "kl_div",
            "each term p·(log p − log q) cancels where q ≈ p: relative to p·(|log p| + |log q| + 1) (the 1: "
            "a framework that reads q = e^input as a probability rounds it once); the terms have both signs, "
            "so their sum is held to γ·Σ|terms|",
            accumulation="kl_div",
        ),
        special_values=(
            Special(
                "zero_target_contributes_nothing",
                "kl_div where target = 0 is 0",
                "0·log 0 is taken as 0",
                {"input": [-1.0, 0.0], "target": [0.0, 0.0], "reduction": "none"},
                value=[0.0, 0.0],
                kind="definition",
                because="p·log p → 0 as p → 0, and a case of probability 0 is not in the divergence's sum",
            ),
            Special(
                "zero_target_at_zero_prediction",
                "kl_div(input=−∞, target=0) = 0 (the support's sum) or NaN (0·∞)",
                "both probabilities are 0",
                {"input": [-INF], "target": [0.0], "reduction": "none"},
                value=[0.0],
                kind="choice",
                because="the sum over the target's support leaves the term out (0); 0·(log 0 − (−∞)) is 0·(NaN), "
                "which IEEE arithmetic makes NaN (PyTorch)",
            ),
            Special(
                "infinite_where_prediction_is_zero",
                "kl_div(input=−∞, target=½) = +∞",
                "the target puts mass where the prediction has none",
                {"input": [-INF], "target": [0.5], "reduction": "none"},
                value=[INF],
                kind="definition",
                because="½·(log ½ − (−∞)) = +∞: P is not absolutely continuous with respect to Q, and KL(P‖Q) = ∞",
            ),
            Special(
                "nan_propagates",
                "kl_div with a NaN input is NaN there and only there",
                "NaN in, NaN out, elementwise",
                {"input": [NAN, 0.0], "target": [0.5, 0.5], "reduction": "none"},
                value=[NAN, _HALF_LOG_HALF],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2); the other element is ½·(log ½ − 0) = −½ log 2",
            ),
            Special(
                "refuses_negative_target",
                "A negative target probability is refused (an error), not turned into a loss",
                "a probability is at least 0",
                {"input": [0.0], "target": [-0.5]},
                value=REFUSED,
                kind="definition",
                because="log of a negative number is undefined: an error or a NaN loss honours that, a number does not",
            ),
            Special(
                "mean_of_nothing",
                "kl_div of empty tensors with reduction='mean' is NaN",
                "0/0",
                {"input": [], "target": []},
                value=NAN,
                kind="choice",
                because="the mean of no terms is 0/0: NaN, 0 and an error are all in use",
            ),
        ),
    ),
)
