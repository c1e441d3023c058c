"""What a convention and a probe are, the inputs the probes share, and how each value is read off a result.

Every framework module and :mod:`.reference` feed the same inputs (:data:`X3`,
:data:`CE_LOGITS`, ...) to their own API and hand the result to the same
reader (:func:`softmax_axis`, :func:`ce_input`, ...), so a value means the same
thing in every column of the matrix. Readers accept anything
``numpy.asarray`` takes (a framework tensor, a NumPy array, a float).

The half-precision inputs (:data:`F16_EXP_X` ... :data:`ACCUMULATION_X`) are
exact float16 (and, for :data:`ACCUMULATION_X`, exact in their dtype): each
framework gets the same numbers, and the canonical value is the exact result
(the float64 reference on those inputs) rounded once to the dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ACCUMULATION_X",
    "CE2_LOGITS",
    "CE2_TARGET",
    "CE_LOGITS",
    "F16_EXP_X",
    "F16_LINEAR_OVERFLOW_X",
    "F16_MAX",
    "F16_MAX_STEPS",
    "F16_PARTIAL_SUM_X",
    "F16_SOFTMAX_CLOSE",
    "F16_SOFTMAX_PLUS_MINUS",
    "GATE_SATURATION",
    "GRU_RESET_H",
    "GRU_RESET_R_BIAS",
    "GRU_RESET_W_HN",
    "SUBNORMAL_X",
    "TINY32",
    "X3",
    "XCORR_W",
    "XCORR_X",
    "Attend",
    "Convention",
    "GruCell",
    "LstmCell",
    "Probe",
    "Value",
    "attention_alignment_read",
    "attention_mask_read",
    "attention_masked_bias_row_read",
    "attention_masked_row_read",
    "attention_precision_read",
    "attention_scale_read",
    "ce_input",
    "extra_cell_side",
    "flip",
    "forget_bias_init_read",
    "gru_gate_order_read",
    "gru_reset_read",
    "largest_finite",
    "lstm_gate_order_read",
    "num",
    "pad_counted",
    "reduction",
    "sign_of_zero",
    "softmax_axis",
    "softmax_pair",
    "subnormal",
    "tie_rule",
    "variance",
]

Value = float | int | str | bool | None


@dataclass(frozen=True)
class Convention:
    """A default a definition leaves open: ``canonical()`` measures it on :mod:`dlterms.reference`."""

    id: str
    description: str
    canonical: Callable[[], Value]


@dataclass(frozen=True)
class Probe:
    """The measurement of convention ``convention`` in one framework: ``measure()`` calls its ``api``."""

    convention: str
    api: str
    measure: Callable[[], Value]


def num(v: Any) -> float:
    """A measured number, to 6 significant digits (float32 results read as the decimal they stand for)."""
    return float(f"{float(np.asarray(v, dtype=np.float64)):.6g}")


def sign_of_zero(v: Any) -> str:
    """``"+0.0"`` or ``"-0.0"`` for a zero (the sign bit read), ``repr`` of any other number."""
    v = float(np.asarray(v, dtype=np.float64))
    return "-0.0" if v == 0 and math.copysign(1.0, v) < 0 else "+0.0" if v == 0 else repr(v)


X3 = np.arange(8, dtype=np.float64).reshape(2, 2, 2) * np.array([0.5, 1.0]) - 1.0  # no two axes alike


def softmax_axis(y: Any) -> str:
    """Which axis a softmax of :data:`X3` normalised over: ``axis -1`` ... ``axis -3``, or ``all elements``."""
    y = np.asarray(y, dtype=np.float64)
    e = np.exp(X3 - X3.max())
    for axis in (-1, -2, -3):
        if np.allclose(y, e / e.sum(axis=axis, keepdims=True), rtol=1e-5, atol=1e-7):
            return f"axis {axis}"
    if np.allclose(y, e / e.sum(), rtol=1e-5, atol=1e-7):
        return "all elements"
    return "other"


CE_LOGITS = [[0.2, 0.8]]  # read as probabilities: −log 0.8; as logits: −log_softmax(z)[1]


def ce_input(loss: Any) -> str:
    """What a cross-entropy of :data:`CE_LOGITS` against class 1 read them as: ``logits`` or ``probabilities``."""
    loss = float(np.asarray(loss, dtype=np.float64))
    as_logits = math.log1p(math.exp(0.2 - 0.8))
    if math.isclose(loss, as_logits, rel_tol=1e-5):
        return "logits"
    return "probabilities" if math.isclose(loss, -math.log(0.8), rel_tol=1e-5) else f"other ({loss:.6g})"


# Two examples with different losses: ln 2 and −ln(3/4).
CE2_LOGITS, CE2_TARGET = [[0.0, 0.0], [0.0, math.log(3.0)]], [0, 1]


def reduction(loss: Any) -> str:
    """How a cross-entropy of :data:`CE2_LOGITS` against :data:`CE2_TARGET` was reduced: mean, sum or none."""
    loss = np.asarray(loss, dtype=np.float64)
    per_example = np.array([math.log(2.0), -math.log(0.75)])
    if loss.shape == (2,):
        return "none" if np.allclose(loss, per_example, rtol=1e-5) else "other"
    if math.isclose(float(loss), per_example.mean(), rel_tol=1e-5):
        return "mean"
    return "sum" if math.isclose(float(loss), per_example.sum(), rel_tol=1e-5) else f"other ({float(loss):.6g})"


def pad_counted(corner: Any) -> bool:
    """Average of a 2×2 window over an all-ones input padded by 1: 1/4 if the 3 padded cells count, 1 if not."""
    corner = float(np.asarray(corner, dtype=np.float64))
    return bool(math.isclose(corner, 0.25, rel_tol=1e-6))


def extra_cell_side(first: Any) -> str:
    """A kernel of two ones over [1, 2, 3, 4] with "same" padding: output[0] is 3 (pad at end) or 1 (at start)."""
    first = float(np.asarray(first, dtype=np.float64))
    return "end" if first == 3.0 else "start" if first == 1.0 else f"other ({first:g})"


def variance(v: Any) -> str:
    """Variance of [1, 2, 3, 4]: 1.25 biased (÷ n), 5/3 unbiased (÷ (n − 1))."""
    v = float(np.asarray(v, dtype=np.float64))
    if math.isclose(v, 1.25, rel_tol=1e-6):
        return "biased (divides by n)"
    return "unbiased (divides by n - 1)" if math.isclose(v, 5 / 3, rel_tol=1e-6) else f"other ({v:g})"


def tie_rule(grad: Any) -> str:
    """Gradient of a 2×2 max-pool window whose four cells tie (cotangent 1), read in row-major order."""
    g = np.asarray(grad, dtype=np.float64).reshape(-1)
    if np.allclose(g, [1, 0, 0, 0]):
        return "first"
    if np.allclose(g, [0, 0, 0, 1]):
        return "last"
    if np.allclose(g, [0.25] * 4):
        return "split evenly"
    return "all" if np.allclose(g, [1] * 4) else f"other {g.tolist()}"


SUBNORMAL_X = -100.0  # σ(−100) = e^−100 / (1 + e^−100) ≈ 3.7e−44: a float32 subnormal (< 1.18e−38)


def subnormal(v: Any) -> str:
    """A positive subnormal result as computed: still there, or 0 (flushed, or lost to an overflowing exp)."""
    return "kept" if float(np.asarray(v, dtype=np.float64)) > 0 else "zero"


TINY32 = float(np.finfo(np.float32).tiny)  # 2^−126, the smallest normal float32; half of it is subnormal


XCORR_X = [[[[1.0, 2.0, 3.0]]]]  # (N, C, H, W) = (1, 1, 1, 3)
XCORR_W = [[[[1.0, 0.0]]]]  # (O, I, kH, kW) = (1, 1, 1, 2): picks the left cell, or the right one if flipped


def flip(y: Any) -> str:
    """Whether a convolution of :data:`XCORR_X` by :data:`XCORR_W` flipped the kernel (output[0] is 2) or not (1)."""
    first = float(np.asarray(y, dtype=np.float64).reshape(-1)[0])
    return "cross-correlation" if first == 1.0 else "convolution (kernel flipped)" if first == 2.0 else "other"


# Half precision. float16: 11-bit significand, largest finite 65504 = (2 − 2^−10)·2^15; a result at or
# above 65520 (halfway to 2^16) rounds to inf under round-to-nearest-even. bfloat16: 8-bit significand.
F16_MAX = 65504.0
F16_EXP_X = 11.1  # float16 11.1015625; e^11.1015625 ≈ 66 275 > 65 520: exp overflows to inf
F16_MAX_STEPS = (15.0, 16.0)  # 65504 + 15 = 65519 rounds down to 65504; 65504 + 16 = 65520 rounds up to inf


def largest_finite(y: Any) -> Value:
    """65504 + [15, 16] in float16: the largest finite result kept (65504) when the second is inf."""
    kept, over = (float(v) for v in np.asarray(y, dtype=np.float64).reshape(-1))
    if math.isfinite(kept) and over == math.inf:
        return num(kept)
    return f"other ({kept:g}, {over:g})"


# Logits ±1e4 (exact in float16): a stable softmax (x − max) gives [1, 0]; exp(1e4) overflows, so a
# naive exp(x)/Σexp gives inf/inf = NaN. 1e4 − 1 is not a float16 (the spacing at 1e4 is 8): the
# nearest logit below 1e4 is 9992, and softmax([1e4, 9992]) = [1/(1 + e^−8), e^−8/(1 + e^−8)].
F16_SOFTMAX_PLUS_MINUS = [1e4, -1e4]
F16_SOFTMAX_CLOSE = [1e4, 9992.0]


def softmax_pair(y: Any) -> str:
    """A two-element softmax to 3 significant digits (float16 carries about 3.3): ``[1, 0.000335]``, ``[nan, 0]``."""
    return "[" + ", ".join(f"{float(v):.3g}" for v in np.asarray(y, dtype=np.float64).reshape(-1)) + "]"


# A float16 layer of logits ±1e4: linear(x, weight=ones) with x = 7 × 1e4 is 7e4 > 65504 (inf in
# float16); x = [6e4, 6e4, −6e4] gives 6e4, but its partial sum 6e4 + 6e4 = 1.2e5 overflows if the
# dot product is accumulated in float16 from the left (a float32 accumulator keeps it).
F16_LINEAR_OVERFLOW_X = [[1e4] * 7]
F16_PARTIAL_SUM_X = [[6e4, 6e4, -6e4]]

# Accumulation: one large value then halves, exact in the dtype. float16: 1024 + 2046 × 0.5 = 2047
# (spacing 1 in [1024, 2048)); accumulated one by one in float16, 1024 + 0.5 = 1024.5 ties and rounds
# to the even 1024, so the sum stays 1024; a float32 accumulator gives 2047; a float16 sum in another
# order (tree, blocks) loses some halves: a value in between. bfloat16 (spacing 1 in [128, 256)):
# 128 + 254 × 0.5 = 255, one by one 128. A sum of ones cannot tell: any tree of ones is exact.
ACCUMULATION_X: dict[str, list[float]] = {
    "float16": [1024.0] + [0.5] * 2046,
    "bfloat16": [128.0] + [0.5] * 254,
}


# --- attention: each framework's own attention, called in the canonical (N, H, L, E) layout ----------
# ``attend(query, key, value, mask=None, bias=None, causal=False)`` calls a framework's attention with its
# defaults (the layout translated) on float64 inputs; each reader makes one call and reads one value.
# Two keys with equal scores and values 1 and 3: a key's weight shows which keys took part.

Attend = Callable[..., Any]
_ONE_QUERY, _TWO_KEYS, _VALUES_1_3 = [[[[1.0]]]], [[[[0.0], [0.0]]]], [[[[1.0], [3.0]]]]


def _first(y: Any) -> float:
    return float(np.asarray(y, dtype=np.float64).reshape(-1)[0])


def _masked_row(y: float) -> str:
    if math.isnan(y):
        return "NaN (0/0)"
    return {0.0: "0", 2.0: "the mean of the values (equal weights)"}.get(y, f"{y:g}")


def attention_mask_read(attend: Attend) -> Value:
    """mask [True, False]: the output is the first value (1) if True means "takes part", the second (3) if not."""
    y = _first(attend(_ONE_QUERY, _TWO_KEYS, _VALUES_1_3, mask=[[True, False]]))
    return {1.0: "True = takes part", 3.0: "True = masked out"}.get(y, f"{y:g}")


def attention_scale_read(attend: Attend) -> Value:
    """E = 4, scores q·k = 4 and 0, values (1, 0, 0, 0) and 0: the output σ(4s) gives the scale s (1/√E = 0.5)."""
    y = _first(attend([[[[1.0] * 4]]], [[[[1.0] * 4, [0.0] * 4]]], [[[[1.0, 0.0, 0.0, 0.0], [0.0] * 4]]]))
    s = math.log(y / (1.0 - y)) / 4.0
    # A float32 softmax (JAX's) reads 0.5 within 1e−7: the other candidates, 1 and 1/E = 0.25, are far.
    return "1/√E" if math.isclose(s, 0.5, rel_tol=1e-4) else f"{s:.6g} at E = 4"


def attention_masked_row_read(attend: Attend) -> Value:
    """A query whose boolean mask row is all False: NaN (0/0), 0, or the mean of the values."""
    return _masked_row(_first(attend(_ONE_QUERY, _TWO_KEYS, _VALUES_1_3, mask=[[False, False]])))


def attention_masked_bias_row_read(attend: Attend) -> Value:
    """A query whose additive bias row is all −∞: NaN (0/0), 0, or the mean of the values."""
    return _masked_row(_first(attend(_ONE_QUERY, _TWO_KEYS, _VALUES_1_3, bias=[[-math.inf, -math.inf]])))


def attention_alignment_read(attend: Attend) -> Value:
    """L = 2 queries, S = 3 keys of equal scores, values 1, 3, 100, causal: query 0 sees key 0 only (top left,
    output 1) or keys 0 and 1 (bottom right, j ≤ i + S − L: output 2)."""
    y = _first(attend([[[[1.0], [1.0]]]], [[[[0.0], [0.0], [0.0]]]], [[[[1.0], [3.0], [100.0]]]], causal=True))
    return {1.0: "top-left (j ≤ i)", 2.0: "bottom-right (j ≤ i + S − L)"}.get(y, f"{y:g}")


def attention_precision_read(attend: Attend) -> Value:
    """Three equal keys, values 1, in float64: 3·fl(1/3) is 1 exactly in float64, 1 + 2⁻²⁵ if the weights were
    rounded to float32."""
    y = _first(attend(_ONE_QUERY, [[[[0.0], [0.0], [0.0]]]], [[[[1.0], [1.0], [1.0]]]]))
    if y == 1.0:
        return "float64"
    return "float32" if y == 1.0 + 2.0**-25 else f"{y!r}"


# --- SGD's momentum, RMSprop and a dense layer's initial values: APIs the reference has no op for -------

SGD_MOMENTUM = 0.5  # two steps of gradient 1 from θ = 0, the second at half the first's learning rate
SGD_LRS = (1.0, 0.5)
RMS_PROBE_LR = 0.1
RMS_PROBE_GRAD = 1e-6  # g² = 1e−12 ≪ ε = 1e−6: √v + ε and √(v + ε) differ by a factor of about 585
RMS_PROBE_EPS = 1e-6
RMS_PROBE_DECAY = 0.5  # v = (1 − 0.5)·g² after one step from v = 0
DENSE_FAN_IN, DENSE_FAN_OUT = 100, 2000  # bounds 1/√100 = 0.1 and √(6/2100) = 0.053 (Glorot) apart


def sgd_momentum_read(param: object) -> Value:
    """Where SGD with momentum puts the learning rate, from θ after the two steps of the probe."""
    p = _first(param)
    (lr1, lr2), mu = SGD_LRS, SGD_MOMENTUM
    if math.isclose(p, -(lr1 + lr2 * (mu + 1.0)), rel_tol=1e-6):  # v = μv + g, θ −= lr·v: −1.75
        return "lr outside the velocity (v = μv + g, θ −= lr·v)"
    if math.isclose(p, -(lr1 + mu * lr1 + lr2), rel_tol=1e-6):  # v = μv − lr·g, θ += v: −2
        return "lr inside the velocity (v = μv − lr·g, θ += v)"
    return f"other (θ = {p:.6g} after two steps)"


def rmsprop_eps_read(delta: object) -> Value:
    """Where RMSprop adds ε, from the first step ``delta`` of the probe (g = ε = 1e−6, decay 0.5, lr 0.1)."""
    step = abs(_first(delta)) / RMS_PROBE_LR
    v = (1.0 - RMS_PROBE_DECAY) * RMS_PROBE_GRAD**2
    if math.isclose(step, RMS_PROBE_GRAD / (math.sqrt(v) + RMS_PROBE_EPS), rel_tol=1e-3):
        return "sqrt(v) + eps"
    if math.isclose(step, RMS_PROBE_GRAD / math.sqrt(v + RMS_PROBE_EPS), rel_tol=1e-3):
        return "sqrt(v + eps)"
    return f"other (first step {step:.6g}·lr)"


def dense_init_read(values: object) -> Value:
    """The distribution of a fresh dense layer's weights or bias (fan-in 100, fan-out 2000), by its largest |value|.

    Of 2000 or more draws from U(−b, b), the largest |value| is below 0.99·b with probability at most
    0.99²⁰⁰⁰ ≈ 2·10⁻⁹, so a uniform initialiser is told by its bound.
    """
    v = np.abs(np.asarray(values, dtype=np.float64)).reshape(-1)
    top = float(v.max(initial=0.0))
    if top == 0.0:
        return "zeros"
    bounds = {
        "uniform(±1/√fan_in)": 1.0 / math.sqrt(DENSE_FAN_IN),
        "uniform(±√(6/(fan_in + fan_out))) (Glorot)": math.sqrt(6.0 / (DENSE_FAN_IN + DENSE_FAN_OUT)),
    }
    for name, bound in bounds.items():
        if 0.99 * bound <= top <= bound * (1.0 + 1e-6):
            return name
    return f"other (max |value| {top:.3g}, std {float(np.std(v)):.3g})"


# --- gated recurrent cells: one unit (two for the reset probe), zero weights and input, biases set ----------

# A gate's bias that saturates it: σ(±40) is within 4.3·10⁻¹⁸ of 1 or 0.
GATE_SATURATION = 40.0
# The GRU reset probe (two units, z shut): r = (1, 0) from the input biases, W_hn swaps the units, h = (1, 0).
# After the matmul, r ⊙ (W_hn·h) = (1·0, 0·1) = 0: n = (0, 0); before it, W_hn·(r ⊙ h) = W_hn·(1, 0) = (0, 1):
# n = (0, tanh 1). Either way h′ = n.
GRU_RESET_R_BIAS = (GATE_SATURATION, -GATE_SATURATION)
GRU_RESET_W_HN = ((0.0, 1.0), (1.0, 0.0))
GRU_RESET_H = (1.0, 0.0)
LstmCell = Callable[[list[float]], tuple[float, float]]  # the four blocks' input biases -> (h′, c′) from h = 0, c = 1
GruCell = Callable[[list[float]], float]  # the three blocks' input biases -> h′ from h = 1/2


def lstm_gate_order_read(cell: LstmCell) -> Value:
    """The gate of each bias block, in the framework's order, named as PyTorch's (i, f, g, o).

    Block k at +40 and the others at −40 (from c = 1): c′ = 1 where it is the forget gate (c kept), −1 where
    it is the input gate (writing g = tanh(−40)), 0 otherwise; with the others at 0 instead, c′ = ½ + ½·1 = 1
    where it is the candidate g, ½ where it is the output gate o.
    """
    s, names = GATE_SATURATION, []
    for k in range(4):
        _, c_shut = cell([s if j == k else -s for j in range(4)])
        _, c_half = cell([s if j == k else 0.0 for j in range(4)])
        names.append("f" if c_shut > 0.5 else "i" if c_shut < -0.5 else "g" if c_half > 0.75 else "o")
    return ", ".join(names)


def gru_gate_order_read(cell: GruCell) -> Value:
    """The gate of each bias block, in the framework's order, named as PyTorch's (r, z, n).

    Block k at +40 and the others at −40 (from h = ½): h′ = ½ where it is the update gate z (h kept), −1 where
    it is the reset gate r (z = 0, n = tanh(−40)), 1 where it is the candidate n (n = tanh(40)).
    """
    s, names = GATE_SATURATION, []
    for k in range(3):
        h1 = cell([s if j == k else -s for j in range(3)])
        names.append("n" if h1 > 0.75 else "r" if h1 < -0.75 else "z")
    return ", ".join(names)


def gru_reset_read(h1: object) -> Value:
    """Where the reset gate acts, from the second unit of the reset probe's h′: 0 after the matmul, tanh 1 before."""
    v = float(np.asarray(h1, dtype=np.float64).reshape(-1)[1])
    if abs(v) < 1e-6:
        return "after the matmul: r ⊙ (W_hn·h + b_hn)"
    if math.isclose(v, math.tanh(1.0), rel_tol=1e-6):
        return "before the matmul: W_hn·(r ⊙ h) + b_hn"
    return f"other (h′ = {v:.6g})"


def forget_bias_init_read(forget: object, others: object, hidden: int) -> Value:
    """A fresh LSTM's forget-gate bias (``forget``, one bias vector's forget block) against its other blocks."""
    f, o = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (forget, others))
    if np.all(f == 1.0) and np.all(o == 0.0):
        return "1 (the other gates' 0)"
    if np.all(f == 0.0) and np.all(o == 0.0):
        return "0"
    if max(np.max(np.abs(f)), np.max(np.abs(o))) <= 1.0 / math.sqrt(hidden) and len(set(f.tolist())) > 1:
        return "uniform(±1/√H), as every other bias"
    return f"other (forget block {f.tolist()})"
