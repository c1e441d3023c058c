"""TensorFlow's and Keras's conventions, measured through ``tf`` and ``keras`` (imported by the first probe run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

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


def _tf() -> Any:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _keras() -> Any:
    _tf()
    import keras

    return keras


def _grad(f: Callable[[Any], Any], x: Any) -> Any:
    """The gradient of ``sum(f(x))`` at ``x`` (float64), by ``tf.GradientTape``, as a NumPy array."""
    tf = _tf()
    t = tf.constant(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = tf.reduce_sum(f(t))
    return tape.gradient(y, t).numpy()


def leaky_relu_default_negative_slope() -> Value:
    tf = _tf()
    return num(-tf.nn.leaky_relu(tf.constant(-1.0, tf.float64)))


def leaky_relu_layer_default_negative_slope() -> Value:
    return num(-_keras().layers.LeakyReLU()(np.array([-1.0], np.float32))[0])


def relu_derivative_at_zero() -> Value:
    return num(_grad(_tf().nn.relu, 0.0))


def leaky_relu_derivative_at_zero() -> Value:
    return num(_grad(lambda t: _tf().nn.leaky_relu(t, alpha=0.25), 0.0))


def relu_sign_of_negative_zero() -> Value:
    tf = _tf()
    return sign_of_zero(tf.nn.relu(tf.constant(-0.0, tf.float64)))


def softmax_default_axis() -> Value:
    return softmax_axis(_tf().nn.softmax(X3))


def softmax_axis_none() -> Value:
    return softmax_axis(_tf().nn.softmax(X3, axis=None))


def cross_entropy_default_input() -> Value:
    return ce_input(_keras().losses.SparseCategoricalCrossentropy()(np.array([1]), np.array(CE_LOGITS)))


def cross_entropy_default_reduction() -> Value:
    loss = _keras().losses.SparseCategoricalCrossentropy(from_logits=True)
    return reduction(loss(np.array(CE2_TARGET), np.array(CE2_LOGITS)))


def binary_cross_entropy_loss_at_zero_probability() -> Value:
    return num(_keras().losses.BinaryCrossentropy()(np.array([1.0]), np.array([0.0])))


def avg_pool2d_counts_padding() -> Value:
    # TF's only padded average pool is "SAME": a 2×2 window, stride 1, on 2×2 ones pads the end by 1.
    y = _tf().nn.avg_pool2d(np.ones((1, 2, 2, 1), np.float32), 2, 1, "SAME")
    return pad_counted(y[0, -1, -1, 0])


def padding_same_extra_cell() -> Value:
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32).reshape(1, 1, 4, 1)  # NHWC
    return extra_cell_side(_tf().nn.conv2d(x, np.ones((1, 2, 1, 1), np.float32), 1, "SAME")[0, 0, 0, 0])


def variance_default_correction() -> Value:
    return variance(_tf().math.reduce_variance(np.array([1.0, 2.0, 3.0, 4.0], np.float32)))


def max_pool2d_gradient_on_ties() -> Value:
    return tie_rule(_grad(lambda t: _tf().nn.max_pool2d(t, 2, 2, "VALID"), np.ones((1, 2, 2, 1))))


def sigmoid_subnormal_result() -> Value:
    tf = _tf()
    return subnormal(tf.math.sigmoid(tf.constant(SUBNORMAL_X, tf.float32)))


def float32_subnormal_arithmetic() -> Value:
    tf = _tf()
    return subnormal(tf.math.multiply(tf.constant(TINY32, tf.float32), tf.constant(0.5, tf.float32)))


def conv2d_flips_kernel() -> Value:
    x = np.asarray(XCORR_X, np.float32).transpose(0, 2, 3, 1)  # NHWC
    w = np.asarray(XCORR_W, np.float32).transpose(2, 3, 1, 0)  # HWIO
    return flip(_tf().nn.conv2d(x, w, 1, "VALID"))


def rnn_bias_vectors() -> Value:
    layer = _keras().layers.SimpleRNN(1)
    layer.build((None, None, 1))
    return sum(1 for v in layer.trainable_variables if "bias" in v.path)


def _half(x: Any, dtype: str = "float16") -> Any:
    tf = _tf()
    return tf.constant(x, dtype=getattr(tf, dtype))


def float16_exp_overflow() -> Value:
    return num(_tf().math.exp(_half(F16_EXP_X)))


def float16_largest_finite() -> Value:
    return largest_finite(_tf().math.add(_half([F16_MAX] * 2), _half(list(F16_MAX_STEPS))))


def float16_softmax_of_logits_plus_minus_1e4() -> Value:
    return softmax_pair(_tf().nn.softmax(_half(F16_SOFTMAX_PLUS_MINUS)))


def float16_softmax_of_logits_1e4_and_9992() -> Value:
    return softmax_pair(_tf().nn.softmax(_half(F16_SOFTMAX_CLOSE)))


def _matmul_of_ones(x: list[list[float]], dtype: str = "float16") -> Value:
    """``tf.linalg.matmul(x, ones)`` in ``dtype``: the dot product x · ones, as a Dense layer computes it."""
    tf = _tf()
    a = _half(x, dtype)
    return num(tf.cast(tf.linalg.matmul(a, _half([[1.0]] * a.shape[1], dtype))[0, 0], tf.float32))


def float16_linear_overflow() -> Value:
    return _matmul_of_ones(F16_LINEAR_OVERFLOW_X)


def float16_linear_partial_sum_overflow() -> Value:
    return _matmul_of_ones(F16_PARTIAL_SUM_X)


def float16_sum_accumulation() -> Value:
    return num(_tf().math.reduce_sum(_half(ACCUMULATION_X["float16"])))


def float16_linear_accumulation() -> Value:
    return _matmul_of_ones([ACCUMULATION_X["float16"]])


def bfloat16_sum_accumulation() -> Value:
    tf = _tf()
    return num(tf.cast(tf.math.reduce_sum(_half(ACCUMULATION_X["bfloat16"], "bfloat16")), tf.float32))


def bfloat16_linear_accumulation() -> Value:
    return _matmul_of_ones([ACCUMULATION_X["bfloat16"]], "bfloat16")


def gelu_default_form() -> Value:
    tf = _tf()
    return num(tf.nn.gelu(tf.constant(1.0, tf.float64)))


def elu_default_alpha() -> Value:
    tf = _tf()
    return num(-tf.nn.elu(tf.constant(-100.0, tf.float64)))


def softplus_threshold() -> Value:
    tf = _tf()
    return first_identity(SOFTPLUS_SCAN, tf.math.softplus(tf.constant(SOFTPLUS_SCAN, tf.float64)).numpy())


def softplus_has_beta() -> Value:
    tf = _tf()
    try:
        tf.math.softplus(tf.constant([1.0]), beta=2.0)
    except TypeError:
        return False
    return True


def _keras_layer(kind: str, values: object, **kwargs: Any) -> Any:
    """A Keras normalization layer built with its defaults (but ``kwargs``), in float64, applied to ``values``."""
    import keras

    return getattr(keras.layers, kind)(dtype="float64", **kwargs)(np.asarray(values, dtype=np.float64)).numpy()


def layer_norm_default_eps() -> Value:
    return eps_read(_keras_layer("LayerNormalization", [[-EPS_PROBE_A, EPS_PROBE_A]]))


def layer_norm_variance() -> Value:
    return variance_read(_keras_layer("LayerNormalization", [VARIANCE_X], epsilon=TINY_EPS))


def layer_norm_variance_algorithm() -> Value:
    return algorithm_read(_keras_layer("LayerNormalization", [OFFSET_X], epsilon=TINY_EPS))


def rms_norm_default_eps() -> Value:
    return eps_read(_keras_layer("RMSNormalization", [[EPS_PROBE_A, EPS_PROBE_A]]))


def group_norm_default_eps() -> Value:
    # Keras puts channels last: two channels of one position, one group.
    return eps_read(_keras_layer("GroupNormalization", [[-EPS_PROBE_A, EPS_PROBE_A]], groups=1))


def group_norm_variance() -> Value:
    return variance_read(_keras_layer("GroupNormalization", [VARIANCE_X], groups=1, epsilon=TINY_EPS))


PROBES: tuple[Probe, ...] = (
    Probe("leaky_relu.default_negative_slope", "tf.nn.leaky_relu", leaky_relu_default_negative_slope),
    Probe(
        "leaky_relu.layer_default_negative_slope",
        "keras.layers.LeakyReLU()",
        leaky_relu_layer_default_negative_slope,
    ),
    Probe("relu.derivative_at_zero", "tf.nn.relu + tf.GradientTape", relu_derivative_at_zero),
    Probe("leaky_relu.derivative_at_zero", "tf.nn.leaky_relu + tf.GradientTape", leaky_relu_derivative_at_zero),
    Probe("relu.sign_of_negative_zero", "tf.nn.relu", relu_sign_of_negative_zero),
    Probe("softmax.default_axis", "tf.nn.softmax (no axis)", softmax_default_axis),
    Probe("softmax.axis_none", "tf.nn.softmax(axis=None)", softmax_axis_none),
    Probe(
        "cross_entropy.default_input",
        "keras.losses.SparseCategoricalCrossentropy()",
        cross_entropy_default_input,
    ),
    Probe(
        "cross_entropy.default_reduction",
        "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
        cross_entropy_default_reduction,
    ),
    Probe(
        "binary_cross_entropy.loss_at_zero_probability",
        "keras.losses.BinaryCrossentropy()",
        binary_cross_entropy_loss_at_zero_probability,
    ),
    Probe("avg_pool2d.counts_padding", "tf.nn.avg_pool2d(padding='SAME')", avg_pool2d_counts_padding),
    Probe("padding.same_extra_cell", "tf.nn.conv2d(padding='SAME')", padding_same_extra_cell),
    Probe("variance.default_correction", "tf.math.reduce_variance", variance_default_correction),
    Probe("max_pool2d.gradient_on_ties", "tf.nn.max_pool2d + tf.GradientTape", max_pool2d_gradient_on_ties),
    Probe("sigmoid.subnormal_result", "tf.math.sigmoid (float32)", sigmoid_subnormal_result),
    Probe(
        "float32.subnormal_arithmetic",
        "tf.math.multiply (float32, default device)",
        float32_subnormal_arithmetic,
    ),
    Probe("conv2d.flips_kernel", "tf.nn.conv2d", conv2d_flips_kernel),
    Probe("rnn.bias_vectors", "keras.layers.SimpleRNN", rnn_bias_vectors),
    Probe("float16.exp_overflow", "tf.math.exp (float16, default device)", float16_exp_overflow),
    Probe("float16.largest_finite", "tf.math.add (float16, default device)", float16_largest_finite),
    Probe(
        "float16.softmax_of_logits_plus_minus_1e4",
        "tf.nn.softmax (float16, default device)",
        float16_softmax_of_logits_plus_minus_1e4,
    ),
    Probe(
        "float16.softmax_of_logits_1e4_and_9992",
        "tf.nn.softmax (float16, default device)",
        float16_softmax_of_logits_1e4_and_9992,
    ),
    Probe("float16.linear_overflow", "tf.linalg.matmul (float16, default device)", float16_linear_overflow),
    Probe(
        "float16.linear_partial_sum_overflow",
        "tf.linalg.matmul (float16, default device)",
        float16_linear_partial_sum_overflow,
    ),
    Probe("float16.sum_accumulation", "tf.math.reduce_sum (float16, default device)", float16_sum_accumulation),
    Probe(
        "float16.linear_accumulation",
        "tf.linalg.matmul (float16, default device)",
        float16_linear_accumulation,
    ),
    Probe("bfloat16.sum_accumulation", "tf.math.reduce_sum (bfloat16, default device)", bfloat16_sum_accumulation),
    Probe(
        "bfloat16.linear_accumulation",
        "tf.linalg.matmul (bfloat16, default device)",
        bfloat16_linear_accumulation,
    ),
    Probe("gelu.default_form", "tf.nn.gelu", gelu_default_form),
    Probe("elu.default_alpha", "tf.nn.elu", elu_default_alpha),
    Probe("softplus.threshold", "tf.math.softplus (float64)", softplus_threshold),
    Probe("softplus.has_beta", "tf.math.softplus(x, beta=2.0)", softplus_has_beta),
    Probe("layer_norm.default_eps", "keras.layers.LayerNormalization()", layer_norm_default_eps),
    Probe("layer_norm.variance", "keras.layers.LayerNormalization()", layer_norm_variance),
    Probe(
        "layer_norm.variance_algorithm", "keras.layers.LayerNormalization() (float64)", layer_norm_variance_algorithm
    ),
    Probe("rms_norm.default_eps", "keras.layers.RMSNormalization()", rms_norm_default_eps),
    Probe("group_norm.default_eps", "keras.layers.GroupNormalization(groups=1)", group_norm_default_eps),
    Probe("group_norm.variance", "keras.layers.GroupNormalization(groups=1)", group_norm_variance),
)
