"""PyTorch's conventions, measured through ``torch`` itself; torch is imported by the first probe that runs.

Every probe runs on the CPU (torch's default device): the conventions are
measured per framework, with no device argument.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from .readings import (
    ACCUMULATION_X,
    CE2_LOGITS,
    CE2_TARGET,
    CE_LOGITS,
    F16_EXP_X,
    F16_LINEAR_OVERFLOW_X,
    F16_MAX,
    F16_MAX_STEPS,
    F16_PARTIAL_SUM_X,
    F16_SOFTMAX_CLOSE,
    F16_SOFTMAX_PLUS_MINUS,
    SUBNORMAL_X,
    TINY32,
    X3,
    XCORR_W,
    XCORR_X,
    Probe,
    Value,
    ce_input,
    extra_cell_side,
    flip,
    largest_finite,
    num,
    pad_counted,
    reduction,
    sign_of_zero,
    softmax_axis,
    softmax_pair,
    subnormal,
    tie_rule,
    variance,
)
from .reference import (
    EPS_PROBE_A,
    OFFSET_X,
    SOFTPLUS_SCAN,
    TINY_EPS,
    VARIANCE_X,
    algorithm_read,
    eps_read,
    first_identity,
    variance_read,
)

__all__ = ["PROBES"]


def _torch() -> Any:
    import torch

    return torch


def _grad(f: Callable[[Any], Any], x: Any) -> Any:
    """The gradient of ``sum(f(x))`` at ``x`` (float64), by autograd, as a NumPy array."""
    torch = _torch()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(t).sum(), t)
    return g.detach().numpy()


def leaky_relu_default_negative_slope() -> Value:
    torch = _torch()
    return num(-torch.nn.functional.leaky_relu(torch.tensor(-1.0, dtype=torch.float64)))


def leaky_relu_layer_default_negative_slope() -> Value:
    torch = _torch()
    return num(-torch.nn.LeakyReLU()(torch.tensor(-1.0, dtype=torch.float64)))


def relu_derivative_at_zero() -> Value:
    return num(_grad(_torch().nn.functional.relu, 0.0))


def leaky_relu_derivative_at_zero() -> Value:
    return num(_grad(lambda t: _torch().nn.functional.leaky_relu(t, 0.25), 0.0))


def relu_sign_of_negative_zero() -> Value:
    torch = _torch()
    return sign_of_zero(torch.nn.functional.relu(torch.tensor(-0.0, dtype=torch.float64)))


def softmax_default_axis() -> Value:
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Implicit dimension choice for softmax has been deprecated"
        return softmax_axis(torch.nn.functional.softmax(torch.tensor(X3)))


def softmax_axis_none() -> Value:
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return softmax_axis(torch.nn.functional.softmax(torch.tensor(X3), dim=None))


def cross_entropy_default_input() -> Value:
    torch = _torch()
    return ce_input(torch.nn.functional.cross_entropy(torch.tensor(CE_LOGITS), torch.tensor([1])))


def cross_entropy_default_reduction() -> Value:
    torch = _torch()
    logits = torch.tensor(CE2_LOGITS, dtype=torch.float64)
    return reduction(torch.nn.functional.cross_entropy(logits, torch.tensor(CE2_TARGET)))


def binary_cross_entropy_loss_at_zero_probability() -> Value:
    torch = _torch()
    return num(torch.nn.functional.binary_cross_entropy(torch.tensor([0.0]), torch.tensor([1.0])))


def avg_pool2d_counts_padding() -> Value:
    torch = _torch()
    return pad_counted(torch.nn.functional.avg_pool2d(torch.ones(1, 1, 2, 2), 2, stride=1, padding=1)[0, 0, 0, 0])


def padding_same_extra_cell() -> Value:
    torch = _torch()
    x = torch.tensor([[[[1.0, 2.0, 3.0, 4.0]]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "padding='same' with even kernel lengths ... may require a copy"
        return extra_cell_side(torch.nn.functional.conv2d(x, torch.ones(1, 1, 1, 2), padding="same")[0, 0, 0, 0])


def variance_default_correction() -> Value:
    torch = _torch()
    return variance(torch.var(torch.tensor([1.0, 2.0, 3.0, 4.0])))


def max_pool2d_gradient_on_ties() -> Value:
    return tie_rule(_grad(lambda t: _torch().nn.functional.max_pool2d(t, 2), [[[[1.0, 1.0], [1.0, 1.0]]]]))


def sigmoid_subnormal_result() -> Value:
    torch = _torch()
    return subnormal(torch.sigmoid(torch.tensor(SUBNORMAL_X, dtype=torch.float32)))


def float32_subnormal_arithmetic() -> Value:
    torch = _torch()
    return subnormal(torch.tensor(TINY32, dtype=torch.float32) * torch.tensor(0.5, dtype=torch.float32))


def conv2d_flips_kernel() -> Value:
    torch = _torch()
    return flip(torch.nn.functional.conv2d(torch.tensor(XCORR_X), torch.tensor(XCORR_W)))


def rnn_bias_vectors() -> Value:
    return sum(1 for n, _ in _torch().nn.RNN(1, 1).named_parameters() if n.startswith("bias"))


def _half(x: Any, dtype: str = "float16") -> Any:
    torch = _torch()
    return torch.tensor(x, dtype=getattr(torch, dtype))


def float16_exp_overflow() -> Value:
    return num(_torch().exp(_half(F16_EXP_X)))


def float16_largest_finite() -> Value:
    return largest_finite(_half([F16_MAX] * 2) + _half(list(F16_MAX_STEPS)))


def float16_softmax_of_logits_plus_minus_1e4() -> Value:
    return softmax_pair(_torch().nn.functional.softmax(_half(F16_SOFTMAX_PLUS_MINUS), dim=-1))


def float16_softmax_of_logits_1e4_and_9992() -> Value:
    return softmax_pair(_torch().nn.functional.softmax(_half(F16_SOFTMAX_CLOSE), dim=-1))


def _linear_of_ones(x: list[list[float]], dtype: str = "float16") -> Any:
    """``torch.nn.functional.linear(x, weight=ones)`` in ``dtype``: one logit, the dot product x · ones."""
    return _torch().nn.functional.linear(_half(x, dtype), _half([[1.0] * len(x[0])], dtype))[0, 0]


def float16_linear_overflow() -> Value:
    return num(_linear_of_ones(F16_LINEAR_OVERFLOW_X))


def float16_linear_partial_sum_overflow() -> Value:
    return num(_linear_of_ones(F16_PARTIAL_SUM_X))


def float16_sum_accumulation() -> Value:
    return num(_torch().sum(_half(ACCUMULATION_X["float16"])))


def float16_linear_accumulation() -> Value:
    return num(_linear_of_ones([ACCUMULATION_X["float16"]]))


def bfloat16_sum_accumulation() -> Value:
    return num(_torch().sum(_half(ACCUMULATION_X["bfloat16"], "bfloat16")).float())


def bfloat16_linear_accumulation() -> Value:
    return num(_linear_of_ones([ACCUMULATION_X["bfloat16"]], "bfloat16").float())


def gelu_default_form() -> Value:
    torch = _torch()
    return num(torch.nn.functional.gelu(torch.tensor(1.0, dtype=torch.float64)))


def elu_default_alpha() -> Value:
    torch = _torch()
    return num(-torch.nn.functional.elu(torch.tensor(-100.0, dtype=torch.float64)))


def softplus_threshold() -> Value:
    torch = _torch()
    return first_identity(SOFTPLUS_SCAN, torch.nn.functional.softplus(torch.tensor(SOFTPLUS_SCAN)).numpy())


def softplus_has_beta() -> Value:
    torch = _torch()
    try:
        torch.nn.functional.softplus(torch.tensor([1.0]), beta=2.0)
    except TypeError:
        return False
    return True


def _f64(values: object) -> Any:
    torch = _torch()
    return torch.tensor(values, dtype=torch.float64)


def layer_norm_default_eps() -> Value:
    return eps_read(_torch().nn.functional.layer_norm(_f64([-EPS_PROBE_A, EPS_PROBE_A]), [2]))


def layer_norm_variance() -> Value:
    return variance_read(_torch().nn.functional.layer_norm(_f64(VARIANCE_X), [4], eps=TINY_EPS))


def layer_norm_variance_algorithm() -> Value:
    return algorithm_read(_torch().nn.functional.layer_norm(_f64(OFFSET_X), [4], eps=TINY_EPS))


def rms_norm_default_eps() -> Value:
    return eps_read(_torch().nn.functional.rms_norm(_f64([EPS_PROBE_A, EPS_PROBE_A]), [2]))


def group_norm_default_eps() -> Value:
    return eps_read(_torch().nn.functional.group_norm(_f64([[-EPS_PROBE_A, EPS_PROBE_A]]), 1))


def group_norm_variance() -> Value:
    return variance_read(_torch().nn.functional.group_norm(_f64([VARIANCE_X]), 1, eps=TINY_EPS))


PROBES: tuple[Probe, ...] = (
    Probe("leaky_relu.default_negative_slope", "torch.nn.functional.leaky_relu", leaky_relu_default_negative_slope),
    Probe("leaky_relu.layer_default_negative_slope", "torch.nn.LeakyReLU()", leaky_relu_layer_default_negative_slope),
    Probe("relu.derivative_at_zero", "torch.nn.functional.relu + autograd", relu_derivative_at_zero),
    Probe("leaky_relu.derivative_at_zero", "torch.nn.functional.leaky_relu + autograd", leaky_relu_derivative_at_zero),
    Probe("relu.sign_of_negative_zero", "torch.nn.functional.relu", relu_sign_of_negative_zero),
    Probe("softmax.default_axis", "torch.nn.functional.softmax (no dim)", softmax_default_axis),
    Probe("softmax.axis_none", "torch.nn.functional.softmax(dim=None)", softmax_axis_none),
    Probe("cross_entropy.default_input", "torch.nn.functional.cross_entropy", cross_entropy_default_input),
    Probe("cross_entropy.default_reduction", "torch.nn.functional.cross_entropy", cross_entropy_default_reduction),
    Probe(
        "binary_cross_entropy.loss_at_zero_probability",
        "torch.nn.functional.binary_cross_entropy",
        binary_cross_entropy_loss_at_zero_probability,
    ),
    Probe("avg_pool2d.counts_padding", "torch.nn.functional.avg_pool2d(padding=1)", avg_pool2d_counts_padding),
    Probe("padding.same_extra_cell", "torch.nn.functional.conv2d(padding='same')", padding_same_extra_cell),
    Probe("variance.default_correction", "torch.var", variance_default_correction),
    Probe("max_pool2d.gradient_on_ties", "torch.nn.functional.max_pool2d + autograd", max_pool2d_gradient_on_ties),
    Probe("sigmoid.subnormal_result", "torch.sigmoid (float32)", sigmoid_subnormal_result),
    Probe("float32.subnormal_arithmetic", "torch.Tensor * (float32, cpu)", float32_subnormal_arithmetic),
    Probe("conv2d.flips_kernel", "torch.nn.functional.conv2d", conv2d_flips_kernel),
    Probe("rnn.bias_vectors", "torch.nn.RNN", rnn_bias_vectors),
    Probe("float16.exp_overflow", "torch.exp (float16, cpu)", float16_exp_overflow),
    Probe("float16.largest_finite", "torch.Tensor + (float16, cpu)", float16_largest_finite),
    Probe(
        "float16.softmax_of_logits_plus_minus_1e4",
        "torch.nn.functional.softmax (float16, cpu)",
        float16_softmax_of_logits_plus_minus_1e4,
    ),
    Probe(
        "float16.softmax_of_logits_1e4_and_9992",
        "torch.nn.functional.softmax (float16, cpu)",
        float16_softmax_of_logits_1e4_and_9992,
    ),
    Probe("float16.linear_overflow", "torch.nn.functional.linear (float16, cpu)", float16_linear_overflow),
    Probe(
        "float16.linear_partial_sum_overflow",
        "torch.nn.functional.linear (float16, cpu)",
        float16_linear_partial_sum_overflow,
    ),
    Probe("float16.sum_accumulation", "torch.sum (float16, cpu)", float16_sum_accumulation),
    Probe("float16.linear_accumulation", "torch.nn.functional.linear (float16, cpu)", float16_linear_accumulation),
    Probe("bfloat16.sum_accumulation", "torch.sum (bfloat16, cpu)", bfloat16_sum_accumulation),
    Probe(
        "bfloat16.linear_accumulation",
        "torch.nn.functional.linear (bfloat16, cpu)",
        bfloat16_linear_accumulation,
    ),
    Probe("gelu.default_form", "torch.nn.functional.gelu", gelu_default_form),
    Probe("elu.default_alpha", "torch.nn.functional.elu", elu_default_alpha),
    Probe("softplus.threshold", "torch.nn.functional.softplus (float64)", softplus_threshold),
    Probe("softplus.has_beta", "torch.nn.functional.softplus(x, beta=2.0)", softplus_has_beta),
    Probe("layer_norm.default_eps", "torch.nn.functional.layer_norm", layer_norm_default_eps),
    Probe("layer_norm.variance", "torch.nn.functional.layer_norm", layer_norm_variance),
    Probe("layer_norm.variance_algorithm", "torch.nn.functional.layer_norm (float64)", layer_norm_variance_algorithm),
    Probe("rms_norm.default_eps", "torch.nn.functional.rms_norm (float64)", rms_norm_default_eps),
    Probe("group_norm.default_eps", "torch.nn.functional.group_norm", group_norm_default_eps),
    Probe("group_norm.variance", "torch.nn.functional.group_norm", group_norm_variance),
)
