"""Op records of the smooth rectifiers past the seed: GELU, ELU, softplus, log-sigmoid (section: activation functions).

Split from :mod:`dlterms.ops.activations` (as :mod:`dlterms.reference.smooth_rectifiers` is from
:mod:`dlterms.reference.activations`) to keep each module under 500 lines.
"""

from __future__ import annotations

from .record import INF, NAN, VECTOR_LENGTHS, Cases, Op, Special, option, relative, tensor

# The forward comparison reaches the tails where only a relative bound sees an inaccurate formula
# (½x(1 + erf(x/√2)) for x ≪ 0, e^x − 1 near 0, log(1 + e^x) above log(max)) and the edges of the
# dtype's range (dlterms.conformance.edges); the gradients the same edges, away from ELU's kink.
_WHY = "tails and tiny inputs, where only a relative bound sees an inaccurate formula; the edges of the range"
_EDGES = "the edges of the range where formulas break"
_EXP_EDGES = ("exp_overflow", "exp_underflow", "saturation", "full_range", "signed_zeros")
_RANGE_EDGES = ("full_range", "signed_zeros")
_VECTORS = "vectors of every length 2^k − 1, 2^k, 2^k + 1, with edge values in the body and the tail"
_ELEMENTWISE_WHY = "one elementwise function: an error of a few roundings relative to the value"
_CASES = "invariants.smooth_rectifiers."


def _sizes(edges: tuple[str, ...]) -> Cases:
    return Cases("sizes.elementwise", {"lengths": VECTOR_LENGTHS, "edges": edges}, why=_VECTORS)


def _nan(op: str, other: float, why: str) -> Special:
    return Special(
        "nan_propagates",
        f"{op}(NaN) = NaN",
        "the other element is unaffected",
        {"x": [NAN, 0.0]},
        value=[NAN, other],
        kind="definition",
        because=f"NaN in, NaN out (IEEE 754 §6.2); elementwise, so the other element is {why}",
    )


