"""Tolerances, with the source of every number: the relative accuracy model and the per-dtype tables.

Two models, chosen per op by its record's :class:`~dlterms.ops.Accuracy`
(``<op>.matches_reference``):

* **relative** (:class:`Relative`): ``|ŷ − y| ≤ k·u·(|y| + s(x)) + a(x) + λ``
  elementwise, where ``u`` is the unit roundoff of the dtype
  (:data:`UNIT_ROUNDOFF`), ``λ`` its smallest normal number
  (:data:`SMALLEST_NORMAL`), ``k`` = :data:`K`, ``s(x) = κ(x)·|y|`` the op's
  sensitivity (:data:`SENSITIVITY`; κ its condition number) and ``a(x)`` what
  its steps may add (:data:`ACCUMULATION`: ``γ_n·Σ|terms|`` for a sum of ``n``
  terms, in the unit roundoff of the :data:`ACCUMULATOR` dtype, float32 for
  float16 and bfloat16; ``|x|·λ`` for a product x·σ(x) whose factor σ(x) is
  held to the floor λ). It is relative to the value wherever the op is well
  conditioned, so an inaccurate formula cannot hide under an absolute
  tolerance (tanh(1e−8) = 0 fails), and a half-precision sum accumulated in
  half precision does not hide under a float32-accumulated one's bound;
* **absolute** (:class:`Tolerance`): ``|ŷ − y| ≤ atol + rtol·|y|`` (the rule
  of ``numpy.isclose`` and ``torch.testing.assert_close``), per dtype in
  :data:`FORWARD`, for ops whose result can cancel (dot products) and for the
  invariants' own comparisons.

Tolerances are never scaled by the size of an array; inputs on which a check
is badly conditioned are filtered out by the strategies instead of met with a
looser tolerance. An invariant that needs a different tolerance names it in
:data:`OVERRIDES` with a written reason.

*Math modes* (:data:`MATH_MODES`: TF32) round the inputs of float32 matmul and
convolution kernels to a shorter significand. Inside :func:`judged_under`
the float32 comparisons of a check are judged by the mode's tolerance (see
:class:`MathMode`); outside, by float32's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .math_modes import judging_mode
from .sensitivities import (
    SENSITIVITY,
    batch_norm_as_group_norm,
    batch_norm_eval,
    batch_norm_output,
    kl_div_reduced,
    kl_div_terms,
    normalized_groups,
    rate_scaled_step,
    sensitivity,
)

__all__ = [
    "ACCUMULATION",
    "ACCUMULATOR",
    "FD_EPS",
    "FORWARD",
    "GRADIENT",
    "LARGEST",
    "LONG_SUM",
    "OVERRIDES",
    "SENSITIVITY",
    "SMALLEST_NORMAL",
    "SMALLEST_SUBNORMAL",
    "UNIT_ROUNDOFF",
    "K",
    "Relative",
    "Tolerance",
    "accumulation",
    "forward",
    "gamma",
    "gradient",
    "relative",
    "sensitivity",
    "summation_depth",
]


@dataclass(frozen=True)
class Tolerance:
    """The absolute model: ``|ŷ − y| ≤ atol + rtol·|y|``."""

    rtol: float
    atol: float
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"rtol": self.rtol, "atol": self.atol}

    def allowed(
        self, expected: np.ndarray, scale: np.ndarray | None = None, extra: np.ndarray | None = None
    ) -> np.ndarray:
        """The largest error allowed at each element, plus ``extra`` (``scale`` belongs to the relative model)."""
        return self.atol + self.rtol * np.abs(expected) + (0.0 if extra is None else extra)

    def describe(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


# --- the relative model ----------------------------------------------------------------------------
#
# Sources. Unit roundoff u = 2^−p for a p-bit significand, rounding to nearest (IEEE 754-2019
# §3.3 formats; Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., 2002, §2.1):
# every basic operation is exact to a factor (1 + δ), |δ| ≤ u (the standard model, Higham §2.2).
# A result y = f(x) computed in a stable way has a forward error ≲ κ(x)·u·|y| (Higham §1.5-1.6:
# forward error ≲ condition number × backward error), κ(x) = |x·f'(x)/f(x)| elementwise, or for
# an op that shifts its inputs by max x (softmax), the rounding of each shifted input carried
# through the op: Σ_j |∂y_i/∂d_j|·|d_j|/|y_i|, d = x − max x.
# Below the smallest normal number λ the result loses relative precision (gradual underflow,
# Higham §2.1, adds an absolute error term) and frameworks that flush subnormals to zero (XLA
# and TensorFlow on CPU) return 0: an absolute floor λ, which matters only within a factor 1/u
# of the underflow threshold.

# The largest finite value and the smallest subnormal value: where results overflow to ±inf and
# underflow to 0 (IEEE 754-2019 §3.3; bfloat16 has binary32's exponent range and 8 significand bits).
LARGEST: dict[str, float] = {
    "float16": 65504.0,
    "bfloat16": float.fromhex("0x1.fep127"),
    "float32": float.fromhex("0x1.fffffep127"),
    "float64": float.fromhex("0x1.fffffffffffffp1023"),
}
SMALLEST_SUBNORMAL: dict[str, float] = {
    "float16": 2.0**-24,
    "bfloat16": 2.0**-133,
    "float32": 2.0**-149,
    "float64": 2.0**-1074,
}
UNIT_ROUNDOFF: dict[str, float] = {"float16": 2.0**-11, "bfloat16": 2.0**-8, "float32": 2.0**-24, "float64": 2.0**-53}
SMALLEST_NORMAL: dict[str, float] = {
    "float16": 2.0**-14,
    "bfloat16": 2.0**-126,
    "float32": 2.0**-126,
    "float64": 2.0**-1022,
}

# k = 16 units of u, spent as: the reference's own error, ≤ 4 ulp = 8u (the largest bound on
# docs/reference-accuracy.md; 1 ulp ≤ 2u·|y|), plus 8u for the framework: one library function
# documented to ≤ 2 ulp = 4u (CUDA Math API, "Mathematical Functions" appendix: expf, tanhf
# 2 ulp, logf, log1pf 1 ulp; the GNU C Library manual, "Known Maximum Errors in Math Functions":
# exp, log, tanh ≤ 2 ulp on x86-64; Eigen's float tanh: "accurate up to a couple of ulp") and up
# to four further roundings of a basic operation (≤ u each, the standard model). The worst the
# four built-in frameworks were measured at is 7.4u (XLA's float64 tanh near 17.7, where κ ≈ 0).
# This float16/bfloat16 and accumulation-length terms extend it (docs: the trust page).
K = 16.0

_RELATIVE_SOURCE = (
    "|ŷ − y| ≤ k·u·(|y| + κ(x)·|y|) + λ: k = 16 (reference ≤ 4 ulp, framework ≤ 2-ulp library function "
    "and 4 roundings; CUDA Math API, glibc manual), u the unit roundoff, κ the condition number "
    "(Higham 2002, §1.6, §2.2), λ the smallest normal number (flush to zero)"
)


@dataclass(frozen=True)
class Relative:
    """The relative model: ``|ŷ − y| ≤ k·u·(|y| + s) + λ``, ``s`` the sensitivity ``κ(x)·|y|`` per element."""

    k: float
    u: float
    floor: float
    sensitivity: str
    source: str = _RELATIVE_SOURCE

    @property
    def rtol(self) -> float:
        """``k·u``: the coefficient of ``|y| + s`` (the schema's ``rtol``)."""
        return self.k * self.u

    @property
    def atol(self) -> float:
        return self.floor

    def as_dict(self) -> dict[str, Any]:
        return {
            "rtol": self.rtol,
            "atol": self.atol,
            "model": "relative",
            "k": self.k,
            "unit_roundoff": self.u,
            "sensitivity": self.sensitivity,
        }

    def allowed(
        self, expected: np.ndarray, scale: np.ndarray | None = None, extra: np.ndarray | None = None
    ) -> np.ndarray:
        """``k·u·(|y| + scale) + extra + λ`` at each element (``extra``: the accumulation term ``a``)."""
        s = 0.0 if scale is None else np.where(np.isfinite(scale), np.abs(scale), 0.0)
        a = 0.0 if extra is None else np.where(np.isfinite(extra), np.abs(extra), 0.0)
        return self.rtol * (np.abs(expected) + s) + a + self.floor

    def describe(self) -> str:
        u = int(np.log2(self.u))
        return f"relative: k·u·(|y| + κ·|y|) + a + λ with k={self.k:g}, u=2^{u}, κ of {self.sensitivity}"


def relative(dtype: str, sensitivity_name: str) -> Relative:
    """The relative bound of ``dtype`` with the named sensitivity (a key of :data:`SENSITIVITY`)."""
    if sensitivity_name not in SENSITIVITY:
        raise LookupError(f"sensitivity {sensitivity_name!r}: expected one of {sorted(SENSITIVITY)}")
    return Relative(K, UNIT_ROUNDOFF[dtype], SMALLEST_NORMAL[dtype], sensitivity_name)


# --- accumulation -----------------------------------------------------------------------------------
#
# A sum of n terms computed in any order, in a format of unit roundoff u, is within
# γ_n·Σ|terms| of the exact sum, γ_n = n·u/(1 − n·u) (Higham 2002, §4.2 for recursive,
# pairwise and blocked summation alike: (n − 1)·u·Σ|x_i| to first order; §3.1, eq. 3.5 for a dot
# product of n products: γ_n·|x|ᵀ|y|).
# The bound is rigorous, so it is used as it is, without the factor k. Half-precision data is
# summed in float32 by the frameworks' kernels: Micikevicius et al., "Mixed Precision Training"
# (ICLR 2018, §3: "FP16 vector dot-products accumulate the partial products into an FP32 value",
# reductions likewise); PyTorch's CPU kernels compute Half and BFloat16 in their "opmath" type
# float (ATen's at::opmath_type), cuBLAS GEMMs use CUDA_R_32F as the compute type; jnp.sum upcasts
# float16 and bfloat16 (upcast_f16_for_computation). So a float16 or bfloat16 sum gets float32's
# γ_n: one accumulated in half precision is a finding, not a rounding (whether each framework
# does is measured and reported among the conventions).

ACCUMULATOR: dict[str, str] = {"float16": "float32", "bfloat16": "float32", "float32": "float32", "float64": "float64"}


def gamma(n: int, u: float) -> float:
    """``γ_n = n·u / (1 − n·u)``: the relative error bound of a sum of ``n`` terms in unit roundoff ``u``."""
    if n <= 0:
        return 0.0
    if n * u >= 1:
        raise ValueError(f"gamma: n·u = {n}·{u:g} >= 1; the bound holds only for n·u < 1")
    return n * u / (1.0 - n * u)


def accumulation(name: str, case: dict[str, Any], outputs: list[np.ndarray], dtype: str) -> list[np.ndarray]:
    """``a(x)``: what the sums of the op called with ``case`` may add, per output (see :data:`ACCUMULATION`).

    Inside :func:`judged_under` a math mode adds its rounding of the inputs of float32
    products (``2·u_mode·Σ|x_i·w_i|``: each product of two rounded inputs).
    """
    if not name:
        return [np.zeros_like(y) for y in outputs]
    if name not in ACCUMULATION:
        raise LookupError(f"accumulation {name!r}: expected one of {sorted(ACCUMULATION)}")
    mode = judging_mode() if dtype == "float32" else None
    units = Units(
        UNIT_ROUNDOFF[ACCUMULATOR[dtype]],
        UNIT_ROUNDOFF[dtype],
        0.0 if mode is None else mode.unit_roundoff,
        SMALLEST_NORMAL[dtype],
        SMALLEST_NORMAL[ACCUMULATOR[dtype]],
    )
    with np.errstate(all="ignore"):
        return ACCUMULATION[name](case, outputs, units)


@dataclass(frozen=True)
class Units:
    """The unit roundoffs an accumulation bound needs: of the accumulator, the output, and the inputs' rounding;
    and the output dtype's smallest normal number (the relative model's floor λ)."""

    acc: float
    out: float
    inputs: float = 0.0  # 0: the inputs enter exactly (a math mode rounds them)
    floor: float = 0.0
    acc_floor: float = 0.0  # the accumulator's smallest normal number: a flushed product loses less


def _dot_product(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # linear: y = x·Wᵀ + b, n = in_features products plus the bias. The products of exact inputs
    # and their sum: γ_{n}·(|x|·|W|ᵀ + |b|). With a bias, an unfused kernel rounds x·Wᵀ to the
    # output dtype before adding it (JAX, TensorFlow: a dot, then an add): one more rounding of
    # |x·Wᵀ| ≤ |x|·|W|ᵀ, which only a bias adds.
    (y,) = ys
    x, w = np.abs(np.asarray(case["x"], dtype=np.float64)), np.abs(np.asarray(case["weight"], dtype=np.float64))
    products = x @ w.T
    bias = case.get("bias")
    n = w.shape[-1] + (bias is not None)
    terms = products + (0.0 if bias is None else np.abs(np.asarray(bias, dtype=np.float64)))
    epilogue = 0.0 if bias is None else u.out * products
    # Flush to zero (XLA and TensorFlow on CPU; the float32.subnormal_arithmetic convention): each of the n
    # products below the accumulator's smallest normal number may become 0, an error below λ_acc each. It
    # only shows where the result is a few λ (0.5·λ three times is 1.5·λ, and 0 when flushed).
    flushed = n * u.acc_floor
    return [np.broadcast_to(gamma(n, u.acc) * terms + 2 * u.inputs * products + epilogue + flushed, y.shape)]


def _sum_of_terms_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # A mean or sum of n non-negative terms: γ_{n−1}·Σ|terms|, and Σ|terms| = |y|·n (mean) or |y|.
    (y,) = ys
    return [_summed(case.get("reduction", "mean"), y, int(np.size(case["input"])), u.acc)]


def _weighted_softplus_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # binary_cross_entropy_with_logits: the sum of terms (_sum_of_terms_acc), and each term's two softplus values,
    # weighted: p·z·softplus(−x) + (1 − z)·softplus(x). A softplus below λ (x beyond 87.3 in float32: e^−x and
    # log1p of it are subnormal) is flushed to zero by XLA and TensorFlow on the CPU (the convention
    # float32.subnormal_arithmetic), an error below λ, carried by its weight p·z or 1 − z, which may exceed 1
    # (pos_weight 3.97, x = 88.35: p·softplus(−x) = 1.7e-38, a normal number, which JAX returns as 0).
    (y,) = ys
    x = np.asarray(case["input"], dtype=np.float64)
    z = np.broadcast_to(np.asarray(case["target"], dtype=np.float64), x.shape)
    p = 1.0 if case.get("pos_weight") is None else np.asarray(case["pos_weight"], dtype=np.float64)
    flushed = u.floor * (np.abs(p * z) + np.abs(1.0 - z))
    reduction = case.get("reduction", "mean")
    if reduction != "none":
        flushed = np.asarray(np.sum(flushed) / (flushed.size if reduction == "mean" and flushed.size else 1))
    return [_summed(reduction, y, int(x.size), u.acc) + flushed]


def _summed(reduction: str, y: np.ndarray, n: int, u: float) -> np.ndarray:
    if reduction == "none":
        return np.zeros_like(y)
    return np.asarray(gamma(summation_depth(n), u) * np.abs(y))


# A sum of more than LONG_SUM terms is held to the bound of a blocked sum, not a sequential one.
# Summing n terms in blocks of b, each block in turn and then the block sums in turn, errs by at
# most γ_{b + n/b − 1}·Σ|x_i| (every term passes through at most b − 1 + n/b additions; the
# recursive-summation bound of Higham 2002, §4.2, applied twice), so b = ⌈√n⌉ gives
# γ_{2⌈√n⌉}; pairwise summation does better, γ_{⌈log₂ n⌉} (Higham §4.2). Every built-in
# framework sums a long float32 vector in blocks or pairwise (NumPy's pairwise sum, PyTorch's
# cascade sum, XLA's and Eigen's tree reductions; measured for 10⁷ terms on the Benchmarks
# page), and a sequential float32 loop over 10⁷ squares errs by about 2·10⁻² relative, 40 times
# γ_{2√n}. Below LONG_SUM (2²⁰ terms, far beyond every default case), any order is allowed.
LONG_SUM = 2**20


def summation_depth(n: int) -> int:
    """The ``m`` of the bound ``γ_m·Σ|terms|`` that a sum of ``n`` terms is held to: ``n − 1``, or
    ``2⌈√n⌉`` (a blocked or pairwise sum) beyond :data:`LONG_SUM` terms."""
    if n > LONG_SUM:
        return 2 * math.isqrt(n - 1) + 2
    return max(n - 1, 0)


def _softmax_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # y_i = e_i / Σ_j e_j: the sum of a row of n positive terms is within γ_{n−1}, and so is y.
    x, (y,) = np.asarray(case["x"], dtype=np.float64), ys
    n = x.shape[case.get("axis", -1)] if x.ndim else 1
    return [gamma(max(n - 1, 0), u.acc) * np.abs(y)]


def _log_softmax_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # log of a sum with relative error γ_{n−1} is off by γ_{n−1} (absolute).
    x, (y,) = np.asarray(case["x"], dtype=np.float64), ys
    n = x.shape[case.get("axis", -1)] if x.ndim else 1
    return [np.full_like(y, gamma(max(n - 1, 0), u.acc))]


def _cross_entropy_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # Each row's log-sum-exp over C classes (as log_softmax), then the reduction over N rows.
    (y,) = ys
    z = np.asarray(case["logits"], dtype=np.float64)
    n_rows, n_classes = (z.shape[0], z.shape[1]) if z.ndim == 2 else (0, 0)
    per_row = gamma(max(n_classes - 1, 0), u.acc)
    reduction = case.get("reduction", "mean")
    if reduction == "none":
        return [np.full_like(y, per_row)]
    return [np.asarray(per_row * (n_rows if reduction == "sum" else 1) + _summed(reduction, y, n_rows, u.acc))]


def _nll_loss_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # A sum of N non-negative terms (γ_{N−1}·|y|, as _summed); a weighted mean also divides by Σ w_y,
    # a sum of N weights ≥ 0 rounded as the terms are: γ_{N−1}·|y| more (Higham 2002, §4.2).
    (y,) = ys
    reduction, n = case.get("reduction", "mean"), len(case["target"])
    weighted = reduction == "mean" and case.get("weight") is not None
    return [_summed(reduction, y, n, u.acc) * (2.0 if weighted else 1.0)]


def _smoothed_cross_entropy_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # Each row's log-sum-exp over C classes (absolute γ_{C−1}, as _cross_entropy_acc), then the sum of the
    # C values −log p ≥ 0 weighted by ε/C (γ_C·|ℓ|), then the reduction over N rows.
    (y,) = ys
    z = np.asarray(case["logits"], dtype=np.float64)
    n_rows, n_classes = (z.shape[0], z.shape[1]) if z.ndim == 2 else (0, 0)
    per_row = gamma(max(n_classes - 1, 0), u.acc)
    class_sum = gamma(n_classes, u.acc) * np.abs(y)
    reduction = case.get("reduction", "mean")
    if reduction == "none":
        return [per_row + class_sum]
    rows = per_row * (n_rows if reduction == "sum" else 1)
    return [np.asarray(rows + class_sum + _summed(reduction, y, n_rows, u.acc))]


def _recurrence(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # rnn: h_t = tanh(a_t), a_t = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh, a sum of n = in + H + 2
    # terms A_t = |x_t|·|W_ih|ᵀ + |h_{t−1}|·|W_hh|ᵀ + |b_ih| + |b_hh| (h_{t−1} the reference's
    # state). Per step: γ_n·A_t in the accumulator's precision, two partial sums rounded to the
    # dtype (the input projection and the recurrent one, each a separate kernel: 2u_out·A_t),
    # a math mode's rounding of both factors of each product (2u_in·Σ|products|), and tanh's own
    # error with the state's rounding (k·u_out·|h_t|). tanh' ≤ 1 passes a pre-activation's error
    # on unamplified, and the error e_{t−1} of the state enters the next step through
    # |W_hh|: e_t = c_t + e_{t−1}·|W_hh|ᵀ, first order (Higham §1.6).
    outputs, _ = ys
    x, h0 = np.abs(np.asarray(case["x"], dtype=np.float64)), np.abs(np.asarray(case["h0"], dtype=np.float64))
    w_ih, w_hh = (np.abs(np.asarray(case[k], dtype=np.float64)) for k in ("w_ih", "w_hh"))
    bias = np.abs(np.asarray(case["b_ih"], dtype=np.float64)) + np.abs(np.asarray(case["b_hh"], dtype=np.float64))
    n = w_ih.shape[1] + w_hh.shape[1] + 2
    states = np.abs(np.asarray(outputs, dtype=np.float64))
    e, bounds = np.zeros_like(h0), []
    for t in range(x.shape[1]):
        previous = h0 if t == 0 else states[:, t - 1]
        products = x[:, t] @ w_ih.T + previous @ w_hh.T
        terms = products + bias
        step = (gamma(n, u.acc) + 2 * u.out) * terms + 2 * u.inputs * products + K * u.out * states[:, t]
        step = step + n * u.acc_floor  # flushed products, as for a dot product
        e = step + e @ w_hh.T
        bounds.append(e)
    per_step = np.stack(bounds, axis=1) if bounds else np.zeros_like(states)
    return [per_step, per_step[:, -1] if bounds else np.zeros_like(h0)]


def _gate_preactivations(case: dict[str, Any], u: Units) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # A gated cell's G·H pre-activations a = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh (N, G·H), each a sum of n = in + H + 2
    # terms, bounded as one step of _recurrence: γ_n·A in the accumulator, the two partial sums rounded to the
    # dtype (2u_out·A), a math mode's rounding of the products' factors (2u_in·P) and flushed products. Returns
    # the exact a (from float64 data), its bound e, and the hidden side W_hh·h + b_hh.
    x, h = (np.asarray(case[k], dtype=np.float64) for k in ("x", "h"))
    w_ih, w_hh, b_ih, b_hh = (np.asarray(case[k], dtype=np.float64) for k in ("w_ih", "w_hh", "b_ih", "b_hh"))
    products = np.abs(x) @ np.abs(w_ih).T + np.abs(h) @ np.abs(w_hh).T
    terms = products + np.abs(b_ih) + np.abs(b_hh)
    n = w_ih.shape[1] + w_hh.shape[1] + 2
    e = (gamma(n, u.acc) + 2 * u.out) * terms + 2 * u.inputs * products + n * u.acc_floor
    hidden_side = h @ w_hh.T + b_hh
    return x @ w_ih.T + b_ih + hidden_side, e, hidden_side


def _sigmoid_np(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _lstm_cell_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # lstm_cell: (i, f, g, o) = (σ, σ, tanh, σ)(a), c′ = f·c + i·g, h′ = o·tanh(c′). A gate's error is its
    # pre-activation's times the derivative (σ′ = σ(1 − σ), tanh′ = 1 − g²) plus its own rounding (k·u_out·|gate|);
    # c′ adds |c|·e_f + |g|·e_i + |i|·e_g and the rounding of its two products and sum (2u_out·(|f·c| + |i·g|));
    # h′ adds |tanh c′|·e_o + |o|·(1 − tanh²c′)·e_c and tanh's rounding (k·u_out·|tanh c′|). First order
    # (Higham 2002, §1.6, §3.1).
    _, c1 = ys
    return list(_lstm_step(case, c1, u, 0.0, 0.0))


def _lstm_step(case: dict[str, Any], c1: np.ndarray, u: Units, e_h0: Any, e_c0: Any) -> tuple[np.ndarray, np.ndarray]:
    # One step of _lstm_cell_acc, starting from states h and c that already err by e_h0 and e_c0 (a layer's step):
    # e_h0 enters every gate's pre-activation through |W_hh| (e_h0·|W_hh|ᵀ) and e_c0 enters c′ through f, first order.
    a, e_a, _ = _gate_preactivations(case, u)
    e_a = e_a + np.asarray(e_h0) @ np.abs(np.asarray(case["w_hh"], dtype=np.float64)).T if np.ndim(e_h0) else e_a
    hid = c1.shape[-1]
    blocks = [slice(k * hid, (k + 1) * hid) for k in range(4)]
    i, f, o = (_sigmoid_np(a[:, blocks[k]]) for k in (0, 1, 3))
    g = np.tanh(a[:, blocks[2]])
    e_i, e_f, e_o = (s * (1 - s) * e_a[:, blocks[k]] + K * u.out * s for s, k in ((i, 0), (f, 1), (o, 3)))
    e_g = (1 - g * g) * e_a[:, blocks[2]] + K * u.out * np.abs(g)
    c = np.asarray(case["c"], dtype=np.float64)
    e_c = np.abs(c) * e_f + np.abs(g) * e_i + i * e_g + 2 * u.out * (np.abs(f * c) + np.abs(i * g)) + f * e_c0
    t = np.tanh(c1)
    e_h = np.abs(t) * e_o + o * ((1 - t * t) * e_c + K * u.out * np.abs(t))
    return e_h, e_c


def _gru_cell_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # gru_cell: r, z = σ(a_r), σ(a_z); n = tanh(a_in + r·a_hn) with a_in = W_in·x + b_in and a_hn = W_hn·h + b_hn;
    # h′ = (1 − z)·n + z·h. The gates' errors as in _lstm_cell_acc; the candidate's pre-activation errs by
    # e_a[n] (both sides' sums, r ≤ 1) + |a_hn|·e_r + its product's and sum's rounding 2u_out·(|a_in| + |r·a_hn|);
    # h′ by (1 − z)·e_n + |h − n|·e_z + the rounding of 1 − z, its products and sum, k·u_out·(|n| + |h|).
    (h1,) = ys
    return [_gru_step(case, h1.shape[-1], u, 0.0)]


def _gru_step(case: dict[str, Any], hid: int, u: Units, e_h0: Any) -> np.ndarray:
    # One step of _gru_cell_acc from a state h that already errs by e_h0 (a layer's step): e_h0 enters every gate's
    # pre-activation through |W_hh| (the candidate's hidden side too, times r ≤ 1) and h′ through z, first order.
    a, e_a, hidden_side = _gate_preactivations(case, u)
    e_a = e_a + np.asarray(e_h0) @ np.abs(np.asarray(case["w_hh"], dtype=np.float64)).T if np.ndim(e_h0) else e_a
    r_, z_, n_ = (slice(k * hid, (k + 1) * hid) for k in range(3))
    r, z = _sigmoid_np(a[:, r_]), _sigmoid_np(a[:, z_])
    e_r = r * (1 - r) * e_a[:, r_] + K * u.out * r
    e_z = z * (1 - z) * e_a[:, z_] + K * u.out * z
    a_hn = hidden_side[:, n_]
    a_in = a[:, n_] - a_hn
    n = np.tanh(a_in + r * a_hn)
    e_pre = e_a[:, n_] + np.abs(a_hn) * e_r + 2 * u.out * (np.abs(a_in) + np.abs(r * a_hn))
    e_n = (1 - n * n) * e_pre + K * u.out * np.abs(n)
    h = np.asarray(case["h"], dtype=np.float64)
    return (1 - z) * e_n + np.abs(h - n) * e_z + K * u.out * (np.abs(n) + np.abs(h)) + z * e_h0


def _layer_steps(case: dict[str, Any], outputs: np.ndarray) -> Iterator[tuple[int, dict[str, Any]]]:
    # lstm, gru: the steps in the order the layer reads them (reverse=True: t = T … 1), each as a cell's case at
    # the reference's states: x_t and the hidden state h the step starts from (h0 first, then the output read before).
    x = np.asarray(case["x"], dtype=np.float64)
    steps = x.shape[1]
    order = list(range(steps - 1, -1, -1) if case.get("reverse", False) else range(steps))
    h = np.asarray(case["h0"], dtype=np.float64)
    for t in order:
        yield t, {**case, "x": x[:, t], "h": h}
        h = outputs[:, t]


def _lstm_layer_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # lstm: each step is an LSTM cell (_lstm_step) at the reference's states, starting from the errors of the
    # states the step before left; c_t from the exact pre-activations in float64 (the reference returns c_n only).
    outputs, h_n, _ = ys
    e_h, e_c = np.zeros_like(h_n), np.zeros_like(h_n)
    c = np.asarray(case["c0"], dtype=np.float64)
    bounds = np.zeros_like(outputs)
    for t, cell in _layer_steps(case, outputs):
        cell["c"] = c
        a_i, a_f, a_g, _ = np.split(_gate_preactivations(cell, u)[0], 4, axis=-1)
        i, f, g = _sigmoid_np(a_i), _sigmoid_np(a_f), np.tanh(a_g)
        c = f * c + i * g
        e_h, e_c = _lstm_step(cell, c, u, e_h, e_c)
        bounds[:, t] = e_h
    return [bounds, e_h, e_c]


def _gru_layer_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # gru: each step is a GRU cell (_gru_step) at the reference's states, starting from the error of the state the
    # step before left.
    outputs, h_n = ys
    e_h = np.zeros_like(h_n)
    bounds = np.zeros_like(outputs)
    for t, cell in _layer_steps(case, outputs):
        e_h = _gru_step(cell, h_n.shape[-1], u, e_h)
        bounds[:, t] = e_h
    return [bounds, e_h]


def _times_x(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # x·σ(x): σ(x) is held to k·u·(…) + λ, λ the smallest normal number (XLA and TensorFlow flush
    # a subnormal σ(x) to zero; x/(1 + e^−x) is x/∞ = −0 once e^−x overflows), so the product is
    # held to |x| times that floor: from x ≈ −87.3 to −103 in float32, x·σ(x) is a normal number
    # (−2.4e-37 at −88.8) that every framework measured returns as −0.0. No sum: only the floor.
    (y,) = ys
    return [np.broadcast_to(np.abs(np.asarray(case["x"], dtype=np.float64)) * u.floor, y.shape)]


def _normalization_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # layer_norm, rms_norm, group_norm, in the accumulator's precision (float32 for half-precision data):
    # the mean of n values errs by e_μ = γ_n·mean|x|; the variance by δv = γ_{n+2}·(σ² + 2·mean|x|·mean|x − μ|)
    # + e_μ², which holds for a two-pass variance (mean((x − μ̂)²) = σ² + (μ − μ̂)² plus each square's
    # rounding) and for Welford's update (each step rounds the running mean, an error u·|x| times a
    # deviation), but not for a one-pass mean(x²) − μ² (γ_n·mean x², which cancels far from 0). Where δv
    # reaches σ² the first-order bound breaks (a float32 row 1.2·10⁷ + [0, 1] has a variance below what
    # its rounding can resolve: PyTorch's Welford gives σ̂² = 0 and z = −1/√ε), so 1/√(σ̂² + ε) is bounded
    # at the low end σ̂² = max(σ² − δv, 0): z errs by at most |x − μ|·(1/s_lo − 1/s) + e_μ/s_lo, plus
    # γ_4·|z| for the square root, the division and the scaling (Higham 2002, §1.6, §4.2; Chan, Golub
    # and LeVeque 1983 for the variance algorithms). Times |w|.
    (y,) = ys
    g = normalized_groups(case)
    n = g.x.shape[1]
    e_mu = gamma(n, u.acc) * g.mean_abs
    mean_dev = np.mean(g.deviation, axis=1, keepdims=True)
    dv = gamma(n + 2, u.acc) * (g.variance + 2.0 * g.mean_abs * mean_dev) + e_mu * e_mu
    s_lo = np.sqrt(np.maximum(g.variance - dv, 0.0) + g.eps)
    z_err = g.deviation * (1.0 / s_lo - 1.0 / g.scale) + e_mu / s_lo + gamma(4, u.acc) * np.abs(g.z)
    return [g.as_output(np.abs(g.weight) * z_err, y.shape)]


def _kl_div_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # The terms p·(log p − log q) have both signs: a sum of n of them is held to γ_{n−1}·Σ|terms|
    # (Higham 2002, §4.2), not to γ·|sum|; then divided as the reduction divides (mean, batchmean).
    (y,) = ys
    terms, _ = kl_div_terms(case)
    if case.get("reduction", "mean") == "none":
        return [np.zeros_like(y)]
    return [np.asarray(gamma(summation_depth(terms.size), u.acc) * kl_div_reduced(case, np.abs(terms)))]


def _batch_norm_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # Training: group normalization of each channel over the batch, as _normalization_acc. Evaluation: no
    # sum; the square root, the division and the scaling, γ_4·|z|·|w| (Higham 2002, §1.6).
    (y,) = ys
    if case.get("training", False):
        (a,) = _normalization_acc(batch_norm_as_group_norm(case), [y], u)
        return [batch_norm_output(a, np.shape(y))]
    x, m, s, w, _ = batch_norm_eval(case)
    return [np.broadcast_to(gamma(4, u.acc) * np.abs(w) * np.abs(x - m) / s, np.shape(y))]


def _batch_norm_running_stats_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # The batch mean of n values errs by e_μ = γ_n·mean|x|; the unbiased variance n/(n − 1)·σ² by n/(n − 1)·δv
    # with δv as in _normalization_acc (a two-pass or Welford variance); each times the momentum m.
    mean_y, _ = ys
    x = np.moveaxis(np.asarray(case["x"], dtype=np.float64), 1, 0).reshape(mean_y.shape[0], -1)
    n, m = x.shape[1], float(case.get("momentum", 0.1))
    mean_abs = np.mean(np.abs(x), axis=1)
    deviation = np.abs(x - np.mean(x, axis=1, keepdims=True))
    e_mu = gamma(n, u.acc) * mean_abs
    dv = gamma(n + 2, u.acc) * (np.mean(deviation**2, axis=1) + 2.0 * mean_abs * np.mean(deviation, axis=1))
    return [m * e_mu, m * n / (n - 1) * (dv + e_mu * e_mu)]


def _adam_step_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # No sum, floors carried: the step divides by √v̂ + ε (as small as ε = 1e-8) after its numerator,
    # and XLA and TensorFlow flush a subnormal numerator to zero on the CPU. m′ = β₁m + (1 − β₁)g is
    # held to λ (m = λ, g = 0 gives 0.9λ), carried by lr/((1 − β₁ᵗ)(√v̂ + ε)): a normal parameter
    # (−2.0e-302 in float64) that JAX returns as 0; Keras' numerator m′·lr·√c₂/c₁ is held to λ too
    # (g = 3.3e-307: 1.0e-311, flushed), carried by 1/(√c₂(√v̂ + ε)). m′ and v′ themselves: only λ.
    _, _, v1 = ys
    t, lr, b1, b2, eps = case["step"], case["lr"], case["beta1"], case["beta2"], case["eps"]
    c1, c2 = 1.0 - b1**t, 1.0 - b2**t
    den = np.sqrt(v1 / c2) + eps
    return [u.floor * (lr / c1 + 1.0 / np.sqrt(c2)) / den, np.zeros_like(v1), np.zeros_like(v1)]


def _rmsprop_step_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # RMSprop and Adagrad, as _adam_step_acc: no sum, a floor carried. Keras computes lr·g first and XLA and
    # TensorFlow flush a subnormal product to zero on the CPU; the division by d (as small as ε, or √ε under
    # the root) carries that floor λ: λ·(lr_t + 1)/d on param, λ on the state.
    _, v1 = ys
    _, den, _, lr = rate_scaled_step(case, v1)
    return [u.floor * (lr + 1.0) / den, np.zeros_like(v1)]


def _sgd_momentum_step_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # No sum, a floor carried: Keras keeps the velocity −lr·b (the convention sgd.momentum_formulation), and
    # XLA and TensorFlow flush a subnormal product to zero on the CPU; the buffer read back as −v′/lr carries
    # that floor λ as λ·(1 + μ)/lr (the old velocity's and the new one's), param λ.
    _, b1 = ys
    lr, mu = case["lr"], case["momentum"]
    floor = u.floor * (1.0 + mu) / lr if lr > 0.0 and mu > 0.0 else 0.0
    return [np.full_like(b1, u.floor), np.full_like(b1, floor)]


def _perplexity_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # e^L of the mean cross-entropy L: what L's sums add (its accumulation term a_L, an absolute error in L)
    # is a relative error of e^L: a = PPL·a_L.
    (y,) = ys
    (a_loss,) = _cross_entropy_acc({**case, "reduction": "mean"}, [np.log(y)], u)
    return [np.abs(y) * a_loss]


def _rotation_acc(case: dict[str, Any], ys: list[np.ndarray], u: Units) -> list[np.ndarray]:
    # y_a = x_a·cos θ − x_b·sin θ: each of the two products of a normal x may be subnormal and flushed to zero
    # (XLA and TensorFlow flush on CPU, float64 too: the convention float32.subnormal_arithmetic), an error
    # below λ each, 2λ for the output; the relative model's own λ covers one.
    (y,) = ys
    return [np.full_like(y, 2 * u.floor)]


# The accumulation functions an op record may name (dlterms.ops.Accuracy.accumulation).
ACCUMULATION: dict[str, Callable[[dict[str, Any], list[np.ndarray], Units], list[np.ndarray]]] = {
    "dot_product": _dot_product,
    "sum_of_terms": _sum_of_terms_acc,
    "weighted_softplus": _weighted_softplus_acc,
    "softmax": _softmax_acc,
    "log_softmax": _log_softmax_acc,
    "cross_entropy": _cross_entropy_acc,
    "nll_loss": _nll_loss_acc,
    "smoothed_cross_entropy": _smoothed_cross_entropy_acc,
    "recurrence": _recurrence,
    "lstm_cell": _lstm_cell_acc,
    "gru_cell": _gru_cell_acc,
    "lstm": _lstm_layer_acc,
    "gru": _gru_layer_acc,
    "times_x": _times_x,
    "layer_norm": _normalization_acc,
    "rms_norm": _normalization_acc,
    "group_norm": _normalization_acc,
    "batch_norm": _batch_norm_acc,
    "batch_norm_running_stats": _batch_norm_running_stats_acc,
    "kl_div": _kl_div_acc,
    "adam_step": _adam_step_acc,
    "rmsprop_step": _rmsprop_step_acc,
    "sgd_momentum_step": _sgd_momentum_step_acc,
    "perplexity": _perplexity_acc,
    "rotation": _rotation_acc,
}


_TORCH = "torch.testing.assert_close defaults (PyTorch 2.x docs, 'Default tolerances')"

# Forward values compared with the float64 reference.
FORWARD: dict[str, Tolerance] = {
    "float16": Tolerance(1e-3, 1e-5, _TORCH),
    "bfloat16": Tolerance(1.6e-2, 1e-5, _TORCH),
    "float32": Tolerance(1.3e-6, 1e-5, _TORCH),
    "float64": Tolerance(1e-7, 1e-7, _TORCH),
}

# Gradients (a framework's VJP against the reference VJP, and directional
# derivatives against central finite differences in float64).
# float16 and bfloat16 take JAX's values for both rtol and atol, as check_grads does: a VJP is
# a sum of products (cotangent × local derivative) that cancels, and frameworks round its partial
# sums to the dtype (a bias gradient summed per image, then over the batch), so its error is
# relative to the size of the terms, ~u·Σ|terms|, not to the result.
GRADIENT: dict[str, Tolerance] = {
    "float16": Tolerance(1e-2, 1e-2, "jax.test_util.check_grads: default_gradient_tolerance[float16] = 1e-2"),
    "bfloat16": Tolerance(1e-1, 1e-1, "jax.test_util.check_grads: default_gradient_tolerance[bfloat16] = 1e-1"),
    "float32": Tolerance(2e-3, 1e-5, "jax.test_util.check_grads: default_gradient_tolerance[float32] = 2e-3"),
    "float64": Tolerance(1e-5, 1e-7, "jax.test_util.check_grads: default_gradient_tolerance[float64] = 1e-5"),
}

# Step of the central difference in float64: truncation error O(eps^2) ~ 1e-12
# against rounding error O(u/eps) ~ 1e-10 (u = 2^-53), both far below 1e-5.
FD_EPS = 1e-6


def _absolute(roundings: int, why: str) -> dict[str, Tolerance]:
    """An absolute bound for a comparison of values of magnitude ≤ 1 that cancel: atol + k·rtol, rtol 0."""
    return {d: Tolerance(0.0, t.atol + roundings * t.rtol, f"{t.source}; {why}") for d, t in FORWARD.items()}


# Per-invariant overrides: invariant id -> (dtype -> Tolerance), each with its reason. An
# invariant whose comparison cancels, or compares a function of a rounded value, gets its own
# bound here, derived from FORWARD; it is never loosened to make a failure go away.
OVERRIDES: dict[str, dict[str, Tolerance]] = {
    # σ(−x) + σ(x) = 1 is a sum of two values in [0, 1], each within FORWARD: absolute, since
    # 1 − σ(x) loses relative accuracy as σ(x) → 1 (two roundings of a value ≤ 1).
    "sigmoid.symmetry": _absolute(2, "absolute: the sum of two values ≤ 1, each rounded once"),
    # 2σ(2x) − 1 cancels near x = 0: absolute, scaled by max |tanh| = 1 (σ rounded, doubled,
    # shifted; tanh rounded: four roundings of values ≤ 2).
    "tanh.sigmoid_identity": _absolute(4, "absolute: 2σ(2x) − 1 cancels near 0 (four roundings of values ≤ 2)"),
    # The sum of a softmax row of logits up to ±1e4 (terms that underflow to 0 are below the
    # smallest normal number): a row holds at most 5 values in [0, 1] (strategies.shapes,
    # max_side=5), each within float32's rtol 1.3e-6, so the sum is within 5·(1.3e-6 + 2⁻²⁴)
    # ≈ 7e-6 of 1. The bound 1e-4 is the seed release's, about 14× that.
    "softmax.finite_for_large_logits": {
        d: Tolerance(0.0, 1e-4, "softmax row sum after underflow: ≤ 5·(rtol + u) ≈ 7e-6 in float32; 1e-4 kept")
        for d in ("float32", "float64")
    },
    # Each side computes log Σ e^(z − max z) of a sum ≥ 1 with log (not log1p): the sum's rounding
    # (u relative) is u absolute after the log, and the log's own rounding another u: two sides,
    # 4u absolute beyond the forward tolerance (float16: 2e-3, where a term near 0.13 differs by
    # 3.7e-4 on TensorFlow; float32: 2.4e-7, below its atol).
    "cross_entropy.equals_negative_log_softmax_at_target": {
        d: Tolerance(t.rtol, t.atol + 4 * UNIT_ROUNDOFF[d], f"{t.source}; log Σ of a sum ≥ 1 on each side: 4u absolute")
        for d, t in FORWARD.items()
    },
    # log of a value with relative error r has absolute error ≈ r: the absolute part is
    # 4·rtol (softmax and log_softmax each within FORWARD, the log adds one rounding).
    "log_softmax.equals_log_of_softmax": {
        d: Tolerance(t.rtol, 4 * t.rtol + t.atol, f"{t.source}; log of a value with relative error r is off by ≈ r")
        for d, t in FORWARD.items()
    },
}


def forward(dtype: str, invariant: str = "") -> Tolerance:
    """The forward tolerance for ``dtype`` or the invariant's override (float32 under a math mode: see MathMode)."""
    dtype = _judged_as(dtype)
    return OVERRIDES.get(invariant, {}).get(dtype) or FORWARD[dtype]


def gradient(dtype: str, invariant: str = "") -> Tolerance:
    """The gradient tolerance for ``dtype`` or the invariant's override (float32 under a math mode: see MathMode)."""
    dtype = _judged_as(dtype)
    return OVERRIDES.get(invariant, {}).get(dtype) or GRADIENT[dtype]


def _judged_as(dtype: str) -> str:
    mode = judging_mode()
    return mode.like if mode is not None and dtype == "float32" else dtype
