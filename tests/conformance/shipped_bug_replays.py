"""The replays of the shipped bugs in shipped_bugs.py: torch ops broken only where a real bug showed.

Each function has the canonical signature of its op and returns what the built-in torch
adapter returns, except on the inputs where the real bug showed, where it returns what the
framework returned (its docstring says which formula or value; "Modeled" where the report
gives no values). Bugs of the backward pass are custom autograd Functions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from dlterms.conformance.backends import torch as correct

from dlterms.ops import as_pair


def _exp_limit(t: torch.Tensor) -> float:
    """The largest x whose e^x is finite in t's dtype (88.72 in float32, 709.78 in float64)."""
    return math.log(torch.finfo(t.dtype).max)


class _ForwardBug(torch.autograd.Function):
    """Returns the bug's value; the gradient is the correct op's (for bugs of the forward pass)."""

    @staticmethod
    def forward(ctx: Any, value: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return value.detach().clone()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, g


def _forward_bug(right: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    return _ForwardBug.apply(value.to(right.dtype), right)


def _sequential_sum(t: torch.Tensor) -> torch.Tensor:
    """Σ t in t's own precision, one element after the other (NumPy's accumulate is not pairwise)."""
    a = t.detach().reshape(-1).cpu().numpy()
    return torch.tensor(np.add.accumulate(a, dtype=a.dtype)[-1] if a.size else 0.0, dtype=t.dtype)


# --- elementwise: what an overflowing exponential returns ---------------------------------------


def relu_where_positive(x: torch.Tensor) -> torch.Tensor:
    """``x > 0 ? x : 0``: a NaN fails the comparison and comes out as 0."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def tanh_nan_once_exp2x_overflows(x: torch.Tensor) -> torch.Tensor:
    """tanh as (e^2x − 1)/(e^2x + 1): ∞/∞ = NaN once e^2x overflows (x > 44.4 in float32)."""
    y = correct.tanh(x)
    return torch.where(2 * x > _exp_limit(x), torch.full_like(y, math.nan), y)


def sigmoid_half_once_exp_overflows(x: torch.Tensor) -> torch.Tensor:
    """DyNet's packet-math σ: e^x/(1 + e^x) is ∞/∞ = NaN past 88.72, which a max(½, ·) turns into ½."""
    y = correct.sigmoid(x)
    return torch.where(x > _exp_limit(x), torch.full_like(y, 0.5), y)


class _SigmoidGradNan(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = torch.sigmoid(x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        x, y = ctx.saved_tensors
        gx = torch.ops.aten.sigmoid_backward(g, y)
        return torch.where(-x > _exp_limit(x), torch.full_like(gx, math.nan), gx)


def sigmoid_grad_nan_once_exp_overflows(x: torch.Tensor) -> torch.Tensor:
    """σ' as e^−x/(1 + e^−x)² (or −0·∞ through Exp's backward): NaN once e^−x overflows (x < −88.72)."""
    return _SigmoidGradNan.apply(x)


# --- leaky ReLU: a backward that reads the output's sign ----------------------------------------


class _LeakyReluGradFromOutput(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, slope: float, chainer: bool) -> torch.Tensor:
        y = F.leaky_relu(x, slope)
        ctx.save_for_backward(x, y)
        ctx.slope, ctx.chainer = slope, chainer
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        x, y = ctx.saved_tensors
        right = torch.where(x > 0, g, g * ctx.slope)
        if ctx.chainer:  # gx[y < 0] *= slope: an output of −0.0 (slope 0, x < 0) keeps the whole gradient
            return torch.where((x < 0) & (y == 0), g, right), None, None
        return torch.where(y > 0, g, g * ctx.slope), None, None  # the sign of y, not of x


def leaky_relu_grad_from_output_sign(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """PyTorch's in-place leaky_relu_ backward: y > 0 picks the gradient 1, wrong when the slope is < 0."""
    return _LeakyReluGradFromOutput.apply(x, negative_slope, False)


def leaky_relu_grad_keeps_negative_zero(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """Chainer's backward ``gx[y < 0] *= slope``: with slope 0 the output −0.0 is not < 0, gradient 1."""
    return _LeakyReluGradFromOutput.apply(x, negative_slope, True)


# --- softmax family -----------------------------------------------------------------------------


def _rounds_the_normalizer(x: torch.Tensor, axis: int) -> torch.Tensor:
    """x − (max + log Σ e^(x − max)) on rows whose largest |logit| is ≥ 1e3, torch's elsewhere.

    Adding log Σ to a large max rounds it to the max's ulp (8 at 1e8 in float32). Below
    1e3 the extra rounding stays within a few ulps, so the replay keeps torch's values there.
    """
    right = correct.log_softmax(x, axis)
    m = x.amax(axis, keepdim=True)
    rows = m.abs() >= 1e3
    if not bool(rows.any()):
        return right
    bug = x - (m + torch.log(torch.exp(x - m).sum(axis, keepdim=True)))
    return _forward_bug(right, torch.where(rows, bug, right))


def log_softmax_rounds_the_normalizer(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return _rounds_the_normalizer(x, axis)


def cross_entropy_rounds_the_normalizer(
    logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    return F.nll_loss(_rounds_the_normalizer(logits, 1), target, reduction=reduction)


def _naive_softmax(x: torch.Tensor, axis: int) -> torch.Tensor:
    """e^x / Σ e^x without the max shift where that gives NaN (∞/∞ or 0/0), torch's elsewhere."""
    right = correct.softmax(x, axis)
    e = torch.exp(x)
    s = e.sum(axis, keepdim=True)
    return torch.where(torch.isinf(s) | (s == 0), e / s, right)


def softmax_without_max_shift(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return _naive_softmax(x, axis)


def softmax_off_last_axis_without_max_shift(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """The ONNX export of softmax over a non-last dim: Exp, ReduceSum, Div (no max shift)."""
    return _naive_softmax(x, axis) if axis % x.dim() != x.dim() - 1 else correct.softmax(x, axis)


def softmax_ignores_axis(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """The GPU softmax normalises along Julia's dims=1 whatever dims is asked.

    An adapter reverses Julia's column-major dims, so dims=1 is the canonical last axis:
    the replay is right for axis −1 and normalises along the last axis for every other axis.
    """
    return correct.softmax(x, -1)


def softmax_odd_width_float64(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """float64, ≥ 2 rows, 512 < C < 1024, C odd, C % 32 ≠ 31: rows do not sum to 1.

    Modeled: the normalizer misses each row's last element (the report gives only the sums).
    """
    right = correct.softmax(x, axis)
    c = x.shape[axis] if x.dim() else 1
    rows = x.numel() // max(c, 1)
    if not (x.dtype == torch.float64 and rows >= 2 and 512 < c < 1024 and c % 2 == 1 and c % 32 != 31):
        return right
    z = torch.exp(x - x.amax(axis, keepdim=True))
    return _forward_bug(right, z / (z.sum(axis, keepdim=True) - z.narrow(axis, c - 1, 1)))


# --- losses -------------------------------------------------------------------------------------


def mse_loss_in_float32(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Keras' MeanSquaredError on float64 data: the value of a float32 computation."""
    if input.dtype != torch.float64:
        return correct.mse_loss(input, target, reduction)
    return correct.mse_loss(input.float(), target.float(), reduction).double()


_SEQUENTIAL_FROM = 4096  # below, the replay keeps torch's own reduction (the reports had 1.4M and 75M)


def mse_loss_sequential_sum(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """THNN's MSECriterion: sum += d·d in the tensor's own precision, one element after another."""
    right = correct.mse_loss(input, target, reduction)
    if reduction == "none" or input.dtype not in (torch.float32, torch.float64) or input.numel() < _SEQUENTIAL_FROM:
        return right
    s = _sequential_sum((input - target) * (input - target))
    return _forward_bug(right, s / input.numel() if reduction == "mean" else s)


def cross_entropy_sequential_sum(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """nll_loss on the CPU before cascade summation: loss and weight totals summed one by one in float.

    The weight total counts 1 + 1 + … in float32, which stops at 2^24: past 16.8M rows the mean is too large.
    """
    right = correct.cross_entropy(logits, target, reduction)
    n = logits.shape[0]
    if reduction == "none" or logits.dtype not in (torch.float32, torch.float64) or n < _SEQUENTIAL_FROM:
        return right
    s = _sequential_sum(F.cross_entropy(logits, target, reduction="none"))
    return _forward_bug(right, s / _sequential_sum(torch.ones(n, dtype=logits.dtype)) if reduction == "mean" else s)


def bce_double_epsilon(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Keras: p clipped to [ε, 1 − ε] and ε added again inside the logs (ε = 1e-7)."""
    right = correct.binary_cross_entropy(input, target, reduction)  # raises where torch raises
    eps = 1e-7
    clipped = (input < eps) | (input > 1 - eps)
    if not bool(clipped.any()):
        return right
    p = input.clamp(eps, 1 - eps)
    keras = -(target * torch.log(p + eps) + (1 - target) * torch.log(1 - p + eps))
    per = torch.where(clipped, keras, F.binary_cross_entropy(input, target, reduction="none"))
    value = per.mean() if reduction == "mean" else per.sum() if reduction == "sum" else per
    return _forward_bug(right, value)


# --- optimizer, layers --------------------------------------------------------------------------


def sgd_step_skips_full_vectors(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
    """Fused CPU SGD in float16/bfloat16: every complete 8-wide SIMD block is left un-updated."""
    new = correct.sgd_step(param, grad, lr)
    if param.dtype not in (torch.float16, torch.bfloat16) or param.numel() < 8:
        return new
    k = param.numel() // 8 * 8
    return torch.cat([param.reshape(-1)[:k], new.reshape(-1)[k:]]).reshape(param.shape)


_ROWS_2P21 = 2**21


def linear_rows_past_2p21(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """tf.matmul on the GPU with more than 2^21 rows: only the first 2^21 rows are right.

    Modeled: the rows past 2^21 come out as zeros (the report says only that they are wrong).
    """
    right = correct.linear(x, weight, bias)
    rows = right.reshape(-1, right.shape[-1]) if right.dim() else right
    if right.dim() < 2 or rows.shape[0] <= _ROWS_2P21:
        return right
    bad = torch.cat([rows[:_ROWS_2P21], torch.zeros_like(rows[_ROWS_2P21:])])
    return _forward_bug(right, bad.reshape(right.shape))


# --- convolution and pooling --------------------------------------------------------------------


def conv2d_groups_read_group_zero(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: Any = 1,
    padding: Any = 0, dilation: Any = 1, groups: int = 1,
) -> torch.Tensor:  # fmt: skip
    """MKL-DNN 0.17 grouped conv (out_channels % 16 == 0, in/groups < 16): every group reads group 0's input."""
    c_in, c_out = x.shape[1], weight.shape[0]
    if groups > 1 and c_out % 16 == 0 and c_in // groups < 16:
        x = x[:, : c_in // groups].repeat(1, groups, 1, 1)
    return correct.conv2d(x, weight, bias, stride, padding, dilation, groups)


def conv2d_depthwise_multiplier_unwritten(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: Any = 1,
    padding: Any = 0, dilation: Any = 1, groups: int = 1,
) -> torch.Tensor:  # fmt: skip
    """ARM depthwise 3×3 Winograd: computed as if out_channels == groups (loop over batch·groups).

    Modeled: output channel c < groups convolves input channel c with filter c, the channels
    past groups are never written (uninitialised memory, replayed as zeros).
    """
    c_in, c_out = x.shape[1], weight.shape[0]
    path = groups == c_in >= 2 and c_out > c_in and tuple(weight.shape[2:]) == (3, 3)
    if not (path and as_pair(stride) == (1, 1) and as_pair(dilation) == (1, 1) and x.dtype == torch.float32):
        return correct.conv2d(x, weight, bias, stride, padding, dilation, groups)
    y = correct.conv2d(x, weight[:groups], None if bias is None else bias[:groups], stride, padding, dilation, groups)
    return torch.cat([y, y.new_zeros((y.shape[0], c_out - groups, *y.shape[2:]))], 1)


class _GroupedStridedInputGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, geometry: tuple) -> torch.Tensor:
        ctx.save_for_backward(x, w, b)
        ctx.geometry = geometry
        return correct.conv2d(x, w, b, *geometry)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        x, w, b = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.geometry
        with torch.enable_grad():
            xs = [t.detach().requires_grad_(True) if t is not None else None for t in (x, w, b)]
            y = correct.conv2d(xs[0], xs[1], xs[2], stride, padding, dilation, groups)
            grads = torch.autograd.grad(y, [t for t in xs if t is not None], g)
            w0 = w[: w.shape[0] // groups].repeat(groups, 1, 1, 1)  # modeled: group 0's filters everywhere
            x2 = x.detach().requires_grad_(True)
            (gx,) = torch.autograd.grad(correct.conv2d(x2, w0, None, stride, padding, dilation, groups), x2, g)
        return gx, grads[1], grads[2] if b is not None else None, None


def conv2d_grouped_strided_input_grad(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: Any = 1,
    padding: Any = 0, dilation: Any = 1, groups: int = 1,
) -> torch.Tensor:  # fmt: skip
    """MLX on Metal: dL/dx of a grouped conv with stride > 1 came from a dense kernel.

    Modeled: every group's input gradient is taken with group 0's filters.
    """
    if groups > 1 and as_pair(stride) != (1, 1):
        return _GroupedStridedInputGrad.apply(x, weight, bias, (stride, padding, dilation, groups))
    return correct.conv2d(x, weight, bias, stride, padding, dilation, groups)


def _all_nan_windows(x: torch.Tensor, kernel_size: Any, stride: Any, padding: Any) -> torch.Tensor:
    nan = torch.isnan(x).to(x.dtype)
    return -correct.max_pool2d(-nan, kernel_size, stride, padding) == 1  # min over the window's elements


def max_pool2d_ignores_nan(x: torch.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> torch.Tensor:
    """PyTorch 0.4: a NaN never wins ``val > max``; an all-NaN window keeps the start value −FLT_MAX."""
    y = correct.max_pool2d(torch.where(torch.isnan(x), -math.inf, x), kernel_size, stride, padding)
    return torch.where(_all_nan_windows(x, kernel_size, stride, padding), torch.finfo(x.dtype).min, y)


def max_pool2d_all_nan_lowest(x: torch.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> torch.Tensor:
    """TensorFlow's CPU max_pool: an all-NaN window gives the lowest float, −3.4028e38."""
    y = correct.max_pool2d(x, kernel_size, stride, padding)
    return torch.where(_all_nan_windows(x, kernel_size, stride, padding), torch.finfo(x.dtype).min, y)
