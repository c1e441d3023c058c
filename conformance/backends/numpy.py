"""NumPy as a backend: forward ops only (NumPy has no autodiff, so no ``vjp``).

Each op is the direct NumPy expression of the definition, written the way a
careful NumPy user would (stable forms included), so the suite checks NumPy's
elementwise kernels and reductions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlterms.ops import as_pair

from ..checks import UnsupportedCase

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


def sgd_momentum_step(
    param: np.ndarray,
    grad: np.ndarray,
    momentum_buffer: np.ndarray,
    lr: float,
    momentum: float,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    first_step: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    # NumPy has no optimiser: PyTorch's algorithm (Python floats keep the arrays' dtype).
    g = grad + weight_decay * param if weight_decay else grad
    if momentum == 0.0:
        return param - lr * g, momentum_buffer
    b = g if first_step else momentum * momentum_buffer + (1.0 - dampening) * g
    return param - lr * (g + momentum * b if nesterov else b), b


def _rate_scaled(
    param: np.ndarray, grad: np.ndarray, v: np.ndarray, lr: float, eps: float, eps_in_sqrt: bool
) -> np.ndarray:
    # θ − lr·g/(√v + ε), or /√(v + ε); 0/0 is NaN, as IEEE gives it.
    with np.errstate(divide="ignore", invalid="ignore"):
        return param - lr * (grad / (np.sqrt(v + eps) if eps_in_sqrt else np.sqrt(v) + eps))


def rmsprop_step(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    eps_in_sqrt: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    # NumPy has no optimiser: Tieleman and Hinton's formulas (Python floats keep the arrays' dtype).
    v = alpha * square_avg + (1.0 - alpha) * (grad * grad)
    return _rate_scaled(param, grad, v, lr, eps, eps_in_sqrt), v


def adagrad_step(
    param: np.ndarray,
    grad: np.ndarray,
    state_sum: np.ndarray,
    step: int,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    eps_in_sqrt: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    # Duchi et al.'s sum of squares, with PyTorch's decayed rate lr/(1 + (t − 1)·lr_decay).
    s = state_sum + grad * grad
    return _rate_scaled(param, grad, s, lr / (1.0 + (step - 1) * lr_decay), eps, eps_in_sqrt), s


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


def conv_transpose2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> np.ndarray:
    # Scatter: input (h, w) times tap (i, j) lands at (h·s + i·d, w·s + j·d) of the uncropped output, which
    # output_padding extends at the end; padding then crops p from each side.
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = (as_pair(v) for v in (stride, padding, output_padding, dilation))
    n, c, h, w = x.shape
    _, o_g, kh, kw = weight.shape
    x_g = x.reshape(n, groups, c // groups, h, w)
    w_g = weight.reshape(groups, c // groups, o_g, kh, kw)
    taps = np.einsum("ngchw,gcoij->ngohwij", x_g, w_g).reshape(n, groups * o_g, h, w, kh, kw)
    size = ((h - 1) * sh + dh * (kh - 1) + 1 + oph, (w - 1) * sw + dw * (kw - 1) + 1 + opw)
    full = np.zeros((n, groups * o_g, *size), x.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i * dh, i * dh + (h - 1) * sh + 1, sh), slice(j * dw, j * dw + (w - 1) * sw + 1, sw)
            full[:, :, rows, cols] += taps[..., i, j]
    y = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw]
    return y if bias is None else y + bias[:, None, None]


def adaptive_avg_pool2d(x: np.ndarray, output_size: Any) -> np.ndarray:
    # PyTorch's bins: output i averages positions ⌊i·H/n⌋ to ⌈(i + 1)·H/n⌉ − 1.
    (oh, ow), (h, w) = as_pair(output_size), x.shape[2:]
    rows = [(i * h // oh, -(-(i + 1) * h // oh)) for i in range(oh)]
    cols = [(j * w // ow, -(-(j + 1) * w // ow)) for j in range(ow)]
    return np.stack(
        [np.stack([x[:, :, r0:r1, c0:c1].mean(axis=(2, 3)) for c0, c1 in cols], axis=-1) for r0, r1 in rows], axis=-2
    )


def _resize_weights(size_in: int, size_out: int, mode: str, align_corners: bool | None) -> np.ndarray:
    # The (size_out, size_in) matrix of PyTorch's coordinate maps: one 1 per row for nearest, 1 − λ and λ for bilinear.
    d = np.arange(size_out, dtype=np.float64)
    a = np.zeros((size_out, size_in))
    if mode != "bilinear":
        shift = 0.5 if mode == "nearest-exact" else 0.0
        a[np.arange(size_out), np.minimum(np.floor((d + shift) * size_in / size_out), size_in - 1).astype(int)] = 1.0
        return a
    if align_corners:
        s = d * ((size_in - 1) / (size_out - 1) if size_out > 1 else 0.0)
    else:
        s = np.maximum((d + 0.5) * size_in / size_out - 0.5, 0.0)
    i0 = np.minimum(np.floor(s).astype(int), size_in - 1)
    lam = s - i0
    np.add.at(a, (np.arange(size_out), i0), 1.0 - lam)
    np.add.at(a, (np.arange(size_out), np.minimum(i0 + 1, size_in - 1)), lam)
    return a


def interpolate(x: np.ndarray, size: Any, mode: str = "nearest", align_corners: bool | None = None) -> np.ndarray:
    # NumPy has no resize: PyTorch's coordinate maps as one weight matrix per axis (zero weights multiply too).
    (oh, ow), (h, w) = as_pair(size), x.shape[2:]
    rows, cols = (_resize_weights(n, o, mode, align_corners).astype(x.dtype) for n, o in ((h, oh), (w, ow)))
    if mode != "bilinear":
        # Nearest reads one input per output (the row's single 1): a gather, so a NaN reaches only its readers.
        return x[:, :, rows.argmax(axis=1)][:, :, :, cols.argmax(axis=1)]
    return np.einsum("ih,nchw,jw->ncij", rows, x, cols)


# --- gated recurrent cells (forward only): PyTorch's formulas ------------------------------------------


def lstm_cell(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=-1)
    c1 = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c1), c1


def gru_cell(
    x: np.ndarray, h: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray
) -> np.ndarray:
    x_r, x_z, x_n = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    h_r, h_z, h_n = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def _steps(x: np.ndarray, reverse: bool) -> range:
    """The time steps of a batch-first ``x`` in the order a layer reads them."""
    return range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])


def lstm(
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    reverse: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, c, outputs = h0, c0, [h0] * x.shape[1]
    for t in _steps(x, reverse):  # each output at the position of the input it read
        h, c = lstm_cell(x[:, t], h, c, w_ih, w_hh, b_ih, b_hh)
        outputs[t] = h
    return np.stack(outputs, axis=1), h, c


def gru(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    reverse: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    h, outputs = h0, [h0] * x.shape[1]
    for t in _steps(x, reverse):
        h = gru_cell(x[:, t], h, w_ih, w_hh, b_ih, b_hh)
        outputs[t] = h
    return np.stack(outputs, axis=1), h


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


def multi_head_attention(
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    num_heads: int,
    q_proj_weight: np.ndarray,
    k_proj_weight: np.ndarray,
    v_proj_weight: np.ndarray,
    out_proj_weight: np.ndarray,
    in_proj_bias: np.ndarray | None = None,
    out_proj_bias: np.ndarray | None = None,
    mask: Any = None,
    causal: bool = False,
) -> np.ndarray:
    # NumPy has no attention: the three projections, heads as blocks of E/H features (N, L, H, d) → (N, H, L, d),
    # the attention above (scale 1/√d), the heads joined back and projected (forward).
    n, e = query.shape[0], query.shape[-1]
    bias = np.zeros(3 * e, dtype=query.dtype) if in_proj_bias is None else in_proj_bias
    q, k, v = (
        (x @ w.T + bias[i * e : (i + 1) * e]).reshape(n, x.shape[1], num_heads, e // num_heads).transpose(0, 2, 1, 3)
        for i, (x, w) in enumerate(((query, q_proj_weight), (key, k_proj_weight), (value, v_proj_weight)))
    )
    z = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal).transpose(0, 2, 1, 3).reshape(n, -1, e)
    return z @ out_proj_weight.T + (0 if out_proj_bias is None else out_proj_bias)


def transformer_encoder_block(
    x: np.ndarray,
    num_heads: int,
    in_proj_weight: np.ndarray,
    in_proj_bias: np.ndarray,
    out_proj_weight: np.ndarray,
    out_proj_bias: np.ndarray,
    linear1_weight: np.ndarray,
    linear1_bias: np.ndarray,
    linear2_weight: np.ndarray,
    linear2_bias: np.ndarray,
    norm1_weight: np.ndarray,
    norm1_bias: np.ndarray,
    norm2_weight: np.ndarray,
    norm2_bias: np.ndarray,
    norm_first: bool = False,
    activation: str = "relu",
    eps: float = 1e-5,
    causal: bool = False,
) -> np.ndarray:
    # NumPy has no Transformer block: composed from the multi-head attention, layer_norm, linear and relu above
    # (forward). NumPy has no erf, so no GELU: a GELU case is set aside.
    if activation != "relu":
        raise UnsupportedCase(f"transformer_encoder_block: activation={activation!r}; NumPy has no erf for GELU")
    e = x.shape[-1]
    wq, wk, wv = (in_proj_weight[i * e : (i + 1) * e] for i in range(3))

    def attention(u: np.ndarray) -> np.ndarray:
        return multi_head_attention(
            u, u, u, num_heads, wq, wk, wv, out_proj_weight, in_proj_bias, out_proj_bias, causal=causal
        )

    def ffn(u: np.ndarray) -> np.ndarray:
        return linear(relu(linear(u, linear1_weight, linear1_bias)), linear2_weight, linear2_bias)

    def norm(u: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return layer_norm(u, e, weight, bias, eps)

    if norm_first:
        h = x + attention(norm(x, norm1_weight, norm1_bias))
        return h + ffn(norm(h, norm2_weight, norm2_bias))
    h = norm(x + attention(x), norm1_weight, norm1_bias)
    return norm(h + ffn(h), norm2_weight, norm2_bias)


# --- positions and perplexity: NumPy has none; composed from np.exp, sin, cos and the cross_entropy above -----


def _frequencies(d: int, base: float, like: np.ndarray) -> np.ndarray:
    # ω_i = base^(−2i/d) as exp(2i·(−log base/d)), in the array's dtype.
    return np.exp(np.arange(0, d, 2, dtype=like.dtype) * like.dtype.type(-np.log(base) / d))


def sinusoidal_positional_encoding(positions: np.ndarray, d_model: int, base: float = 10000.0) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # sin(±∞) is NaN
        angles = positions[:, None] * _frequencies(d_model, base, positions)
        return np.stack((np.sin(angles), np.cos(angles)), axis=-1).reshape(positions.shape[0], d_model)


def rotary_embedding(
    x: np.ndarray, positions: np.ndarray, base: float = 10000.0, interleaved: bool = True
) -> np.ndarray:
    d = x.shape[-1]
    with np.errstate(invalid="ignore"):  # sin(±∞) is NaN
        angles = positions[:, None] * _frequencies(d, base, x)
        cos, sin = np.cos(angles), np.sin(angles)
        if interleaved:  # pairs (2i, 2i + 1)
            a, b = x[..., 0::2], x[..., 1::2]
            return np.stack((a * cos - b * sin, a * sin + b * cos), axis=-1).reshape(x.shape)
        a, b = x[..., : d // 2], x[..., d // 2 :]  # pairs (i, i + d/2): rotate_half
        return np.concatenate((a * cos - b * sin, a * sin + b * cos), axis=-1)


def perplexity(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.exp(cross_entropy(logits, target))  # e^(mean loss in nats)


# --- weight initialisation ---------------------------------------------------------------------------
# NumPy has no initialiser (and no random_init here): the canonical maps in NumPy's arithmetic, the
# fans of (out, in, *kernel) and the gain as torch.nn.init.calculate_gain (dlterms.reference's).


def _init_std(kind: str, shape: tuple[int, ...], gain: float = 1.0, **kaiming: Any) -> float:
    from dlterms.reference import calculate_gain

    receptive = int(np.prod(shape[2:]))
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    if kind == "xavier":
        return gain * float(np.sqrt(2.0 / (fan_in + fan_out)))
    g = calculate_gain(kaiming.get("nonlinearity", "leaky_relu"), kaiming.get("a", 0.0))
    return g / float(np.sqrt(fan_in if kaiming.get("mode", "fan_in") == "fan_in" else fan_out))


def _uniform_map(u: np.ndarray, bound: float) -> np.ndarray:
    # numpy.random.uniform's low + (high − low)·u, in u's dtype
    return (u * u.dtype.type(2.0 * bound) - u.dtype.type(bound)).astype(u.dtype)


def xavier_uniform(u: np.ndarray, gain: float = 1.0) -> np.ndarray:
    return _uniform_map(u, float(np.sqrt(3.0)) * _init_std("xavier", u.shape, gain))


def xavier_normal(z: np.ndarray, gain: float = 1.0) -> np.ndarray:
    return (z * z.dtype.type(_init_std("xavier", z.shape, gain))).astype(z.dtype)


def kaiming_uniform(
    u: np.ndarray, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> np.ndarray:
    std = _init_std("kaiming", u.shape, a=a, mode=mode, nonlinearity=nonlinearity)
    return _uniform_map(u, float(np.sqrt(3.0)) * std)


def kaiming_normal(z: np.ndarray, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> np.ndarray:
    std = _init_std("kaiming", z.shape, a=a, mode=mode, nonlinearity=nonlinearity)
    return (z * z.dtype.type(std)).astype(z.dtype)


# --- learning-rate schedules and gradient clipping: the closed forms in the dtype of lr (grads) ----------


def step_lr(lr: np.ndarray, step: np.ndarray, step_size: int, gamma: float = 0.1) -> np.ndarray:
    t = lr.dtype.type
    return (lr * np.power(t(gamma), step // step_size).astype(lr.dtype)).astype(lr.dtype)


def cosine_annealing_lr(lr: np.ndarray, step: np.ndarray, t_max: int, eta_min: float = 0.0) -> np.ndarray:
    t = lr.dtype.type
    x = np.minimum(step, t_max).astype(lr.dtype) / t(t_max)
    return (t(eta_min) + (lr - t(eta_min)) * (t(1.0) + np.cos(t(np.pi) * x)) / t(2.0)).astype(lr.dtype)


def linear_warmup_lr(lr: np.ndarray, step: np.ndarray, warmup_steps: int, start_factor: float = 0.0) -> np.ndarray:
    t = lr.dtype.type
    x = np.minimum(step, warmup_steps).astype(lr.dtype) / t(warmup_steps)
    return (lr * (t(start_factor) + (t(1.0) - t(start_factor)) * x)).astype(lr.dtype)


def clip_grad_norm(grads: np.ndarray, max_norm: float) -> np.ndarray:
    # NumPy has no clipping op, and np.linalg.norm sums unscaled squares (∞ above √max): the norm is scaled by
    # the largest magnitude m, N = m·‖g/m‖₂, whose squares lie in [0, 1].
    m = np.max(np.abs(grads))
    total = m * np.linalg.norm((grads / m).ravel()) if 0 < m < np.inf else np.linalg.norm(grads.ravel())
    t = grads.dtype.type
    clipped = total > max_norm or np.isnan(total)
    return (grads * (t(max_norm) / total) if clipped else grads).astype(grads.dtype)
