"""Wrong-result bugs that shipped in real frameworks, each replayed as a broken torch op.

One :class:`ShippedBug` record per bug report: where it was filed, the op, the dtype it
shows in, where it showed (``trigger``), what the framework returned (``wrong``) and a
``replay``: a function with the op's canonical signature that equals the built-in torch
adapter's op everywhere except on the inputs where the real bug showed, and there
misbehaves as the real bug did. ``tame_case`` is an ordinary input where the replay must
equal torch, ``trigger_case`` one where it must differ (tests/conformance/test_shipped_bugs.py).

``tier`` says which run is expected to catch it: ``"default"`` (``dlterms conform``) or
``"sizes"`` (``dlterms conform --sizes``, realistic shapes). ``not_drawn`` names the inputs
today's strategies never draw, for a bug the default run misses (its test is a strict xfail).
``modeled`` says what the replay returns where the report gives no values.
The page docs/findings/shipped-bugs.md lists the same catalogue.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import shipped_bug_replays as r
import torch

from dlterms.ops import OPS

Tier = Literal["default", "sizes"]
TIERS: tuple[Tier, ...] = ("default", "sizes")
DTYPES = ("float16", "bfloat16", "float32", "float64")


# --- the catalogue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippedBug:
    """One shipped wrong-result bug and its replay (see the module docstring)."""

    name: str
    framework: str
    url: str
    op: str
    dtype: str
    trigger: str
    wrong: str
    tier: Tier
    replay: Callable[..., Any] = field(repr=False)
    tame_case: dict[str, Any] = field(repr=False)
    trigger_case: dict[str, Any] = field(repr=False)
    not_drawn: str = ""
    modeled: str = ""

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"ShippedBug {self.name}: op={self.op!r}; expected one of {sorted(OPS)}")
        if self.tier not in TIERS:
            raise ValueError(f"ShippedBug {self.name}: tier={self.tier!r}; expected one of {TIERS}")
        if self.dtype not in DTYPES:
            raise ValueError(f"ShippedBug {self.name}: dtype={self.dtype!r}; expected one of {DTYPES}")
        if not self.url.startswith("https://github.com/"):
            raise ValueError(f"ShippedBug {self.name}: url={self.url!r}; expected a GitHub issue or PR URL")

    @property
    def term(self) -> str:
        """The glossary term of the op (for ``--terms``), from its record."""
        return OPS[self.op].term


NAN = math.nan
_GITHUB = "https://github.com/"


def _full(shape: tuple[int, ...], value: float, dtype: torch.dtype = torch.float32) -> Callable[[], torch.Tensor]:
    return lambda: torch.full(shape, value, dtype=dtype)


def _conv_case(out_channels: int, stride: int = 1) -> dict[str, Any]:
    return {"x": [[[[0.0]], [[0.0]], [[0.0]], [[1.0]]]], "weight": [[[[1.0]], [[1.0]]]] * out_channels, "groups": 2}


def _depthwise(multiplier: int, stride: int = 1) -> dict[str, Any]:
    x = [[[[float((3 * i + 5 * j + c) % 7) for j in range(5)] for i in range(5)] for c in range(2)]]
    w = [[[[float((i + 2 * j + o) % 5 - 2) for j in range(3)] for i in range(3)]] for o in range(2 * multiplier)]
    return {"x": x, "weight": w, "bias": None, "stride": stride, "padding": 1, "groups": 2}


_NO_LARGE_X = "finite x above the exp overflow (> {t}); the {op} cases stop at |x| = {m}"

# fmt: off
BUGS: tuple[ShippedBug, ...] = (
    ShippedBug(
        name="pytorch-relu-nan", framework="PyTorch 0.4.0",
        url=_GITHUB + "pytorch/pytorch/issues/7999", op="relu", dtype="float32", tier="default",
        trigger="torch.relu of a NaN",
        wrong="0 (the NaN dropped)", replay=r.relu_where_positive,
        tame_case={"x": [[-1.0, 0.5], [2.0, -3.0]]},
        trigger_case={"x": [NAN, 1.0]},
    ),
    ShippedBug(
        name="mxnet-relu-nan", framework="MXNet 1.2.0",
        url=_GITHUB + "apache/mxnet/issues/11115", op="relu", dtype="float32", tier="default",
        trigger="mx.nd.relu of a NaN",
        wrong="0 (the NaN clipped)", replay=r.relu_where_positive,
        tame_case={"x": [-1.0, 0.0, 3.5]},
        trigger_case={"x": [NAN]},
    ),
    ShippedBug(
        name="caffe-tanh-exp2x", framework="Caffe",
        url=_GITHUB + "BVLC/caffe/pull/1455", op="tanh", dtype="float32", tier="default",
        trigger="x > 44.4 in float32, where the layer's (e^2x − 1)/(e^2x + 1) overflows",
        wrong="NaN", replay=r.tanh_nan_once_exp2x_overflows,
        tame_case={"x": [-50.0, -1.0, 0.5, 20.0]},
        trigger_case={"x": [45.0, 1.0]},
    ),
    ShippedBug(
        name="nnlib-tanh-fast-nan", framework="Flux 0.13 (NNlib tanh_fast)",
        url=_GITHUB + "FluxML/NNlib.jl/issues/407", op="tanh", dtype="float64", tier="default",
        trigger="large positive x in float64 (tanh_fast(1e10)): e^2x overflows, the large-x branch returns sign(NaN)",
        wrong="NaN", replay=r.tanh_nan_once_exp2x_overflows,
        tame_case={"x": [-1e10, -1.0, 30.5, 300.0]},
        trigger_case={"x": [1e10]},
    ),
    ShippedBug(
        name="dynet-sigmoid-half", framework="DyNet",
        url=_GITHUB + "clab/dynet/issues/1525", op="sigmoid", dtype="float32", tier="default",
        trigger="x > 88.7 (logistic(89), 3212.5), where e^x overflows, on the CPU's packet-math path",
        wrong="0.5 (NaN on the GPU)", replay=r.sigmoid_half_once_exp_overflows,
        tame_case={"x": [-1662.7, -0.5, 0.0, 88.0]},
        trigger_case={"x": [89.0, 3212.5]},
    ),
    ShippedBug(
        name="candle-sigmoid-grad-nan", framework="candle",
        url=_GITHUB + "huggingface/candle/pull/1722", op="sigmoid", dtype="float32", tier="default",
        trigger="the backward pass at x < −88.7 (−201.7, −548.3), where e^−x overflows",
        wrong="NaN gradient", replay=r.sigmoid_grad_nan_once_exp_overflows,
        tame_case={"x": [-74.2, -1.2, 0.0, 548.3]},
        trigger_case={"x": [-201.7, -548.3]},
    ),
    ShippedBug(
        name="tinygrad-sigmoid-grad-nan", framework="tinygrad",
        url=_GITHUB + "tinygrad/tinygrad/pull/1113", op="sigmoid", dtype="float32", tier="default",
        trigger="the backward pass at large negative x: Exp's backward multiplies −0.0 by ∞",
        wrong="NaN gradient", replay=r.sigmoid_grad_nan_once_exp_overflows,
        tame_case={"x": [-50.0, 0.0, 2.0]},
        trigger_case={"x": [-100.0]},
    ),
    ShippedBug(
        name="pytorch-ce-big-logits", framework="PyTorch 0.4.1",
        url=_GITHUB + "pytorch/pytorch/issues/11752", op="cross_entropy", dtype="float32", tier="default",
        trigger="large logits close together: [1e8, 1e8] (x − (max + log Σ) rounds log 2 away)",
        wrong="0 instead of log 2", replay=r.cross_entropy_rounds_the_normalizer,
        tame_case={"logits": [[1.0, 1.0]], "target": [1], "reduction": "mean"},
        trigger_case={"logits": [[1e8, 1e8]], "target": [1], "reduction": "mean"},
    ),
    ShippedBug(
        name="pytorch-cuda-log-softmax-offset", framework="PyTorch 1.5 (CUDA)",
        url=_GITHUB + "pytorch/pytorch/issues/38839", op="log_softmax", dtype="float32", tier="default",
        trigger="logits offset by −1e7 with a spread of 1 (torch.rand(4, 3) − 1e7)",
        wrong="whole numbers: [−2, −2, −1] for [−1.5514, −1.5514, −0.5514]",
        replay=r.log_softmax_rounds_the_normalizer,
        tame_case={"x": [[0.0, 0.0, 1.0]], "axis": -1},
        trigger_case={"x": [[-1e7, -1e7, -9999999.0]], "axis": -1},
    ),
    ShippedBug(
        name="mlx-log-softmax-large", framework="MLX",
        url=_GITHUB + "ml-explore/mlx/pull/4169", op="log_softmax", dtype="float32", tier="default",
        trigger="two equal logits v: off at v = 1e4, 0 from v = 1e8 (x − logsumexp(x) without the max shift)",
        wrong="−0.693359 at 1e4, 0 at 1e8", replay=r.log_softmax_rounds_the_normalizer,
        tame_case={"x": [[1.0, 1.0]], "axis": -1},
        trigger_case={"x": [[1e4, 1e4], [1e8, 1e8]], "axis": -1},
    ),
    ShippedBug(
        name="onnx-export-softmax-axis", framework="PyTorch 1.4 ONNX export (ONNX Runtime)",
        url=_GITHUB + "pytorch/pytorch/issues/34585", op="softmax", dtype="float32", tier="default",
        trigger="softmax over a dim that is not the last, with |x| ~ 100 (exported as Exp/ReduceSum/Div)",
        wrong="NaN", replay=r.softmax_off_last_axis_without_max_shift,
        tame_case={"x": [[1.0, 2.0], [3.0, 4.0]], "axis": 0},
        trigger_case={"x": [[-120.0, 50.0], [90.0, -30.0]], "axis": 0},
    ),
    ShippedBug(
        name="mlnet-softmax-overflow", framework="ML.NET 0.11",
        url=_GITHUB + "dotnet/machinelearning/issues/3648", op="softmax", dtype="float32", tier="default",
        trigger="a score above 88.7 ([90, 2, −2]): e^x overflows without the max shift",
        wrong="NaN", replay=r.softmax_without_max_shift,
        tame_case={"x": [[88.0, 2.0, -2.0]]},
        trigger_case={"x": [[90.0, 2.0, -2.0]]},
    ),
    ShippedBug(
        name="cudajl-softmax-dims", framework="CUDA.jl 2.3 with NNlib (Flux 0.11.2)",
        url=_GITHUB + "JuliaGPU/CUDA.jl/issues/599", op="softmax", dtype="float32", tier="default",
        trigger="softmax on the GPU with dims other than the default",
        wrong="normalised along the default dim", replay=r.softmax_ignores_axis,
        tame_case={"x": [[0.4, 0.8], [0.1, 0.3]], "axis": -1},
        trigger_case={"x": [[0.4, 0.8], [0.1, 0.3]], "axis": 0},
    ),
    ShippedBug(
        name="pytorch-leaky-relu-negative-slope-grad", framework="PyTorch 1.3.1",
        url=_GITHUB + "pytorch/pytorch/issues/31938", op="leaky_relu", dtype="float32", tier="default",
        trigger="backward of leaky_relu_ with negative_slope −2 at x = −1 (it reads the output's sign)",
        wrong="gradient 1 instead of −2", replay=r.leaky_relu_grad_from_output_sign,
        tame_case={"x": [-1.0, 1.0], "negative_slope": 0.2},
        trigger_case={"x": [-1.0, 1.0], "negative_slope": -2.0},
    ),
    ShippedBug(
        name="chainer-leaky-relu-zero-slope-grad", framework="Chainer 5",
        url=_GITHUB + "chainer/chainer/pull/5898", op="leaky_relu", dtype="float32", tier="default",
        trigger="backward with slope = 0 at x < 0, where the output is −0.0 and gx[y < 0] *= slope skips it",
        wrong="gradient 1 instead of 0", replay=r.leaky_relu_grad_keeps_negative_zero,
        tame_case={"x": [-5.0, -1.0, 2.0], "negative_slope": 0.2},
        trigger_case={"x": [-5.0, -1.0, 2.0], "negative_slope": 0.0},
    ),
    ShippedBug(
        name="pytorch-maxpool-nan", framework="PyTorch 0.4",
        url=_GITHUB + "pytorch/pytorch/issues/7645", op="max_pool2d", dtype="float32", tier="default",
        trigger="a NaN in a pooling window (CPU and CUDA)",
        wrong="the max of the other values; −3.4028e38 for an all-NaN window", replay=r.max_pool2d_ignores_nan,
        tame_case={"x": [[[[1.0, -2.0], [3.0, 0.5]]]], "kernel_size": 2},
        trigger_case={"x": [[[[NAN, 1.0], [0.0, 2.0]]]], "kernel_size": 2},
    ),
    ShippedBug(
        name="tensorflow-maxpool-all-nan", framework="TensorFlow (CPU)",
        url=_GITHUB + "tensorflow/tensorflow/issues/2501", op="max_pool2d", dtype="float32", tier="default",
        trigger="a pooling window holding only NaN",
        wrong="−3.40282347e+38", replay=r.max_pool2d_all_nan_lowest,
        tame_case={"x": [[[[NAN, 1.0], [0.0, 2.0]]]], "kernel_size": 2},
        trigger_case={"x": [[[[NAN, NAN], [NAN, NAN]]]], "kernel_size": 2},
    ),
    ShippedBug(
        name="pytorch-grouped-conv-16", framework="PyTorch 1.0.1 (MKL-DNN)",
        url=_GITHUB + "pytorch/pytorch/issues/19912", op="conv2d", dtype="float32", tier="sizes",
        trigger="groups = 2 with 16 output channels (out_channels % 16 == 0, in_channels/groups < 16)",
        wrong="the second group's outputs wrong (all zeros in the report)", replay=r.conv2d_groups_read_group_zero,
        tame_case=_conv_case(8),
        trigger_case=_conv_case(16),
        modeled="every group reads group 0's input channels (gives the report's zeros)",
    ),
    ShippedBug(
        name="pytorch-depthwise-winograd", framework="PyTorch 1.9 (ARM CPU)",
        url=_GITHUB + "pytorch/pytorch/pull/60460", op="conv2d", dtype="float32", tier="sizes",
        trigger="3×3 depthwise conv (groups = in_channels) with a depth multiplier > 1, stride 1",
        wrong="computed as if out_channels == groups", replay=r.conv2d_depthwise_multiplier_unwritten,
        tame_case=_depthwise(1),
        trigger_case=_depthwise(2),
        modeled="channel c < groups uses input c and filter c; the others are zeros (never written)",
    ),
    ShippedBug(
        name="mlx-conv2d-grouped-strided-grad", framework="MLX 0.31.2 (Metal)",
        url=_GITHUB + "ml-explore/mlx/pull/3800", op="conv2d", dtype="float32", tier="default",
        trigger="the input gradient of a grouped conv (groups > 1) with stride > 1",
        wrong="dL/dx off by 500–5600 % (relative)", replay=r.conv2d_grouped_strided_input_grad,
        tame_case=_depthwise(1, stride=1),
        trigger_case=_depthwise(1, stride=2),
        modeled="the input gradient is taken with group 0's filters for every group",
    ),
    ShippedBug(
        name="keras-mse-float64", framework="TensorFlow 2.1–2.3 (Keras)",
        url=_GITHUB + "tensorflow/tensorflow/issues/39878", op="mse_loss", dtype="float64", tier="default",
        trigger="MeanSquaredError on float64 data",
        wrong="the float32 value (error ~1e-8)", replay=r.mse_loss_in_float32,
        tame_case={"input": [1.0, 2.0], "target": [0.5, 0.0]},
        trigger_case={"input": [0.1, 0.7], "target": [0.3, 0.2]},
    ),
    ShippedBug(
        name="keras-bce-double-epsilon", framework="TensorFlow 2.2 (Keras)",
        url=_GITHUB + "tensorflow/tensorflow/pull/41595", op="binary_cross_entropy", dtype="float32", tier="default",
        trigger="a probability within 1e-7 of 0 or 1 (y = 1, p = 0)",
        wrong="15.42 = −log 2e-7 (p clipped to ε and ε added again)", replay=r.bce_double_epsilon,
        tame_case={"input": [0.3, 0.9], "target": [0.0, 1.0]},
        trigger_case={"input": [0.0], "target": [1.0]},
    ),
    ShippedBug(
        name="pytorch-fused-sgd-lowp", framework="PyTorch 2.12–2.13 (CPU)",
        url=_GITHUB + "pytorch/pytorch/issues/191763", op="sgd_step", dtype="float16", tier="default",
        trigger="SGD(fused=True) on float16/bfloat16 parameters of ≥ 8 elements (the SIMD width)",
        wrong="the complete 8-element blocks not updated", replay=r.sgd_step_skips_full_vectors,
        tame_case={"param": [1.0, 2.0, 3.0], "grad": [0.5, 0.5, 0.5], "lr": 0.125},
        trigger_case={"param": [float(i) for i in range(9)], "grad": [0.5] * 9, "lr": 0.125},
    ),
    ShippedBug(
        name="pytorch-mse-float32-sum", framework="PyTorch 0.4.0",
        url=_GITHUB + "pytorch/pytorch/issues/8710", op="mse_loss", dtype="float32", tier="sizes",
        trigger="mean over 5·68·64·64 = 1,392,640 elements, summed one by one in float",
        wrong="0.0098371 for 0.01", replay=r.mse_loss_sequential_sum,
        tame_case={"input": [[0.5, 0.25]], "target": [[0.0, 0.0]]},
        trigger_case={"input": _full((5, 68, 64, 64), 0.1), "target": _full((5, 68, 64, 64), 0.0)},
    ),
    ShippedBug(
        name="pytorch-ce-mean-large-cpu", framework="PyTorch 1.8 (CPU)",
        url=_GITHUB + "pytorch/pytorch/issues/55657", op="cross_entropy", dtype="float32", tier="sizes",
        trigger="reduction='mean' over 128·768·768 = 75M targets (sequential float accumulation)",
        wrong="a mean far from the mean of reduction='none'", replay=r.cross_entropy_sequential_sum,
        tame_case={"logits": [[0.0, 1.0]], "target": [1], "reduction": "mean"},
        trigger_case={"logits": _full((2**20, 2), 0.0), "target": _full((2**20,), 0, torch.int64), "reduction": "mean"},
    ),
    ShippedBug(
        name="pytorch-softmax-f64-odd-width", framework="PyTorch 2.4–2.6 (CUDA)",
        url=_GITHUB + "pytorch/pytorch/issues/147284", op="softmax", dtype="float64", tier="sizes",
        trigger="float64, ≥ 2 rows, 512 < C < 1024 with C odd and C % 32 ≠ 31 (781, 517, 513)",
        wrong="rows that do not sum to 1", replay=r.softmax_odd_width_float64,
        tame_case={"x": _full((2, 511), 0.0, torch.float64), "axis": -1},
        trigger_case={"x": _full((2, 517), 0.0, torch.float64), "axis": -1},
        modeled="the normalizer misses each row's last element",
    ),
    ShippedBug(
        name="tensorflow-matmul-rows-2p21", framework="TensorFlow 1.5–1.8 (GPU)",
        url=_GITHUB + "tensorflow/tensorflow/issues/20094", op="linear", dtype="float32", tier="sizes",
        trigger="tf.matmul(X, Y) with X of more than 2^21 = 2,097,152 rows",
        wrong="rows past 2^21 wrong", replay=r.linear_rows_past_2p21,
        tame_case={"x": [[1.0, 1.0]], "weight": [[1.0, 0.01], [0.0, 1.0]]},
        trigger_case={"x": _full((2**21 + 10, 2), 1.0), "weight": [[1.0, 0.01], [0.0, 1.0]]},
        modeled="the rows past 2^21 are zeros",
    ),
)
# fmt: on


def _tensor(value: Any, dtype: torch.dtype) -> torch.Tensor:
    value = value() if callable(value) else value
    return value.to(dtype) if isinstance(value, torch.Tensor) else torch.tensor(value, dtype=dtype)


def evaluate(fn: Callable[..., Any], bug: ShippedBug, case: dict[str, Any]) -> list[torch.Tensor]:
    """``fn(**case)`` with the tensors in the bug's dtype: its outputs, then the gradients of its
    differentiable tensors for the cotangent linspace(0.5, 1.5) (so a wrong backward shows)."""
    kwargs: dict[str, Any] = {}
    primals: list[torch.Tensor] = []
    for arg in OPS[bug.op].args:
        if arg.name not in case:
            continue
        value = case[arg.name]
        if arg.role == "option" or value is None:
            kwargs[arg.name] = value
            continue
        t = _tensor(value, torch.int64 if arg.role == "index" else getattr(torch, bug.dtype))
        if arg.differentiable:
            primals.append(t.requires_grad_(True))
        kwargs[arg.name] = t
    out = fn(**kwargs)
    outs = list(out) if isinstance(out, tuple) else [out]
    results = [o.detach() for o in outs]
    live = [o for o in outs if o.requires_grad]
    if live:
        total = sum((o * torch.linspace(0.5, 1.5, o.numel(), dtype=o.dtype).reshape(o.shape)).sum() for o in live)
        grads = torch.autograd.grad(total, primals, allow_unused=True)
        results += [torch.zeros_like(p) if g is None else g for p, g in zip(primals, grads, strict=True)]
    return results


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """Bit for bit the same values (NaN equal to NaN), shapes and dtypes."""

    def one(x: torch.Tensor, y: torch.Tensor) -> bool:
        if x.shape != y.shape or x.dtype != y.dtype or not torch.equal(x.isnan(), y.isnan()):
            return False
        return bool(torch.equal(torch.where(x.isnan(), 0, x), torch.where(y.isnan(), 0, y)))

    return len(a) == len(b) and all(one(x, y) for x, y in zip(a, b, strict=True))


def caught_by(bug: ShippedBug, rows: list[dict[str, Any]]) -> list[str]:
    """The invariants of the bug's op (``<op>.…``) that failed in a report's rows, sorted.

    An error counts, except a timeout: a check that ran out of time has said nothing about the op.
    """
    return sorted(
        {
            row["invariant"]
            for row in rows
            if row["invariant"].startswith(f"{bug.op}.")
            and (row["status"] == "fail" or (row["status"] == "error" and not row["message"].startswith("timeout")))
        }
    )
