"""Op records of the robust regression losses: Huber and smooth L1 (section: the cost function).

A module of its own (as :mod:`dlterms.reference.regression_losses`), beside the seed's
:mod:`dlterms.ops.losses`, to keep each under 500 lines.
"""

from __future__ import annotations

from .record import INF, LONG_REDUCTION, NAN, REDUCTION_LENGTHS, Cases, Op, Special, option, relative, tensor

_REDUCTION = option("reduction", "mean", "'mean' | 'sum' | 'none'")
_CASES = "invariants.regression_losses."
_EDGES = ("large_offsets", "signed_zeros")
_WHY = (
    "input and target far from 0 but close to each other, where a − b must not be expanded; "
    "residuals on both sides of the threshold"
)
_ACCURACY = relative(
    "sum_of_terms",
    "each term is r = a − b rounded once and two more roundings (½r², or δ(|r| − δ/2) with |r| ≥ δ: "
    "the subtraction loses at most a factor 2), and a sum of non-negative terms does not cancel",
    accumulation="sum_of_terms",
)


def _sizes(loss: str) -> Cases:
    return Cases(
        "sizes.losses",
        {"loss": loss, "lengths": REDUCTION_LENGTHS, "long": LONG_REDUCTION, "edges": ("signed_zeros",)},
        why=f"reductions of 255 to 2,049 terms; a mean of {LONG_REDUCTION:,} terms",
    )


def _infinite(op: str) -> Special:
    return Special(
        "infinite_error",
        f"{op} elementwise at ±∞: ∞ − 0 gives ∞, ∞ − ∞ gives NaN",
        "IEEE arithmetic",
        {"input": [INF, INF], "target": [0.0, INF], "reduction": "none"},
        value=[INF, NAN],
        kind="definition",
        because="an infinite residual is on the linear side: ∞; ∞ − ∞ is undefined, and NaN is IEEE's result",
    )


def _nan(op: str) -> Special:
    return Special(
        "nan_propagates",
        f"{op} with a NaN input is NaN there and only there",
        "NaN in, NaN out, elementwise",
        {"input": [NAN, 1.0], "target": [0.0, 3.0], "reduction": "none"},
        value=[NAN, 1.5],
        kind="definition",
        because="NaN in, NaN out (IEEE 754 §6.2); the other residual, |−2| ≥ 1, costs 1·(2 − ½) = 1.5",
    )


def _mean_of_nothing(op: str) -> Special:
    return Special(
        "mean_of_nothing",
        f"{op} of empty tensors with reduction='mean' is NaN",
        "0/0",
        {"input": [], "target": []},
        value=NAN,
        kind="choice",
        because="the mean of no terms is 0/0: NaN, 0 and an error are all in use",
    )


OPS = (
    Op(
        "huber_loss",
        term="huber-loss",
        sizes=_sizes("huber"),
        summary="½r² for |r| < delta, delta·(|r| − ½delta) beyond (r = input − target); reduced",
        args=(tensor("input"), tensor("target"), option("delta", 1.0, "float > 0"), _REDUCTION),
        cases=Cases(_CASES + "huber_cases", {"edges": _EDGES}, why=f"{_WHY}; delta = 1 and powers of two"),
        accuracy=_ACCURACY,
        special_values=(
            _infinite("huber_loss"),
            _nan("huber_loss"),
            _mean_of_nothing("huber_loss"),
        ),
    ),
    Op(
        "smooth_l1_loss",
        term="smooth-l1-loss",
        sizes=_sizes("smooth_l1"),
        summary="r²/(2beta) for |r| < beta, |r| − ½beta beyond (beta = 0: |r|); reduced",
        args=(tensor("input"), tensor("target"), option("beta", 1.0, "float >= 0"), _REDUCTION),
        cases=Cases(_CASES + "smooth_l1_cases", {"edges": _EDGES}, why=f"{_WHY}; beta = 1, 0 and powers of two"),
        grad_cases=Cases(
            _CASES + "smooth_l1_cases",
            {"positive_beta": True},
            why="beta > 0: at beta = 0 the loss is |r|, not differentiable at r = 0",
        ),
        accuracy=_ACCURACY,
        special_values=(
            _infinite("smooth_l1_loss"),
            _nan("smooth_l1_loss"),
            Special(
                "beta_zero_is_l1",
                "smooth_l1_loss with beta=0 is the absolute error |input − target|",
                "no quadratic zone is left",
                {"input": [0.5, -3.0], "target": [0.0, 1.0], "beta": 0.0, "reduction": "none"},
                value=[0.5, 4.0],
                kind="definition",
                because="|r| ≥ 0 = β everywhere, so every term is |r| − 0: the formula, no limit taken",
            ),
            _mean_of_nothing("smooth_l1_loss"),
        ),
    ),
)
