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
from torch.optim.adam import adam as functional_adam

from ..checks import Unsupported

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
    inputs = [p.detach().clone().requires_grad_(True) for p in primals]
    out = fn(*inputs)
    grads = torch.autograd.grad(out, inputs, grad_outputs=cotangent, allow_unused=True)
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