OPS = (
    Op(
        "gelu",
        term="gelu",
        sizes=_sizes(_RANGE_EDGES),
        summary="x·Φ(x) (approximate='tanh': ½x(1 + tanh(√(2/π)(x + 0.044715x³)))), elementwise",
        args=(tensor("x"), option("approximate", "none", "'none' | 'tanh'")),
        cases=Cases(
            _CASES + "gelu_cases", {"magnitudes": (1e-30, 40.0), "edges": _RANGE_EDGES}, why=f"{_WHY}; both forms"
        ),
        grad_cases=Cases(_CASES + "gelu_cases", {"edges": _RANGE_EDGES}, why=f"{_EDGES}; both forms"),
        accuracy=relative(
            "gelu",
            _ELEMENTWISE_WHY + "; κ(x) = |1 + x·φ(x)/Φ(x)| (≈ x² in the left tail); Φ's floor λ, times x, "
            "where Φ(x) is below the smallest normal",
            accumulation="times_x",
        ),
        special_values=(
            Special(
                "at_plus_infinity",
                "gelu(+∞) = +∞",
                "∞·Φ(∞) = ∞·1",
                {"x": [INF]},
                value=[INF],
                kind="definition",
                because="x·Φ(x) at +∞ is ∞·1 = ∞ (and ½∞(1 + tanh ∞) = ∞): the formula, no limit taken",
            ),
            Special(
                "at_minus_infinity",
                "gelu(−∞) = −0.0 (the limit) or NaN (−∞·0)",
                "the product is indeterminate there",
                {"x": [-INF]},
                value=[-0.0],
                kind="choice",
                because="x·Φ(x) at −∞ is −∞·0, which IEEE arithmetic makes NaN; the limit is 0 from below, "
                "the reference's value; the definition fixes neither",
            ),
            _nan("gelu", 0.0, "0·Φ(0) = 0"),
        ),
    ),
    Op(
        "elu",
        term="elu",
        sizes=_sizes(_EXP_EDGES),
        summary="x for x > 0, alpha·(e^x − 1) otherwise",
        args=(tensor("x"), option("alpha", 1.0, "float")),
        cases=Cases(
            _CASES + "elu_cases",
            {"magnitudes": (1e-30, 80.0), "edges": _EXP_EDGES},
            why=f"{_WHY}; alpha = 1 and in [0.1, 2]",
        ),
        grad_cases=Cases(
            _CASES + "elu_cases",
            {"away_from": 0.0, "edges": ("exp_underflow", "full_range")},
            why="not differentiable at 0 unless alpha = 1 (the kink); " + _EDGES,
        ),
        accuracy=relative(
            "elu", _ELEMENTWISE_WHY + "; κ(x) = 1 above 0 and |x|/(e^−x − 1) ≤ 1 below (α(e^x − 1) with expm1)"
        ),
        special_values=(
            Special(
                "at_infinities",
                "elu(−∞) = −1, elu(+∞) = +∞ (alpha = 1)",
                "the formula at the limits",
                {"x": [-INF, INF]},
                value=[-1.0, INF],
                kind="definition",
                because="α(e^−∞ − 1) = α·(0 − 1) = −α and +∞ > 0 stays +∞: the formula, no limit taken",
            ),
            Special(
                "alpha_at_minus_infinity",
                "elu(−∞, alpha=2) = −2",
                "the saturation value is −alpha",
                {"x": [-INF], "alpha": 2.0},
                value=[-2.0],
                kind="definition",
                because="α(e^−∞ − 1) = −α for α = 2: an adapter that drops alpha gives −1",
            ),
            _nan("elu", 0.0, "α·(e^0 − 1) = 0"),
        ),
    ),
    Op(
        "softplus",
        term="softplus",
        sizes=_sizes(_EXP_EDGES),
        summary="log(1 + e^(beta·x))/beta, elementwise (exact: no threshold)",
        args=(tensor("x"), option("beta", 1.0, "float > 0")),
        cases=Cases(
            _CASES + "softplus_cases",
            {"magnitudes": (1e-30, 80.0), "edges": _EXP_EDGES},
            why=f"{_WHY}; beta = 1 and powers of two in [1/4, 4]",
        ),
        grad_cases=Cases(_CASES + "softplus_cases", {"edges": _EXP_EDGES}, why=_EDGES),
        accuracy=relative(
            "softplus",
            _ELEMENTWISE_WHY
            + "; κ(x) = |x|·σ(βx)/softplus(x): ≤ 1 above 0, ≈ |βx| in the left tail (softplus ≈ e^(βx)/β)",
        ),
        special_values=(
            Special(
                "at_infinities",
                "softplus(−∞) = 0, softplus(+∞) = +∞",
                "the formula at the limits",
                {"x": [-INF, INF]},
                value=[0.0, INF],
                kind="definition",
                because="log(1 + e^−∞) = log 1 = 0 and log(1 + e^∞) = ∞: the formula, no limit taken",
            ),
            Special(
                "large_input_is_finite",
                "softplus(1000) = 1000",
                "log(1 + e^x) must not overflow where its value is x",
                {"x": [1000.0]},
                value=[1000.0],
                kind="definition",
                because="log(1 + e^1000) = 1000 + log(1 + e^−1000), 1000 to within 10^−434: finite in every dtype",
            ),
            _nan("softplus", 0.6931471805599453, "log 2"),
        ),
    ),
    Op(
        "log_sigmoid",
        term="log-sigmoid",
        sizes=_sizes(_EXP_EDGES),
        summary="log(sigmoid(x)) = −softplus(−x), elementwise",
        args=(tensor("x"),),
        cases=Cases(_CASES + "log_sigmoid_cases", {"magnitudes": (1e-30, 80.0), "edges": _EXP_EDGES}, why=_WHY),
        grad_cases=Cases(_CASES + "log_sigmoid_cases", {"edges": _EXP_EDGES}, why=_EDGES),
        accuracy=relative(
            "log_sigmoid",
            _ELEMENTWISE_WHY + "; κ(x) = |x|·σ(−x)/|log σ(x)|: ≤ 1 below 0, ≈ |x| in the right tail (log σ ≈ −e^−x)",
        ),
        special_values=(
            Special(
                "at_infinities",
                "log_sigmoid(−∞) = −∞, log_sigmoid(+∞) = 0",
                "the formula at the limits",
                {"x": [-INF, INF]},
                value=[-INF, 0.0],
                kind="definition",
                because="log σ(−∞) = log 0 = −∞ and log σ(∞) = log 1 = 0: the formula, no limit taken",
            ),
            Special(
                "large_negative_is_finite",
                "log_sigmoid(−1000) = −1000",
                "log(sigmoid(x)) is log 0 = −∞ where σ(x) underflows",
                {"x": [-1000.0]},
                value=[-1000.0],
                kind="definition",
                because="log σ(−1000) = −1000 − log(1 + e^−1000), −1000 to within 10^−434: finite in every dtype",
            ),
            _nan("log_sigmoid", -0.6931471805599453, "log ½ = −log 2"),
        ),
    ),
)
