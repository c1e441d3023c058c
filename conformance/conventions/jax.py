"""JAX's conventions, measured through ``jax`` itself; jax is imported by the first probe that runs."""

from __future__ import annotations

from typing import Any

import numpy as np

from .readings import (
    SUBNORMAL_X,
    TINY32,
    X3,
    XCORR_W,
    XCORR_X,
    Probe,
    Value,
    extra_cell_side,
    flip,
    num,
    sign_of_zero,
    softmax_axis,
    subnormal,
    tie_rule,
    variance,
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
)
