"""PyTorch as a backend: ``torch`` / ``torch.nn.functional`` ops and autograd ``vjp``.

The canonical semantics are PyTorch's own layouts (NCHW, OIHW, batch-first
RNNs with two biases), so most ops are a direct call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

name = "torch"
version = torch.__version__
dtypes = ("float16", "bfloat16", "float32", "float64")
device = torch.device("cpu")


def facts() -> dict[str, Any]:
    return {"device": str(device)}


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


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return F.mse_loss(input, target, reduction=reduction)


def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return F.binary_cross_entropy(input, target, reduction=reduction)  # clamps each log at -100


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return F.cross_entropy(logits, target, reduction=reduction)


def sgd_step(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
    # The kernel torch.optim.SGD applies (param.add_(grad, alpha=-lr)), out of place so that
    # autograd can differentiate it; tests check torch.optim.SGD itself against the reference.
    return torch.add(param, grad, alpha=-lr)


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
