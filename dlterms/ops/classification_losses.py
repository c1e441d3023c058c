"""Op records of the classification losses beyond the seed: NLL, BCE with logits, label smoothing.

Section: the cost function. A module of its own (as :mod:`dlterms.reference.classification_losses`),
beside the seed's :mod:`dlterms.ops.losses`, to keep each under 500 lines.
"""

from __future__ import annotations

from .record import INF, MANY_ROWS, NAN, REDUCTION_LENGTHS, REFUSED, Cases, Op, Special, index, option, relative, tensor

_REDUCTION = option("reduction", "mean", "'mean' | 'sum' | 'none'")
_CASES = "invariants.classification_losses."
_REDUCTIONS = "reductions of 255 to 2,049 terms"


def _sizes(loss: str) -> Cases:
    return Cases(
        _CASES + "sizes",
        {"loss": loss, "lengths": REDUCTION_LENGTHS, "rows": MANY_ROWS},
        why=f"{_REDUCTIONS} (classes for the row-wise losses); {MANY_ROWS:,} rows",
    )


def _mean_of_nothing(op: str, first: str) -> Special:
    extra = {"label_smoothing": 0.1} if op == "smoothed_cross_entropy" else {}
    return Special(
        "mean_of_nothing",
        f"{op} of an empty batch with reduction='mean' is NaN",
        "0/0",
        {first: [], "target": [], **extra},
        value=NAN,
        kind="choice",
        because="the mean over an empty batch is 0/0: NaN, 0 and an error are all in use",
    )


