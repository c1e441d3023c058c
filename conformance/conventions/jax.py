"""JAX's conventions, measured through ``jax`` itself; jax is imported by the first probe that runs."""

from __future__ import annotations

from typing import Any

import numpy as np

from .readings import (
    ACCUMULATION_X,
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
    extra_cell_side,
    flip,
    largest_finite,
    num,
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


def _jax() -> Any:
    import jax

    return jax


def leaky_relu_default_negative_slope() -> Value:
    return num(-_jax().nn.leaky_relu(-1.0))


def relu_derivative_at_zero() -> Value:
    jax = _jax()
    return num(jax.grad(jax.nn.relu)(0.0))


def leaky_relu_derivative_at_zero() -> Value:
    jax = _jax()
    return num(jax.grad(lambda x: jax.nn.leaky_relu(x, 0.25))(0.0))


def relu_sign_of_negative_zero() -> Value:
    return sign_of_zero(_jax().nn.relu(-0.0))


def softmax_default_axis() -> Value:
    return softmax_axis(_jax().nn.softmax(X3))


def softmax_axis_none() -> Value:
    return softmax_axis(_jax().nn.softmax(X3, axis=None))


def padding_same_extra_cell() -> Value:
    jax = _jax()
    x = np.array([[[[1.0, 2.0, 3.0, 4.0]]]], dtype=np.float32)
    y = jax.lax.conv_general_dilated(x, np.ones((1, 1, 1, 2), np.float32), (1, 1), "SAME")
    return extra_cell_side(y[0, 0, 0, 0])


def variance_default_correction() -> Value:
    return variance(_jax().numpy.var(np.array([1.0, 2.0, 3.0, 4.0], np.float32)))


def max_pool2d_gradient_on_ties() -> Value:
    jax = _jax()

    def pool(x: Any) -> Any:
        return jax.lax.reduce_window(x, -np.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID").sum()

    return tie_rule(jax.grad(pool)(np.ones((1, 1, 2, 2), np.float32)))


def sigmoid_subnormal_result() -> Value:
    return subnormal(_jax().nn.sigmoid(np.float32(SUBNORMAL_X)))


def float32_subnormal_arithmetic() -> Value:
    jnp = _jax().numpy
    return subnormal(jnp.multiply(jnp.float32(TINY32), jnp.float32(0.5)))


def conv2d_flips_kernel() -> Value:
    jax = _jax()
    x, w = np.asarray(XCORR_X, np.float32), np.asarray(XCORR_W, np.float32)
    return flip(jax.lax.conv_general_dilated(x, w, (1, 1), "VALID"))


def _half(x: Any, dtype: str = "float16") -> Any:
    jnp = _jax().numpy
    return jnp.asarray(x, dtype=getattr(jnp, dtype))


def float16_exp_overflow() -> Value:
    return num(_jax().numpy.exp(_half(F16_EXP_X)))


def float16_largest_finite() -> Value:
    return largest_finite(_half([F16_MAX] * 2) + _half(list(F16_MAX_STEPS)))


def float16_softmax_of_logits_plus_minus_1e4() -> Value:
    return softmax_pair(_jax().nn.softmax(_half(F16_SOFTMAX_PLUS_MINUS)))


def float16_softmax_of_logits_1e4_and_9992() -> Value:
    return softmax_pair(_jax().nn.softmax(_half(F16_SOFTMAX_CLOSE)))


def _matmul_of_ones(x: list[list[float]], dtype: str = "float16") -> Value:
    """``jax.numpy.matmul(x, ones)`` in ``dtype`` (default precision and preferred_element_type)."""
    a = _half(x, dtype)
    return num(_jax().numpy.matmul(a, _half([[1.0]] * a.shape[1], dtype))[0, 0].astype("float32"))


def float16_linear_overflow() -> Value:
    return _matmul_of_ones(F16_LINEAR_OVERFLOW_X)


def float16_linear_partial_sum_overflow() -> Value:
    return _matmul_of_ones(F16_PARTIAL_SUM_X)


def float16_sum_accumulation() -> Value:
    return num(_jax().numpy.sum(_half(ACCUMULATION_X["float16"])))


def float16_linear_accumulation() -> Value:
    return _matmul_of_ones([ACCUMULATION_X["float16"]])


def bfloat16_sum_accumulation() -> Value:
    return num(_jax().numpy.sum(_half(ACCUMULATION_X["bfloat16"], "bfloat16")).astype("float32"))


def bfloat16_linear_accumulation() -> Value:
    return _matmul_of_ones([ACCUMULATION_X["bfloat16"]], "bfloat16")


def gelu_default_form() -> Value:
    return num(_jax().nn.gelu(1.0))


def elu_default_alpha() -> Value:
    return num(-_jax().nn.elu(-100.0))


def softplus_threshold() -> Value:
    jax = _jax()
    with jax.enable_x64(True):
        return first_identity(SOFTPLUS_SCAN, jax.nn.softplus(jax.numpy.asarray(SOFTPLUS_SCAN)))


def softplus_has_beta() -> Value:
    jax = _jax()
    try:
        jax.nn.softplus(1.0, beta=2.0)
    except TypeError:
        return False
    return True


def _standardize(values: object, **kwargs: Any) -> Any:
    jax = _jax()
    with jax.enable_x64(True):
        return jax.nn.standardize(jax.numpy.asarray(values, dtype=jax.numpy.float64), **kwargs)


def layer_norm_default_eps() -> Value:
    return eps_read(_standardize([-EPS_PROBE_A, EPS_PROBE_A]))


def layer_norm_variance() -> Value:
    return variance_read(_standardize(VARIANCE_X, epsilon=TINY_EPS))


def layer_norm_variance_algorithm() -> Value:
    return algorithm_read(_standardize(OFFSET_X, epsilon=TINY_EPS))


PROBES: tuple[Probe, ...] = (
    Probe("leaky_relu.default_negative_slope", "jax.nn.leaky_relu", leaky_relu_default_negative_slope),
    Probe("relu.derivative_at_zero", "jax.grad(jax.nn.relu)", relu_derivative_at_zero),
    Probe("leaky_relu.derivative_at_zero", "jax.grad(jax.nn.leaky_relu)", leaky_relu_derivative_at_zero),
    Probe("relu.sign_of_negative_zero", "jax.nn.relu", relu_sign_of_negative_zero),
    Probe("softmax.default_axis", "jax.nn.softmax (no axis)", softmax_default_axis),
    Probe("softmax.axis_none", "jax.nn.softmax(axis=None)", softmax_axis_none),
    Probe("padding.same_extra_cell", "jax.lax.conv_general_dilated(padding='SAME')", padding_same_extra_cell),
    Probe("variance.default_correction", "jax.numpy.var", variance_default_correction),
    Probe("max_pool2d.gradient_on_ties", "jax.grad of jax.lax.reduce_window(max)", max_pool2d_gradient_on_ties),
    Probe("sigmoid.subnormal_result", "jax.nn.sigmoid (float32)", sigmoid_subnormal_result),
    Probe(
        "float32.subnormal_arithmetic",
        "jax.numpy.multiply (float32, default device)",
        float32_subnormal_arithmetic,
    ),
    Probe("conv2d.flips_kernel", "jax.lax.conv_general_dilated", conv2d_flips_kernel),
    Probe("float16.exp_overflow", "jax.numpy.exp (float16, default device)", float16_exp_overflow),
    Probe("float16.largest_finite", "jax.numpy.add (float16, default device)", float16_largest_finite),
    Probe(
        "float16.softmax_of_logits_plus_minus_1e4",
        "jax.nn.softmax (float16, default device)",
        float16_softmax_of_logits_plus_minus_1e4,
    ),
    Probe(
        "float16.softmax_of_logits_1e4_and_9992",
        "jax.nn.softmax (float16, default device)",
        float16_softmax_of_logits_1e4_and_9992,
    ),
    Probe("float16.linear_overflow", "jax.numpy.matmul (float16, default device)", float16_linear_overflow),
    Probe(
        "float16.linear_partial_sum_overflow",
        "jax.numpy.matmul (float16, default device)",
        float16_linear_partial_sum_overflow,
    ),
    Probe("float16.sum_accumulation", "jax.numpy.sum (float16, default device)", float16_sum_accumulation),
    Probe("float16.linear_accumulation", "jax.numpy.matmul (float16, default device)", float16_linear_accumulation),
    Probe("bfloat16.sum_accumulation", "jax.numpy.sum (bfloat16, default device)", bfloat16_sum_accumulation),
    Probe(
        "bfloat16.linear_accumulation",
        "jax.numpy.matmul (bfloat16, default device)",
        bfloat16_linear_accumulation,
    ),
    Probe("gelu.default_form", "jax.nn.gelu", gelu_default_form),
    Probe("elu.default_alpha", "jax.nn.elu", elu_default_alpha),
    Probe("softplus.threshold", "jax.nn.softplus (float64)", softplus_threshold),
    Probe("softplus.has_beta", "jax.nn.softplus(x, beta=2.0)", softplus_has_beta),
    Probe("layer_norm.default_eps", "jax.nn.standardize (JAX has no layer norm)", layer_norm_default_eps),
    Probe("layer_norm.variance", "jax.nn.standardize", layer_norm_variance),
    Probe("layer_norm.variance_algorithm", "jax.nn.standardize (float64)", layer_norm_variance_algorithm),
)
