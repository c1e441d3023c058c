"""NumPy as a backend: forward ops only (NumPy has no autodiff, so no ``vjp``).

Each op is the direct NumPy expression of the definition, written the way a
careful NumPy user would (stable forms included), so the suite checks NumPy's
elementwise kernels and reductions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlterms.ops import as_pair

name = "numpy"
version = np.__version__
dtypes = ("float16", "float32", "float64")


def asarray(data: Any, dtype: str = "float64") -> np.ndarray:
    return np.asarray(data, dtype=np.dtype(dtype))


def to_numpy(x: Any) -> np.ndarray:
    return np.asarray(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # never overflows; then the two-branch form
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def silu(x: np.ndarray) -> np.ndarray:
    return (x * sigmoid(x)).astype(x.dtype)


# No gelu: x·Φ(x) needs erf or erfc, which NumPy lacks (scipy is not a dependency).


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0))).astype(x.dtype)


def softplus(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    b = x.dtype.type(beta)
    return (np.logaddexp(x.dtype.type(0), b * x) / b).astype(x.dtype)


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(x.dtype.type(0), -x)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.zeros_like(x))


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    y = x @ weight.T  # weight is (out_features, in_features): one row of weights per output
    return y if bias is None else y + bias


# --- normalization: (x − mean)/√(var + eps) with np.mean and np.var (two-pass, biased), in the dtype ---------


def _standardize(x: np.ndarray, axes: tuple[int, ...], eps: float, centred: bool = True) -> np.ndarray:
    if centred:
        return (x - np.mean(x, axis=axes, keepdims=True)) / np.sqrt(np.var(x, axis=axes, keepdims=True) + eps)
    return x / np.sqrt(np.mean(np.square(x), axis=axes, keepdims=True) + eps)


def _affine(y: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
    y = y if weight is None else y * weight
    return (y if bias is None else y + bias).astype(dtype)


def _trailing_axes(x: np.ndarray, normalized_shape: Any) -> tuple[int, ...]:
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    return tuple(range(x.ndim - k, x.ndim))


def layer_norm(
    x: np.ndarray,
    normalized_shape: Any,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    eps: float = 1e-5,
) -> np.ndarray:
    return _affine(_standardize(x, _trailing_axes(x, normalized_shape), eps), weight, bias, x.dtype)


def rms_norm(
    x: np.ndarray, normalized_shape: Any, weight: np.ndarray | None = None, eps: float | None = None
) -> np.ndarray:
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps  # None: the dtype's machine epsilon, as canonical
    return _affine(_standardize(x, _trailing_axes(x, normalized_shape), eps, centred=False), weight, None, x.dtype)


def group_norm(
    x: np.ndarray,
    num_groups: int,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    eps: float = 1e-5,
) -> np.ndarray:
    groups = x.reshape(x.shape[0], num_groups, -1)  # (N, G, C/G · positions): channels of a group are adjacent
    y = _standardize(groups, (2,), eps).reshape(x.shape)
    per_channel = (-1,) + (1,) * (x.ndim - 2)  # (C, 1, ...): broadcast over the positions
    return _affine(
        y,
        None if weight is None else weight.reshape(per_channel),
        None if bias is None else bias.reshape(per_channel),
        x.dtype,
    )


def batch_norm(
    x: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    training: bool = False,
    eps: float = 1e-5,
) -> np.ndarray:
    axes, per = (0, *range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)  # a channel: the batch and positions
    if training:
        y = _standardize(x, axes, eps)
    else:
        y = (x - running_mean.reshape(per)) / np.sqrt(running_var.reshape(per) + np.asarray(eps, x.dtype))
    return _affine(
        y,
        None if weight is None else weight.reshape(per),
        None if bias is None else bias.reshape(per),
        x.dtype,
    )


def batch_norm_running_stats(
    x: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray, momentum: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    axes = (0, *range(2, x.ndim))
    mean, var = np.mean(x, axis=axes), np.var(x, axis=axes, ddof=1)  # the unbiased variance, as canonical
    m = np.asarray(momentum, x.dtype)
    return (((1 - m) * running_mean + m * mean).astype(x.dtype), ((1 - m) * running_var + m * var).astype(x.dtype))


def _reduce(values: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return values
    if reduction == "sum":
        return np.sum(values)
    if reduction == "mean":
        return np.mean(values)
    raise ValueError(f"numpy backend: reduction={reduction!r}; expected 'none', 'mean' or 'sum'")


def mse_loss(input: np.ndarray, target: np.ndarray, reduction: str = "mean") -> np.ndarray:
    return _reduce((input - target) ** 2, reduction)


def binary_cross_entropy(input: np.ndarray, target: np.ndarray, reduction: str = "mean") -> np.ndarray:
    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped at -100 as the definition says
        log_p = np.maximum(np.log(input), -100)
        log_q = np.maximum(np.log1p(-input), -100)
    return _reduce(-(target * log_p + (1 - target) * log_q), reduction)


def cross_entropy(logits: np.ndarray, target: np.ndarray, reduction: str = "mean") -> np.ndarray:
    shifted = logits - np.max(logits, axis=1, keepdims=True)  # log-sum-exp around the row's max
    lse = np.log(np.sum(np.exp(shifted), axis=1))
    return _reduce(lse - shifted[np.arange(len(target)), target], reduction)


# --- robust regression losses and the KL divergence: NumPy has none; written from np.where, np.log ----------


def huber_loss(input: np.ndarray, target: np.ndarray, delta: float = 1.0, reduction: str = "mean") -> np.ndarray:
    z, d = np.abs(input - target), input.dtype.type(delta)
    return _reduce(np.where(z < d, 0.5 * z * z, d * (z - 0.5 * d)).astype(input.dtype), reduction)


def smooth_l1_loss(input: np.ndarray, target: np.ndarray, beta: float = 1.0, reduction: str = "mean") -> np.ndarray:
    z, b = np.abs(input - target), input.dtype.type(beta)
    with np.errstate(divide="ignore", invalid="ignore"):  # beta = 0: the quadratic side is never taken
        return _reduce(np.where(z < b, 0.5 * z * z / b, z - 0.5 * b).astype(input.dtype), reduction)


def kl_div(input: np.ndarray, target: np.ndarray, reduction: str = "mean", log_target: bool = False) -> np.ndarray:
    p = np.exp(target) if log_target else target
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 where p = 0 (not used); log of p < 0 is NaN
        log_p = target if log_target else np.log(target)
        terms = np.where(p > 0, p * (log_p - input), np.where(p == 0, 0.0, np.nan)).astype(input.dtype)
    if reduction == "batchmean":
        return (np.sum(terms) / (terms.shape[0] if terms.ndim else 1)).astype(input.dtype)
    return _reduce(terms, reduction)


# --- classification losses beyond the seed: NumPy has none; written from np.log1p, np.exp, indexing ----


def nll_loss(
    input: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None, reduction: str = "mean"
) -> np.ndarray:
    input = input.reshape(0, 1) if input.size == 0 else input  # an empty batch arrives as shape (0,)
    picked = input[np.arange(len(target)), target]
    w = np.ones_like(picked) if weight is None else weight[target]
    if reduction == "mean" and weight is not None:
        return (np.sum(-w * picked) / np.sum(w)).astype(input.dtype)
    return _reduce(-w * picked, reduction)


def binary_cross_entropy_with_logits(
    input: np.ndarray, target: np.ndarray, pos_weight: np.ndarray | None = None, reduction: str = "mean"
) -> np.ndarray:
    p = 1 if pos_weight is None else pos_weight
    softplus = np.logaddexp(0, -input)  # log(1 + e^−x), without overflow
    with np.errstate(invalid="ignore"):  # 0·∞ where y = 0 and x = −∞: the term is 0
        positive = np.where(target == 0, 0, p * target * softplus)
        negative = np.where(target == 1, 0, (1 - target) * np.logaddexp(0, input))
    return _reduce((positive + negative).astype(input.dtype), reduction)


def smoothed_cross_entropy(
    logits: np.ndarray, target: np.ndarray, label_smoothing: float, reduction: str = "mean"
) -> np.ndarray:
    logits = logits.reshape(0, 1) if logits.size == 0 else logits
    shifted = logits - np.max(logits, axis=1, keepdims=True) if logits.size else logits
    nll = np.log(np.sum(np.exp(shifted), axis=1, keepdims=True)) - shifted
    c = logits.shape[1]
    q = np.full_like(logits, label_smoothing / c)
    q[np.arange(len(target)), target] += 1 - label_smoothing
    with np.errstate(invalid="ignore"):  # 0·∞ where a masked class gets no weight (ε = 0)
        terms = np.sum(np.where(q == 0, 0, q * nll), axis=1)
    return _reduce(terms.astype(logits.dtype), reduction)


def sgd_step(param: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    return param - lr * grad


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return adamw_step(param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay=0.0)


def adamw_step(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # NumPy has no optimiser: the paper's formulas (Python floats keep the arrays' dtype).
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * (grad * grad)
    c1, c2 = 1.0 - beta1**step, 1.0 - beta2**step
    update = (m / c1) / (np.sqrt(v / c2) + eps)
    return param * (1.0 - lr * weight_decay) - lr * update, m, v


def rnn(
    x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    h, outputs = h0, []
    for t in range(x.shape[1]):  # x is batch first: (N, T, in)
        h = np.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        outputs.append(h)
    return np.stack(outputs, axis=1), h


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: Any, padding: Any, dilation: Any, fill: float) -> Any:
    """Every (strided, dilated) window of the padded x: shape (N, C, H_out, W_out, kH, kW), a view."""
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    span = ((kernel[0] - 1) * dh + 1, (kernel[1] - 1) * dw + 1)
    return np.lib.stride_tricks.sliding_window_view(padded, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> np.ndarray:
    n = x.shape[0]
    o, c_g, kh, kw = weight.shape
    win = _windows(x, (kh, kw), stride, padding, dilation, 0)
    win = win.reshape(n, groups, c_g, *win.shape[2:])  # split the channels into groups
    w = weight.reshape(groups, o // groups, c_g, kh, kw)
    y = np.einsum("ngchwij,gocij->ngohw", win, w).reshape(n, o, *win.shape[3:5])  # cross-correlation
    return y if bias is None else y + bias[:, None, None]


def max_pool2d(x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0) -> np.ndarray:
    k = as_pair(kernel_size)
    return _windows(x, k, k if stride is None else stride, padding, 1, -np.inf).max(axis=(-2, -1))


def avg_pool2d(
    x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True
) -> np.ndarray:
    k = as_pair(kernel_size)
    s = k if stride is None else stride
    total = _windows(x, k, s, padding, 1, 0).sum(axis=(-2, -1))
    if count_include_pad:
        return total / x.dtype.type(k[0] * k[1])
    inside = _windows(np.ones_like(x), k, s, padding, 1, 0).sum(axis=(-2, -1))  # elements of x per window
    return total / inside


# --- dropout and embedding (forward only) ---------------------------------------------------------


def dropout(x: np.ndarray, mask: np.ndarray, p: float = 0.5, training: bool = True) -> np.ndarray:
    if not training:
        return x
    return (x * mask / x.dtype.type(1.0 - p)).astype(x.dtype)  # x·m/(1 − p): a dropped NaN stays NaN


def embedding(weight: np.ndarray, indices: np.ndarray, padding_idx: int | None = None) -> np.ndarray:
    return weight[indices]  # padding_idx changes only the gradient, which NumPy does not have


# --- attention -----------------------------------------------------------------------------------


def scaled_dot_product_attention(
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    mask: Any = None,
    bias: np.ndarray | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> np.ndarray:
    # NumPy has no attention: softmax(scale·q·kᵀ + bias) over the keys, hidden keys −∞, times v (forward).
    s = (1.0 / np.sqrt(query.shape[-1]) if scale is None else scale) * (query @ np.swapaxes(key, -1, -2))
    s = s.astype(query.dtype) + (0 if bias is None else bias)
    keep = np.ones(s.shape[-2:], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if causal:
        keep = keep & np.tril(np.ones(s.shape[-2:], dtype=bool))
    s = np.where(keep, s, -np.inf)
    with np.errstate(invalid="ignore"):  # a query that sees no key: 0/0, NaN
        return softmax(s, axis=-1) @ value