OPS = (
    Op(
        "nll_loss",
        term="negative-log-likelihood",
        sizes=_sizes("nll"),
        summary="−weight[target]·input[n, target[n]]; input (N, C) log-probabilities, target N class indices",
        args=(
            tensor("input"),
            index("target"),
            tensor("weight", None, differentiable=False, annotation="(C,) | None"),
            _REDUCTION,
        ),
        cases=Cases(
            _CASES + "nll_cases",
            {"weights": True},
            why="log-probabilities in [−span, 0] and class weights in [0, 2] (or none)",
        ),
        accuracy=relative(
            "nll_loss",
            "each term is one product of exact inputs (exact without weights), and a sum of non-negative terms "
            "does not cancel; the weighted mean divides by a sum of weights",
            accumulation="nll_loss",
        ),
        special_values=(
            Special(
                "impossible_target",
                "nll_loss([[−∞, 0]], [0]) = +∞",
                "the target has log-probability −∞",
                {"input": [[-INF, 0.0]], "target": [0]},
                value=INF,
                kind="definition",
                because="−log 0 = +∞: a target the model calls impossible costs without bound",
            ),
            Special(
                "weighted_mean",
                "nll_loss([[−1, 0], [0, −3]], [0, 1], weight=[1, 3]) = (1 + 9)/4 = 2.5",
                "the mean divides by the targets' total weight, not by N",
                {"input": [[-1.0, 0.0], [0.0, -3.0]], "target": [0, 1], "weight": [1.0, 3.0]},
                value=2.5,
                kind="choice",
                because="a weighted mean Σ w·ℓ / Σ w is PyTorch's; Σ w·ℓ / N is also in use (Keras' sample weights)",
            ),
            Special(
                "zero_total_weight",
                "nll_loss with every target's weight 0 and reduction='mean' is NaN",
                "0/0",
                {"input": [[-1.0, 0.0]], "target": [0], "weight": [0.0, 1.0]},
                value=NAN,
                kind="choice",
                because="the weighted mean is 0/0: NaN, 0 and an error are all in use",
            ),
            _mean_of_nothing("nll_loss", "input"),
        ),
    ),
    Op(
        "binary_cross_entropy_with_logits",
        term="cross-entropy",
        sizes=_sizes("bce_logits"),
        summary="p·y·log(1 + e^−x) + (1 − y)·log(1 + e^x), from logits x; optional pos_weight p per class",
        args=(
            tensor("input"),
            tensor("target", differentiable=False),
            tensor("pos_weight", None, differentiable=False, annotation="(C,) | None: along input's last axis"),
            _REDUCTION,
        ),
        cases=Cases(
            _CASES + "bce_logit_cases",
            {"edges": ("exp_overflow", "signed_zeros"), "pos_weights": True},
            # Not the whole range: a mean of terms near the largest float overflows in its sum in every
            # framework (finite_for_every_finite_logit checks the whole range, unreduced).
            why="logits where e^x overflows; targets in [0, 1]",
        ),
        grad_cases=Cases(
            _CASES + "bce_logit_cases",
            {"pos_weights": True},
            why="moderate logits, where a finite difference resolves σ(x)",
        ),
        accuracy=relative(
            "sum_of_terms",
            "each term is two non-negative softplus values of exact inputs, weighted, and a sum of "
            "non-negative terms does not cancel",
            accumulation="weighted_softplus",
        ),
        special_values=(
            Special(
                "finite_where_exp_overflows",
                "binary_cross_entropy_with_logits([2¹⁵, −2¹⁵], [0, 1]) = [2¹⁵, 2¹⁵]",
                "log(1 + e^x) = x + log1p(e^−x) for large x, without overflow",
                {"input": [2.0**15, -(2.0**15)], "target": [0.0, 1.0], "reduction": "none"},
                value=[2.0**15, 2.0**15],
                kind="definition",
                because="log(1 + e^x) − x → 0 as x → ∞: a confidently wrong logit costs |x|, finite where e^|x| "
                "overflows in every dtype (2¹⁵ is exact in float16 and bfloat16)",
            ),
            Special(
                "at_infinities",
                "binary_cross_entropy_with_logits([+∞, −∞, +∞], [1, 0, 0]) = [0, 0, +∞]",
                "the limits of log(1 + e^−x) and log(1 + e^x)",
                {"input": [INF, -INF, INF], "target": [1.0, 0.0, 0.0], "reduction": "none"},
                value=[0.0, 0.0, INF],
                kind="choice",
                because="the limits are 0 (certain and right) and +∞ (certain and wrong); max(x, 0) − x·y computes "
                "∞ − ∞ = NaN at the first two",
            ),
            Special(
                "pos_weight_scales_positive_term",
                "binary_cross_entropy_with_logits([[0, 0]], [[1, 0]], pos_weight=[3, 3]) = [[3·log 2, log 2]]",
                "p weights only the y·log σ(x) term",
                {"input": [[0.0, 0.0]], "target": [[1.0, 0.0]], "pos_weight": [3.0, 3.0], "reduction": "none"},
                value=[[3 * 0.6931471805599453, 0.6931471805599453]],
                kind="definition",
                because="PyTorch's pos_weight multiplies the positive term; at x = 0 both terms are log 2",
            ),
            Special(
                "nan_propagates",
                "binary_cross_entropy_with_logits with a NaN logit is NaN there and only there",
                "NaN in, NaN out, elementwise",
                {"input": [NAN, 0.0], "target": [1.0, 1.0], "reduction": "none"},
                value=[NAN, 0.6931471805599453],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2); the other logit 0 costs log 2",
            ),
            Special(
                "refuses_target_outside",
                "A target outside [0, 1] is refused (an error)",
                "a target is a probability",
                {"input": [0.0], "target": [2.0]},
                value=REFUSED,
                kind="choice",
                because="the formula gives a number (negative here) that is no cross-entropy: an error or NaN honours "
                "that; PyTorch computes the number",
            ),
        ),
    ),
    Op(
        "smoothed_cross_entropy",
        term="cross-entropy",
        sizes=_sizes("smoothed_cross_entropy"),
        summary="cross-entropy of softmax(logits) against (1 − ε)·onehot(target) + ε/C; ε = label_smoothing",
        args=(tensor("logits"), index("target"), option("label_smoothing", annotation="float in [0, 1]"), _REDUCTION),
        cases=Cases(
            _CASES + "smoothed_ce_cases",
            {"edges": ("large_offsets", "signed_zeros")},
            why="logits 10⁷ + a few units; ε of 0, 1 and between",
        ),
        accuracy=relative(
            "smoothed_cross_entropy",
            "each term is a weighted sum of −log_softmax values ≥ 0 (no cancellation), then the reduction",
            accumulation="smoothed_cross_entropy",
        ),
        special_values=(
            Special(
                "uniform_logits",
                "smoothed_cross_entropy([[0, 0, 0, 0]], [2], label_smoothing=0.3) = log 4",
                "a uniform prediction costs log C against any target distribution",
                {"logits": [[0.0, 0.0, 0.0, 0.0]], "target": [2], "label_smoothing": 0.3},
                value=1.3862943611198906,
                kind="definition",
                because="−Σ q_c log(1/C) = log C·Σ q_c = log C, whatever the smoothing",
            ),
            Special(
                "masked_class",
                "smoothed_cross_entropy([[−∞, 0]], [1], label_smoothing=0.1) = +∞",
                "the smoothed target puts ε/C on the masked class",
                {"logits": [[-INF, 0.0]], "target": [1], "label_smoothing": 0.1},
                value=INF,
                kind="definition",
                because="q = 0.05 on a class of probability 0: −0.05·log 0 = +∞ (plain cross-entropy gives 0 there)",
            ),
            Special(
                "refuses_smoothing_outside",
                "label_smoothing outside [0, 1] is refused (an error)",
                "(1 − ε)·onehot + ε/C is a distribution only for ε in [0, 1]",
                {"logits": [[0.0, 0.0]], "target": [0], "label_smoothing": 1.5},
                value=REFUSED,
                kind="choice",
                because="for ε > 1 the target has a negative weight: no distribution; PyTorch raises, a formula "
                "without a check computes a number",
            ),
            _mean_of_nothing("smoothed_cross_entropy", "logits"),
        ),
    ),
)
