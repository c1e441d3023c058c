"""PyTorch as a backend: ``torch`` / ``torch.nn.functional`` ops and autograd ``vjp``.

The canonical semantics are PyTorch's own layouts (NCHW, OIHW, batch-first
RNNs with two biases), so most ops are a direct call.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.adagrad import adagrad as functional_adagrad
from torch.optim.adam import adam as functional_adam
from torch.optim.rmsprop import rmsprop as functional_rmsprop
from torch.optim.sgd import sgd as functional_sgd

from ..checks import Unsupported, UnsupportedCase

name = "torch"
version = torch.__version__
dtypes = ("float16", "bfloat16", "float32", "float64")
device = torch.device("cpu")

# The suite's tensors are tiny: one intra-op thread is far faster than a pool that
# competes with other processes for the cores (a 3×4 cross_entropy took 2 µs with 1
# thread and 0.6 ms with 2 on a busy 2-core machine). DLTERMS_TORCH_THREADS overrides.
torch.set_num_threads(int(os.environ.get("DLTERMS_TORCH_THREADS", "1")))


def use_device(spec: str) -> None:
    """Create every tensor on ``spec`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``); ValueError if it is not there."""
    global device
    try:
        wanted = torch.device(spec)
    except RuntimeError as exc:
        raise ValueError(f"torch: {exc}; expected cpu, cuda or cuda:N") from None
    if wanted.type == "cuda":
        if not torch.cuda.is_available():
            built = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA (a CPU build)"
            raise ValueError(
                f"torch {torch.__version__} sees no CUDA device "
                f"(torch.cuda.is_available() is False; built with {built})"
            )
        if (wanted.index or 0) >= torch.cuda.device_count():
            raise ValueError(f"torch sees {torch.cuda.device_count()} CUDA device(s); there is no {wanted}")
    elif wanted.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("torch sees no MPS device (torch.backends.mps.is_available() is False)")
    device = wanted


def facts() -> dict[str, Any]:
    """Device, versions and the math modes that change float32 results (TF32 applies on CUDA only)."""
    on_cuda = device.type == "cuda"
    modes = {
        "torch.backends.cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "torch.backends.cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
        "torch.get_float32_matmul_precision()": torch.get_float32_matmul_precision(),
    }
    reduced = [
        f"{k}={v}"
        for k, v in modes.items()
        if on_cuda and (v is True or v in ("high", "medium"))  # cuDNN uses TF32 for convolutions by default
    ]
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if on_cuda else "cpu",
        "framework_versions": {"torch": torch.__version__},
        "driver": {"cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()} if on_cuda else {},
        "math_modes": modes,
        "reduced_precision": reduced,
    }


def asarray(data: Any, dtype: str = "float64") -> torch.Tensor:
    return torch.tensor(data, dtype=getattr(torch, dtype), device=device)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    x = x.detach().cpu()
    if x.is_floating_point() and x.dtype != torch.float64:
        x = x.to(torch.float64)  # numpy has no bfloat16
    return x.numpy()


def vjp(fn: Any, primals: tuple[torch.Tensor, ...], cotangent: torch.Tensor) -> tuple[torch.Tensor, ...]:
    if getattr(fn, "op", None) in NOT_DIFFERENTIABLE:
        raise Unsupported(f"{fn.op}: torch computes it under no_grad, in place, which autograd does not differentiate")
    inputs = [p.detach().clone().requires_grad_(True) for p in primals]
    out = fn(*inputs)
    outs, cots = (out, cotangent) if isinstance(out, tuple | list) else ((out,), (cotangent,))
    # An output that autograd does not track (torch detached it) is a constant: its cotangent adds nothing.
    tracked = [(o, c) for o, c in zip(outs, cots, strict=True) if o.requires_grad]
    if not tracked:
        return tuple(torch.zeros_like(p) for p in inputs)
    grads = torch.autograd.grad(
        [o for o, _ in tracked], inputs, grad_outputs=[c for _, c in tracked], allow_unused=True
    )
    return tuple(torch.zeros_like(p) if g is None else g for p, g in zip(inputs, grads, strict=True))


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x)


def silu(x: torch.Tensor) -> torch.Tensor:
    return F.silu(x)


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    return F.gelu(x, approximate=approximate)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return F.elu(x, alpha=alpha)


# torch returns x where beta·x > threshold (20 by default; the convention softplus.threshold): x is
# e^−20/20 ≈ 1.0e−10 from the exact value relative, below half a float32 ulp (3.0e−8) but about 10⁶
# float64 units. In float64 the adapter passes 36 (e^−36/36 ≈ 6.4e−18 < 2^−54): its linear branch is
# then the exact value rounded, and below it torch's own log1p(exp(βx))/β is what is checked.
_SOFTPLUS_THRESHOLD = {torch.float64: 36.0}


def softplus(x: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    return F.softplus(x, beta=beta, threshold=_SOFTPLUS_THRESHOLD.get(x.dtype, 20.0))


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return F.logsigmoid(x)


def relu(x: torch.Tensor) -> torch.Tensor:
    return F.relu(x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    return F.leaky_relu(x, negative_slope=negative_slope)


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.softmax(x, dim=axis)


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.log_softmax(x, dim=axis)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    return F.linear(x, weight, bias)  # x Wᵀ + b; weight is (out_features, in_features), as canonical


# --- normalization ---------------------------------------------------------------------------------


def _trailing(normalized_shape: Any) -> list[int]:
    return [normalized_shape] if isinstance(normalized_shape, int) else list(normalized_shape)


def layer_norm(
    x: torch.Tensor,
    normalized_shape: Any,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    return F.layer_norm(x, _trailing(normalized_shape), weight, bias, eps)


def rms_norm(
    x: torch.Tensor, normalized_shape: Any, weight: torch.Tensor | None = None, eps: float | None = None
) -> torch.Tensor:
    return F.rms_norm(x, _trailing(normalized_shape), weight, eps)  # eps=None: torch.finfo(x.dtype).eps, as canonical


def group_norm(
    x: torch.Tensor,
    num_groups: int,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    return F.group_norm(x, num_groups, weight, bias, eps)


def batch_norm(
    x: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    training: bool = False,
    eps: float = 1e-5,
) -> torch.Tensor:
    # In training F.batch_norm updates the running buffers in place: clones keep the caller's tensors.
    return F.batch_norm(x, running_mean.clone(), running_var.clone(), weight, bias, training, 0.1, eps)


def batch_norm_running_stats(
    x: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor, momentum: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    # torch's own update: F.batch_norm in training writes (1 − momentum)·old + momentum·batch into the
    # buffers (the unbiased variance), in place and outside autograd, so it has no gradient to compare.
    if x.requires_grad:
        raise Unsupported("batch_norm_running_stats: torch updates the running buffers in place, outside autograd")
    mean, var = running_mean.clone(), running_var.clone()
    F.batch_norm(x, mean, var, None, None, True, momentum, 1.0)  # eps: any > 0 (torch refuses 0 in training)
    return mean, var


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return F.mse_loss(input, target, reduction=reduction)


def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    # On CUDA an input outside [0, 1] (NaN included) trips a device-side assert in the kernel,
    # which ends every later CUDA call of the process (measured on an H200: 31 error rows
    # after it); the CPU kernel raises instead. Checked here first, so CUDA raises as the CPU does.
    if input.is_cuda and not bool(((input >= 0) & (input <= 1)).all()):
        raise RuntimeError("all elements of input should be between 0 and 1 (checked before the CUDA kernel)")
    return F.binary_cross_entropy(input, target, reduction=reduction)  # clamps each log at -100


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return F.cross_entropy(logits, target, reduction=reduction)


def huber_loss(input: torch.Tensor, target: torch.Tensor, delta: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    return F.huber_loss(input, target, reduction=reduction, delta=delta)


def smooth_l1_loss(
    input: torch.Tensor, target: torch.Tensor, beta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    return F.smooth_l1_loss(input, target, reduction=reduction, beta=beta)  # huber_loss(delta=beta)/beta


def kl_div(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", log_target: bool = False
) -> torch.Tensor:
    # input holds log-probabilities, as canonical. reduction='mean' (the default) warns, at every call, that it
    # is not the KL divergence per example: a fact the convention kl_div.default_reduction reports, silenced here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides", category=UserWarning)
        return F.kl_div(input, target, reduction=reduction, log_target=log_target)


# --- classification losses beyond the seed: nll_loss, BCE with logits, label smoothing --------------------


def _batch_of_rows(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(0, 1) if x.ndim == 1 and x.numel() == 0 else x  # an empty batch arrives as shape (0,)


def nll_loss(
    input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None, reduction: str = "mean"
) -> torch.Tensor:
    return F.nll_loss(_batch_of_rows(input), target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None, reduction: str = "mean"
) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight, reduction=reduction)


def smoothed_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, label_smoothing: float, reduction: str = "mean"
) -> torch.Tensor:
    return F.cross_entropy(_batch_of_rows(logits), target, reduction=reduction, label_smoothing=label_smoothing)


def sgd_step(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
    # The kernel torch.optim.SGD applies (param.add_(grad, alpha=-lr)), out of place so that
    # autograd can differentiate it; tests check torch.optim.SGD itself against the reference.
    return torch.add(param, grad, alpha=-lr)


def _adam(
    param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, step: int, **hyper: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # torch.optim.adam.adam, the public functional form of torch.optim.Adam's for-loop kernel, on
    # clones (it updates in place). Under autograd it runs with differentiable=True, the path that
    # autograd can differentiate (torch.optim.Adam(differentiable=True)); otherwise the default path.
    # The step counter holds t − 1 (torch increments it first), in float64 so that 1 − βᵗ is not
    # rounded to float32. Tests check torch.optim.Adam and AdamW themselves against the reference.
    out = [param.clone(), m.clone(), v.clone()]
    counter = [torch.tensor(float(step - 1), dtype=torch.float64, device=param.device)]
    lr, beta1, beta2, eps, decay = (hyper[k] for k in ("lr", "beta1", "beta2", "eps", "weight_decay"))
    taped = torch.is_grad_enabled() and any(t.requires_grad for t in (param, grad, m, v))
    functional_adam(
        out[:1], [grad], out[1:2], out[2:], [], counter, foreach=False, differentiable=taped,
        decoupled_weight_decay=True, amsgrad=False, beta1=beta1, beta2=beta2, lr=lr, weight_decay=decay, eps=eps,
        maximize=False,
    )  # fmt: skip
    return out[0], out[1], out[2]


def adam_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return _adam(param, grad, m, v, step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=0.0)


def adamw_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return _adam(param, grad, m, v, step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)


def sgd_momentum_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    momentum_buffer: torch.Tensor,
    lr: float,
    momentum: float,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    first_step: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    # torch.optim.sgd.sgd, the functional form of torch.optim.SGD's for-loop kernel, on clones (it updates in
    # place). Its buffer list holds None before the first step (torch then starts the buffer at the gradient);
    # with momentum 0 it keeps no buffer, and the canonical one passes through.
    out, buffers = [param.clone()], [None if first_step else momentum_buffer.clone()]
    functional_sgd(
        out, [grad], buffers, foreach=False, weight_decay=weight_decay, momentum=momentum, lr=lr,
        dampening=dampening, nesterov=nesterov, maximize=False,
    )  # fmt: skip
    return out[0], momentum_buffer.clone() if buffers[0] is None else buffers[0]


def _eps_on_the_root(op: str, eps: float, eps_in_sqrt: bool) -> None:
    # torch.optim's RMSprop and Adagrad add ε to the root only (the convention rmsprop.eps_placement);
    # at ε = 0 the two forms are one.
    if eps_in_sqrt and eps != 0.0:
        raise UnsupportedCase(f"{op}: torch.optim adds eps to the root only, never under it (eps_in_sqrt=True)")


def _taped(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def rmsprop_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    square_avg: torch.Tensor,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    eps_in_sqrt: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    # torch.optim.rmsprop.rmsprop, the functional form of torch.optim.RMSprop's for-loop kernel, on clones
    # (differentiable=True under autograd, as for Adam). Tests check torch.optim.RMSprop itself.
    _eps_on_the_root("rmsprop_step", eps, eps_in_sqrt)
    out = [param.clone(), square_avg.clone()]
    functional_rmsprop(
        out[:1], [grad], out[1:], [], [], [torch.tensor(0.0)], foreach=False,
        differentiable=_taped(param, grad, square_avg),
        lr=lr, alpha=alpha, eps=eps, weight_decay=0.0, momentum=0.0, centered=False,
    )  # fmt: skip
    return out[0], out[1]


def adagrad_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    state_sum: torch.Tensor,
    step: int,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    eps_in_sqrt: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    # torch.optim.adagrad.adagrad, torch.optim.Adagrad's for-loop kernel, on clones; its step counter
    # holds t − 1 (torch increments it first). Tests check torch.optim.Adagrad itself.
    _eps_on_the_root("adagrad_step", eps, eps_in_sqrt)
    out = [param.clone(), state_sum.clone()]
    counter = [torch.tensor(float(step - 1), dtype=torch.float64)]
    functional_adagrad(
        out[:1], [grad], out[1:], counter, foreach=False, differentiable=_taped(param, grad, state_sum),
        lr=lr, weight_decay=0.0, lr_decay=lr_decay, eps=eps, maximize=False,
    )  # fmt: skip
    return out[0], out[1]


def rnn(
    x: torch.Tensor,
    h0: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    # torch.nn.RNN itself, run with the given tensors as its parameters (functional_call), so
    # autograd differentiates w.r.t. all six. Built on the meta device: no memory, no random init.
    module = torch.nn.RNN(
        x.shape[-1], h0.shape[-1], nonlinearity="tanh", batch_first=True, device="meta", dtype=x.dtype
    )
    params = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": b_ih, "bias_hh_l0": b_hh}
    outputs, h_n = torch.func.functional_call(module, params, (x, h0.unsqueeze(0)))  # h: (layers=1, N, H)
    return outputs, h_n.squeeze(0)


def _cell_params(w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> dict[str, Any]:
    return {"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh}


def lstm_cell(
    x: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    # torch.nn.LSTMCell itself with the given tensors as its parameters (its layout: gates i, f, g, o, two biases).
    module = torch.nn.LSTMCell(x.shape[-1], h.shape[-1], device="meta", dtype=x.dtype)
    h1, c1 = torch.func.functional_call(module, _cell_params(w_ih, w_hh, b_ih, b_hh), (x, (h, c)))
    return h1, c1


def gru_cell(
    x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor
) -> torch.Tensor:
    # torch.nn.GRUCell itself (gates r, z, n; the reset gate on W_hn·h + b_hn, "linear before reset").
    module = torch.nn.GRUCell(x.shape[-1], h.shape[-1], device="meta", dtype=x.dtype)
    return torch.func.functional_call(module, _cell_params(w_ih, w_hh, b_ih, b_hh), (x, h))


def _gated_layer(kind: str, x: torch.Tensor, states: tuple[torch.Tensor, ...], weights: tuple, reverse: bool) -> Any:
    # torch.nn.LSTM or GRU itself (one layer, batch_first), the given tensors as its parameters. reverse=True runs
    # torch's own backward direction: a bidirectional layer with the same weights in both directions, of which the
    # second half of the features and the second of the stacked final states are the backward direction's.
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    module = cls(
        x.shape[-1], states[0].shape[-1], batch_first=True, bidirectional=reverse, device="meta", dtype=x.dtype
    )
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    params = {n + suffix: w for n, w in zip(names, weights, strict=True) for suffix in ("", "_reverse")[: 1 + reverse]}
    stacked = tuple(torch.stack([s] * (1 + reverse)) for s in states)  # (directions · layers, N, H)
    outputs, final = torch.func.functional_call(module, params, (x, stacked if kind == "lstm" else stacked[0]))
    hidden, which = states[0].shape[-1], int(reverse)
    finals = final if kind == "lstm" else (final,)
    return (outputs[..., which * hidden : (which + 1) * hidden], *(f[which] for f in finals))


def lstm(
    x: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    reverse: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return _gated_layer("lstm", x, (h0, c0), (w_ih, w_hh, b_ih, b_hh), reverse)


def gru(
    x: torch.Tensor,
    h0: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    reverse: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    return _gated_layer("gru", x, (h0,), (w_ih, w_hh, b_ih, b_hh), reverse)


def _hw(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v  # an int or an (h, w) pair, as torch takes them


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> torch.Tensor:
    return F.conv2d(x, weight, bias, _hw(stride), _hw(padding), _hw(dilation), groups)


def max_pool2d(x: torch.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> torch.Tensor:
    return F.max_pool2d(x, _hw(kernel_size), _hw(stride), _hw(padding))


def avg_pool2d(
    x: torch.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True
) -> torch.Tensor:
    return F.avg_pool2d(x, _hw(kernel_size), _hw(stride), _hw(padding), count_include_pad=count_include_pad)


def conv_transpose2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> torch.Tensor:
    return F.conv_transpose2d(x, weight, bias, _hw(stride), _hw(padding), _hw(output_padding), groups, _hw(dilation))


def adaptive_avg_pool2d(x: torch.Tensor, output_size: Any) -> torch.Tensor:
    return F.adaptive_avg_pool2d(x, _hw(output_size))


def interpolate(x: torch.Tensor, size: Any, mode: str = "nearest", align_corners: bool | None = None) -> torch.Tensor:
    # F.interpolate with size (never scale_factor, whose coordinate map differs: interpolate.scale_factor_coordinates).
    return F.interpolate(x, size=_hw(size), mode=mode, align_corners=align_corners)


# --- dropout and embedding -----------------------------------------------------------------------


def dropout(x: torch.Tensor, mask: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    if not training:
        return F.dropout(x, p, training=False)
    # The mask given, with PyTorch's CPU arithmetic (aten/src/ATen/native/Dropout.cpp, _dropout_impl: noise =
    # bernoulli(1 − p), noise.div_(1 − p), input·noise), so a dropped NaN stays NaN as in torch's own dropout.
    return x * (mask / (1 - p))


def random_dropout(x: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    """torch's own training-mode dropout, its generator seeded with ``seed`` (the global state restored after)."""
    with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
        torch.manual_seed(seed)
        return F.dropout(x, p, training=True)


def embedding(weight: torch.Tensor, indices: torch.Tensor, padding_idx: int | None = None) -> torch.Tensor:
    return F.embedding(indices, weight, padding_idx=padding_idx)


# --- attention -----------------------------------------------------------------------------------


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: Any = None,
    bias: torch.Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    # PyTorch takes one attn_mask, boolean (True = takes part, as canonical) or added to the scores; a
    # mask with a bias, or either with is_causal, becomes one: the bias with −∞ where a key is hidden.
    keep = None if mask is None else torch.tensor(mask, dtype=torch.bool, device=query.device)
    if causal and (keep is not None or bias is not None):
        lower = torch.ones(query.shape[-2], key.shape[-2], dtype=torch.bool, device=query.device).tril()
        keep, causal = lower if keep is None else keep & lower, False  # top left, as is_causal
    attn_mask: torch.Tensor | None = keep
    if bias is not None:
        attn_mask = bias if keep is None else torch.where(keep, bias, -torch.inf)
    return F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, is_causal=causal, scale=scale)


def multi_head_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    num_heads: int,
    q_proj_weight: torch.Tensor,
    k_proj_weight: torch.Tensor,
    v_proj_weight: torch.Tensor,
    out_proj_weight: torch.Tensor,
    in_proj_bias: torch.Tensor | None = None,
    out_proj_bias: torch.Tensor | None = None,
    mask: Any = None,
    causal: bool = False,
) -> torch.Tensor:
    # F.multi_head_attention_forward is sequence first, (L, N, E): transposed. Its boolean attn_mask means
    # True = masked OUT (the opposite of the canonical mask and of its own F.scaled_dot_product_attention), so
    # the mask is inverted; its is_causal is only a hint that attn_mask is causal, so causal joins the mask.
    lq, s = query.shape[1], key.shape[1]
    keep = torch.ones(lq, s, dtype=torch.bool, device=query.device)
    if mask is not None:
        keep = keep & torch.tensor(mask, dtype=torch.bool, device=query.device)
    if causal:
        keep = keep & torch.ones(lq, s, dtype=torch.bool, device=query.device).tril()  # top left
    attn_mask = None if mask is None and not causal else ~keep
    y, _ = F.multi_head_attention_forward(
        *(x.transpose(0, 1) for x in (query, key, value)),
        embed_dim_to_check=query.shape[-1],
        num_heads=num_heads,
        in_proj_weight=None,
        in_proj_bias=in_proj_bias,
        bias_k=None,
        bias_v=None,
        add_zero_attn=False,
        dropout_p=0.0,
        out_proj_weight=out_proj_weight,
        out_proj_bias=out_proj_bias,
        training=False,
        need_weights=False,
        attn_mask=attn_mask,
        use_separate_proj_weight=True,
        q_proj_weight=q_proj_weight,
        k_proj_weight=k_proj_weight,
        v_proj_weight=v_proj_weight,
    )
    return y.transpose(0, 1)


# torch.nn.TransformerEncoderLayer by its configuration (dropout 0, batch first), built once; each call replaces
# every parameter by the case's (torch.func.functional_call), so the module's own weights are never used.
_ENCODER_LAYERS: dict[tuple[Any, ...], torch.nn.TransformerEncoderLayer] = {}


def transformer_encoder_block(
    x: torch.Tensor,
    num_heads: int,
    in_proj_weight: torch.Tensor,
    in_proj_bias: torch.Tensor,
    out_proj_weight: torch.Tensor,
    out_proj_bias: torch.Tensor,
    linear1_weight: torch.Tensor,
    linear1_bias: torch.Tensor,
    linear2_weight: torch.Tensor,
    linear2_bias: torch.Tensor,
    norm1_weight: torch.Tensor,
    norm1_bias: torch.Tensor,
    norm2_weight: torch.Tensor,
    norm2_bias: torch.Tensor,
    norm_first: bool = False,
    activation: str = "relu",
    eps: float = 1e-5,
    causal: bool = False,
) -> torch.Tensor:
    # The module users build: nn.TransformerEncoderLayer(E, H, F, dropout=0.0, activation, layer_norm_eps,
    # batch_first=True, norm_first) in eval mode, its parameters the case's under PyTorch's own names. causal is
    # its float mask with −∞ above the diagonal (nn.Transformer.generate_square_subsequent_mask) and the hint
    # is_causal=True. When no tensor requires a gradient and num_heads is even, PyTorch takes its fused
    # torch._transformer_encoder_layer_fwd (the convention transformer.eval_fast_path): the forward checks
    # cover it there, the gradient checks the autograd path.
    e, f = x.shape[-1], linear1_weight.shape[0]
    config = (e, num_heads, f, norm_first, activation, eps, x.dtype)
    if config not in _ENCODER_LAYERS:
        _ENCODER_LAYERS[config] = torch.nn.TransformerEncoderLayer(
            e,
            num_heads,
            f,
            dropout=0.0,
            activation=activation,
            layer_norm_eps=eps,
            batch_first=True,
            norm_first=norm_first,
            dtype=x.dtype,
        ).eval()
    params = {
        "self_attn.in_proj_weight": in_proj_weight,
        "self_attn.in_proj_bias": in_proj_bias,
        "self_attn.out_proj.weight": out_proj_weight,
        "self_attn.out_proj.bias": out_proj_bias,
        "linear1.weight": linear1_weight,
        "linear1.bias": linear1_bias,
        "linear2.weight": linear2_weight,
        "linear2.bias": linear2_bias,
        "norm1.weight": norm1_weight,
        "norm1.bias": norm1_bias,
        "norm2.weight": norm2_weight,
        "norm2.bias": norm2_bias,
    }
    t = x.shape[1]
    mask = torch.nn.Transformer.generate_square_subsequent_mask(t, device=x.device, dtype=x.dtype) if causal else None
    layer = _ENCODER_LAYERS[config]
    return torch.func.functional_call(layer, params, (x,), {"src_mask": mask, "is_causal": causal})


# --- positions and perplexity: PyTorch has no op for any of them (torchtune's RotaryPositionalEmbeddings is
# not a dependency); each is composed from torch.exp, sin, cos and F.cross_entropy, as a PyTorch user writes it,
# so these checks cover those primitives, not a fused op.


def _frequencies(d: int, base: float, like: torch.Tensor) -> torch.Tensor:
    # ω_i = base^(−2i/d) as the PyTorch tutorial's div_term: exp(2i·(−log base/d)), in the tensor's dtype.
    two_i = torch.arange(0, d, 2, dtype=like.dtype, device=like.device)
    return torch.exp(two_i * (-float(np.log(base)) / d))


def sinusoidal_positional_encoding(positions: torch.Tensor, d_model: int, base: float = 10000.0) -> torch.Tensor:
    angles = positions[:, None] * _frequencies(d_model, base, positions)
    return torch.stack((torch.sin(angles), torch.cos(angles)), dim=-1).flatten(-2)  # sin, cos interleaved


def rotary_embedding(
    x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0, interleaved: bool = True
) -> torch.Tensor:
    d = x.shape[-1]
    angles = positions[:, None] * _frequencies(d, base, x)
    cos, sin = torch.cos(angles), torch.sin(angles)
    if interleaved:  # pairs (2i, 2i + 1): RoFormer, GPT-J, torchtune
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)
    a, b = x[..., : d // 2], x[..., d // 2 :]  # pairs (i, i + d/2): rotate_half (GPT-NeoX, Hugging Face Llama)
    return torch.cat((a * cos - b * sin, a * sin + b * cos), dim=-1)


def perplexity(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.exp(F.cross_entropy(logits, target))  # e^(mean loss in nats)


# --- weight initialisation: torch.nn.init ----------------------------------------------------------

_INITS = {
    "xavier_uniform": torch.nn.init.xavier_uniform_,
    "xavier_normal": torch.nn.init.xavier_normal_,
    "kaiming_uniform": torch.nn.init.kaiming_uniform_,
    "kaiming_normal": torch.nn.init.kaiming_normal_,
}


def _init_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, *kernel), as torch.nn.init's _calculate_fan_in_and_fan_out."""
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _kaiming_std(shape: tuple[int, ...], a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = _init_fans(shape)
    return torch.nn.init.calculate_gain(nonlinearity, a) / float(np.sqrt(fan_in if mode == "fan_in" else fan_out))


def _xavier_std(shape: tuple[int, ...], gain: float) -> float:
    fan_in, fan_out = _init_fans(shape)
    return gain * float(np.sqrt(2.0 / float(fan_in + fan_out)))


def _uniform_from(u: torch.Tensor, bound: float) -> torch.Tensor:
    # tensor.uniform_(−b, b) on the CPU: from + (to − from)·u (ATen's uniform_real_distribution), u given
    return u * (2.0 * bound) + (-bound)


def xavier_uniform(u: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    return _uniform_from(u, float(np.sqrt(3.0)) * _xavier_std(tuple(u.shape), gain))  # as xavier_uniform_


def xavier_normal(z: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    return z * _xavier_std(tuple(z.shape), gain)  # normal_(0, std): mean + std·z


def kaiming_uniform(
    u: torch.Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> torch.Tensor:
    return _uniform_from(u, float(np.sqrt(3.0)) * _kaiming_std(tuple(u.shape), a, mode, nonlinearity))


def kaiming_normal(
    z: torch.Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> torch.Tensor:
    return z * _kaiming_std(tuple(z.shape), a, mode, nonlinearity)


def random_init(kind: str, shape: tuple[int, ...], seed: int, dtype: str = "float32", **options: Any) -> torch.Tensor:
    """torch.nn.init's own <kind>_ on an empty (out, in, *kernel) weight, its generator seeded with ``seed``."""
    w = torch.empty(shape, dtype=getattr(torch, dtype), device=device)
    return _INITS[kind](w, **options, generator=torch.Generator(device=device).manual_seed(seed))


# --- learning-rate schedules: torch.optim.lr_scheduler, run at base rate 1 and scaled by lr ------------


def _scheduler_course(make: Any, last: int) -> list[float]:
    """The rates a torch scheduler gives at steps 0..last on an SGD optimiser of base rate 1.

    Each step is ``scheduler.step()``, the chainable, recursive form a training loop gets, with one
    ``optimizer.step()`` before the first (torch's order, so torch does not warn; no gradient, so nothing
    moves). A training loop calls ``optimizer.step()`` before every ``scheduler.step()``, but the rate
    lives in the optimizer's ``param_groups`` and the schedulers do not read the optimizer's state: the
    courses are identical, and an ``optimizer.step()`` per step made this op 6% of a full torch run. The
    schedulers keep the rate as a Python float, outside autograd, so the adapter scales the course by the
    tensor ``lr``: every torch schedule here is linear in the base rate (cosine annealing affine in
    (lr, eta_min)), and the gradient reaches lr.
    """
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make(optimizer)
    rates = [optimizer.param_groups[0]["lr"]]
    if last:
        optimizer.step()
    for _ in range(last):
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


def _course_at(rates: list[float], step: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(rates, dtype=like.dtype, device=like.device)[step]


def step_lr(lr: torch.Tensor, step: torch.Tensor, step_size: int, gamma: float = 0.1) -> torch.Tensor:
    last = int(step.max()) if step.numel() else 0
    course = _scheduler_course(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma=gamma), last)
    return lr * _course_at(course, step, lr)


def cosine_annealing_lr(lr: torch.Tensor, step: torch.Tensor, t_max: int, eta_min: float = 0.0) -> torch.Tensor:
    # CosineAnnealingLR follows the cosine back up after T_max (period 2·T_max, the convention
    # cosine_annealing_lr.after_t_max): the canonical schedule stays at eta_min, so it is read at min(t, T).
    course = _scheduler_course(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, t_max, eta_min=0.0), t_max)
    return eta_min + (lr - eta_min) * _course_at(course, torch.clamp(step, max=t_max), lr)


def linear_warmup_lr(
    lr: torch.Tensor, step: torch.Tensor, warmup_steps: int, start_factor: float = 0.0
) -> torch.Tensor:
    if start_factor == 0.0:
        raise UnsupportedCase("linear_warmup_lr: torch's LinearLR refuses start_factor = 0 (it must be > 0)")
    last = int(step.max()) if step.numel() else 0

    def make(o: Any) -> Any:
        return torch.optim.lr_scheduler.LinearLR(o, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps)

    return lr * _course_at(_scheduler_course(make, last), step, lr)


# --- gradient clipping: torch.nn.utils.clip_grad_norm_'s two halves ------------------------------------


def clip_grad_norm(grads: torch.Tensor, max_norm: float) -> torch.Tensor:
    # torch.nn.utils.get_total_norm and clip_grads_with_norm_ (the two halves of clip_grad_norm_) on
    # parameters holding grads[i] as their .grad. torch scales by max_norm/(N + 1e-6) (the convention
    # clip_grad_norm.eps): max_norm·(N + 1e-6)/N is passed so that the factor is the canonical max_norm/N.
    # Both run under no_grad (in place), so the VJP is unsupported (NOT_DIFFERENTIABLE).
    params = [torch.zeros_like(g) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    total = torch.nn.utils.get_total_norm([p.grad for p in params])
    n = float(total)
    limit = max_norm * (n + 1e-6) / n if 0.0 < n < float("inf") else max_norm
    torch.nn.utils.clip_grads_with_norm_(params, limit, total)
    return torch.stack([p.grad for p in params])


# Ops whose torch implementation runs outside autograd (no_grad, in place): their VJP is unsupported.
NOT_DIFFERENTIABLE = ("clip_grad_norm",)
