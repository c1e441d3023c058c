"""TensorFlow's and Keras's conventions, measured through ``tf`` and ``keras`` (imported by the first probe run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import readings
from . import reference as reference_conventions
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
    ADAM_BIG_GRAD,
    ADAM_DECAY,
    ADAM_PROBE_EPS,
    ADAM_PROBE_GRAD,
    ADAM_PROBE_LR,
    BN_BATCH,
    BN_MOMENTUM,
    EPS_PROBE_A,
    HUBER_RESIDUAL,
    KL_BATCH_LOG_Q,
    KL_BATCH_P,
    KL_PREDICTION,
    KL_TARGET,
    OFFSET_X,
    SCALING_BETA,
    SCALING_RESIDUAL,
    SOFTPLUS_SCAN,
    TINY_EPS,
    VARIANCE_X,
    adagrad_first_step_read,
    algorithm_read,
    eps_placement_read,
    eps_read,
    first_identity,
    float64_step_read,
    huber_delta_read,
    kl_clip_read,
    kl_input_read,
    kl_reduction_read,
    kl_tiny_log_q,
    momentum_read,
    running_variance_read,
    scaling_read,
    variance_read,
    weight_decay_read,
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


def _keras_gated(kind: str, bias: list[float], h: list[float], c: float = 0.0, w_hh_n: Any = None) -> Any:
    """keras.layers.LSTMCell or GRUCell (defaults, float64, in = 1, H = len(h)) with zero kernels but the given
    input bias in Keras' own block order (and the candidate's block of the recurrent kernel, as (H, H) rows of
    W_hn), at x = 0: (h′, c′) of the first unit, or the GRU's h′."""
    keras = _keras()
    hidden = len(h)
    cell = (keras.layers.LSTMCell if kind == "lstm" else keras.layers.GRUCell)(hidden, dtype="float64")
    cell.build((None, 1))
    cell.kernel.assign(np.zeros(cell.kernel.shape))
    recurrent = np.zeros(cell.recurrent_kernel.shape)
    if w_hh_n is not None:
        recurrent[:, 2 * hidden :] = np.asarray(w_hh_n, dtype=np.float64).T
    cell.recurrent_kernel.assign(recurrent)
    b = np.zeros(cell.bias.shape)
    b.reshape(-1, b.shape[-1])[0] = bias  # the GRU's (2, 3H) bias: its first row is the input side
    cell.bias.assign(b)
    x, state = np.zeros((1, 1)), np.asarray([h], dtype=np.float64)
    if kind == "lstm":
        _, (h1, c1) = cell(x, [state, np.full((1, hidden), c)])
        return float(h1[0, 0]), float(c1[0, 0])
    h1, _ = cell(x, [state])
    return np.asarray(h1)[0]


def lstm_gate_order() -> Value:
    return readings.lstm_gate_order_read(lambda b: _keras_gated("lstm", b, [0.0], c=1.0))


def lstm_bias_count() -> Value:
    cell = _keras().layers.LSTMCell(1)
    cell.build((None, 1))
    return sum(1 for v in cell.trainable_variables if "bias" in v.path)


def lstm_forget_bias_init() -> Value:
    hidden = 64
    cell = _keras().layers.LSTMCell(hidden)
    cell.build((None, 1))
    b = np.asarray(cell.bias.numpy(), dtype=np.float64).tolist()  # blocks i, f, c, o
    return readings.forget_bias_init_read(b[hidden : 2 * hidden], b[:hidden] + b[2 * hidden :], hidden)


def gru_gate_order() -> Value:
    return readings.gru_gate_order_read(lambda b: float(_keras_gated("gru", b, [0.5])[0]))


def gru_reset_after() -> Value:
    s = readings.GATE_SATURATION
    bias = [-s, -s, *readings.GRU_RESET_R_BIAS, 0.0, 0.0]  # Keras' blocks z, r, n
    h1 = _keras_gated("gru", bias, list(readings.GRU_RESET_H), w_hh_n=readings.GRU_RESET_W_HN)
    return readings.gru_reset_read(h1)


def gru_bias_count() -> Value:
    cell = _keras().layers.GRUCell(1)
    cell.build((None, 1))
    return int(cell.bias.shape[0]) if len(cell.bias.shape) == 2 else 1  # reset_after: (2, 3H), input and recurrent


def _probe_lstm(**options: Any) -> Any:
    """keras.layers.LSTM, one unit, all weights 0 (float64; the probe's candidate kernel is set by the caller)."""
    return _keras().layers.LSTM(1, return_sequences=True, return_state=True, dtype="float64", **options)


def _candidate_reads_x(layer: Any) -> None:
    # Keras' blocks i, f, c, o as PyTorch's i, f, g, o: the kernel (in, 4H) is the probe's w_ih transposed.
    kernel = np.asarray(reference_conventions.LSTM_PROBE_W_IH, dtype=np.float64).T
    layer.set_weights([kernel, np.zeros((1, 4)), np.zeros(4)])


def lstm_go_backwards_output_order() -> Value:
    layer = _probe_lstm(go_backwards=True)
    layer.build((None, None, 1))
    _candidate_reads_x(layer)
    outputs, _, _ = layer(np.asarray(reference_conventions.BACKWARDS_X))
    return reference_conventions.backwards_order_read(np.asarray(outputs))


def _bidirectional() -> list[Any]:
    # keras.layers.Bidirectional with its defaults (merge_mode='concat'), the backward copy's weights left 0.
    wrapper = _keras().layers.Bidirectional(_probe_lstm(kernel_initializer="zeros", recurrent_initializer="zeros"))
    wrapper.build((None, None, 1))
    _candidate_reads_x(wrapper.forward_layer)
    return [np.asarray(v) for v in wrapper(np.asarray(reference_conventions.BACKWARDS_X))]


def bidirectional_merge_mode() -> Value:
    return reference_conventions.merge_read(_bidirectional()[0])


def bidirectional_h_n_layout() -> Value:
    return reference_conventions.h_n_layout_read(_bidirectional()[1:])


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


def _batch_norm_step(running_var: float = 1.0, **kwargs: Any) -> Any:
    """keras.layers.BatchNormalization (float64, defaults but ``kwargs``) after one training call on BN_BATCH,
    from running mean 0 and running variance ``running_var``."""
    import keras

    layer = keras.layers.BatchNormalization(dtype="float64", **kwargs)
    layer.build((2, 1))
    layer.moving_variance.assign(np.asarray([running_var]))
    layer(np.asarray(BN_BATCH, dtype=np.float64), training=True)
    return layer


def batch_norm_default_eps() -> Value:
    import keras

    layer = keras.layers.BatchNormalization(dtype="float64")
    return eps_read(layer(np.asarray([[-EPS_PROBE_A], [EPS_PROBE_A]]), training=True).numpy())


def batch_norm_new_batch_weight() -> Value:
    return num(_batch_norm_step().moving_mean.numpy()[0])


def batch_norm_momentum_meaning() -> Value:
    return momentum_read(_batch_norm_step(momentum=BN_MOMENTUM).moving_mean.numpy())


def batch_norm_running_variance() -> Value:
    return running_variance_read(_batch_norm_step(0.0, momentum=0.0).moving_variance.numpy())


def _f64(values: object) -> Any:
    return _tf().constant(values, dtype="float64")


def huber_loss_default_delta() -> Value:
    return huber_delta_read(_keras().losses.Huber()(_f64([0.0]), _f64([HUBER_RESIDUAL])))


def smooth_l1_loss_scaling() -> Value:
    # Keras has no smooth L1 loss: its Huber loss with δ = 2 is what a user reaches for.
    return scaling_read(_keras().losses.Huber(delta=SCALING_BETA)(_f64([0.0]), _f64([SCALING_RESIDUAL])))


def kl_div_input_space() -> Value:
    return kl_input_read(_keras().losses.kl_divergence(_f64(KL_TARGET), _f64(KL_PREDICTION)))


def kl_div_default_reduction() -> Value:
    # Keras reads probabilities: q = e^(log q) of the same two rows.
    q = _f64(np.exp(np.asarray(KL_BATCH_LOG_Q)))
    return kl_reduction_read(_keras().losses.KLDivergence()(_f64(KL_BATCH_P), q))


def kl_div_clipping() -> Value:
    q = _f64(np.exp(np.asarray(kl_tiny_log_q())))
    return kl_clip_read(_keras().losses.kl_divergence(_f64([1.0, 0.0]), q))


def cross_entropy_label_smoothing_formula() -> Value:
    from .reference import SMOOTHING, SMOOTHING_LOGITS, smoothing_read

    loss = _keras().losses.CategoricalCrossentropy(from_logits=True, label_smoothing=SMOOTHING)
    return smoothing_read(loss(_f64(np.eye(len(SMOOTHING_LOGITS[0]))[[0]]), _f64(SMOOTHING_LOGITS)))


def binary_cross_entropy_label_smoothing_formula() -> Value:
    from .reference import BCE_PROBE_LOGIT, SMOOTHING, binary_smoothing_read

    loss = _keras().losses.BinaryCrossentropy(from_logits=True, label_smoothing=SMOOTHING)
    return binary_smoothing_read(loss(_f64([1.0]), _f64([BCE_PROBE_LOGIT])))


def binary_cross_entropy_with_logits_pos_weight() -> Value:
    from .reference import POS_WEIGHT, pos_weight_read

    f = _tf().nn.weighted_cross_entropy_with_logits
    return pos_weight_read(f(labels=_f64([1.0, 0.0]), logits=_f64([0.0, 0.0]), pos_weight=POS_WEIGHT))


def dropout_scaling() -> Value:
    from .reference import kept_value

    tf, keras = _tf(), _keras()
    return kept_value(keras.layers.Dropout(0.5, seed=0)(tf.ones(1000), training=True))


def dropout_rate_meaning() -> Value:
    from .reference import DROPOUT_RATE, DROPOUT_UNITS, rate_read

    tf = _tf()
    return rate_read(tf.nn.dropout(tf.ones(DROPOUT_UNITS), rate=DROPOUT_RATE, seed=0))


def dropout_dropped_nan() -> Value:
    from .reference import dropped_nan_read

    tf, keras = _tf(), _keras()
    return dropped_nan_read(keras.layers.Dropout(0.5, seed=0)(tf.fill([1000], float("nan")), training=True))


def dropout_float64_input() -> Value:
    tf, keras = _tf(), _keras()
    return keras.layers.Dropout(0.5, seed=0)(tf.ones(4, dtype=tf.float64), training=True).dtype.name


def embedding_padding_index() -> Value:
    from .reference import INDEX_TABLE, padding_read

    tf, keras = _tf(), _keras()
    layer = keras.layers.Embedding(3, 2, mask_zero=True)
    layer.build((None,))
    layer.set_weights([np.asarray(INDEX_TABLE, dtype=np.float32)])
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(tf.constant([0, 1])))
    (grad,) = tape.gradient(total, layer.trainable_variables)
    return padding_read(tf.convert_to_tensor(grad)[0].numpy())


def embedding_default_init() -> Value:
    from .reference import init_read

    keras = _keras()
    layer = keras.layers.Embedding(1000, 64)
    layer.build((None,))
    return init_read(layer.embeddings.numpy())


def _lookup(index: int) -> Any:
    from .reference import INDEX_TABLE

    tf = _tf()
    return tf.nn.embedding_lookup(tf.constant(INDEX_TABLE), tf.constant([index])).numpy()


def embedding_out_of_range_index() -> Value:
    from .reference import index_read

    return index_read(lambda: _lookup(3))


def embedding_negative_index() -> Value:
    from .reference import index_read

    return index_read(lambda: _lookup(-1))


# --- adaptive optimisers: keras.optimizers, one float64 step on one variable --------------------------


def _keras_step(optimizer: Any, grad: float, param: float = 0.0) -> Any:
    keras, tf = _keras(), _tf()
    variable = keras.Variable(np.array([param]), dtype="float64")
    optimizer.apply([tf.constant([grad], dtype=tf.float64)], [variable])
    return variable.numpy()


def adam_default_eps() -> Value:
    return num(_keras().optimizers.Adam().epsilon)


def adam_eps_placement() -> Value:
    adam = _keras().optimizers.Adam(learning_rate=ADAM_PROBE_LR, epsilon=ADAM_PROBE_EPS)
    return eps_placement_read(_keras_step(adam, ADAM_PROBE_GRAD))


def adam_weight_decay() -> Value:
    adam = _keras().optimizers.Adam(learning_rate=ADAM_PROBE_LR, weight_decay=ADAM_DECAY)
    return weight_decay_read(_keras_step(adam, 0.0, param=1.0))


def adam_float64_hyperparameters() -> Value:
    return float64_step_read(_keras_step(_keras().optimizers.Adam(learning_rate=ADAM_PROBE_LR), ADAM_BIG_GRAD))


def adamw_default_weight_decay() -> Value:
    return num(_keras().optimizers.AdamW().weight_decay)


def sgd_momentum_formulation() -> Value:
    keras, tf = _keras(), _tf()
    variable = keras.Variable(np.zeros(1), dtype="float64")
    sgd = keras.optimizers.SGD(learning_rate=readings.SGD_LRS[0], momentum=readings.SGD_MOMENTUM)
    for lr in readings.SGD_LRS:
        sgd.learning_rate = lr
        sgd.apply([tf.ones(1, dtype=tf.float64)], [variable])
    return readings.sgd_momentum_read(variable.numpy())


def _keras_sgd(grads: tuple[float, ...], param: float = 0.0, **kwargs: Any) -> Any:
    """θ after float64 steps of keras.optimizers.SGD(**kwargs) with the given gradients."""
    keras, tf = _keras(), _tf()
    variable = keras.Variable(np.array([param]), dtype="float64")
    sgd = keras.optimizers.SGD(**kwargs)
    for g in grads:
        sgd.apply([tf.constant([g], dtype=tf.float64)], [variable])
    return variable.numpy()


def sgd_first_step_buffer() -> Value:
    from .reference import first_step_buffer_read

    # keras.optimizers.SGD has no dampening: its velocity starts at zeros (build).
    return first_step_buffer_read(_keras_sgd((1.0,), learning_rate=1.0, momentum=0.5), has_dampening=False)


def sgd_dampening() -> Value:
    import inspect

    from .reference import dampening_read

    parameter = inspect.signature(_keras().optimizers.SGD).parameters.get("dampening")
    return dampening_read(None if parameter is None else parameter.default)


def sgd_nesterov_formulation() -> Value:
    from .reference import nesterov_read

    return nesterov_read(_keras_sgd((1.0, 1.0), learning_rate=1.0, momentum=0.5, nesterov=True))


def sgd_weight_decay_coupling() -> Value:
    from .reference import SGD_DECAY_PROBE, weight_decay_coupling_read

    lr, mu, wd = (SGD_DECAY_PROBE[k] for k in ("lr", "momentum", "weight_decay"))
    return weight_decay_coupling_read(_keras_sgd((0.0, 0.0), 1.0, learning_rate=lr, momentum=mu, weight_decay=wd))


def sgd_float64_momentum() -> Value:
    from .reference import SGD_FLOAT64_MOMENTUM, float64_momentum_read

    return float64_momentum_read(_keras_sgd((1.0, 1.0), learning_rate=1.0, momentum=SGD_FLOAT64_MOMENTUM))


def sgd_default_learning_rate() -> Value:
    import inspect

    return num(inspect.signature(_keras().optimizers.SGD).parameters["learning_rate"].default)


def rmsprop_eps_placement() -> Value:
    r = readings
    rms = _keras().optimizers.RMSprop(learning_rate=r.RMS_PROBE_LR, rho=r.RMS_PROBE_DECAY, epsilon=r.RMS_PROBE_EPS)
    return r.rmsprop_eps_read(_keras_step(rms, r.RMS_PROBE_GRAD))


def rmsprop_default_decay() -> Value:
    return num(_keras().optimizers.RMSprop().rho)


def rmsprop_default_eps() -> Value:
    return num(_keras().optimizers.RMSprop().epsilon)


def rmsprop_default_lr() -> Value:
    return num(_keras().optimizers.RMSprop().learning_rate)


def adagrad_eps_placement() -> Value:
    r = readings
    adagrad = _keras().optimizers.Adagrad(
        learning_rate=r.RMS_PROBE_LR, initial_accumulator_value=0.0, epsilon=r.RMS_PROBE_EPS
    )
    return adagrad_first_step_read(_keras_step(adagrad, r.RMS_PROBE_GRAD))


def adagrad_default_eps() -> Value:
    return num(_keras().optimizers.Adagrad().epsilon)


def adagrad_default_lr() -> Value:
    return num(_keras().optimizers.Adagrad().learning_rate)


def adagrad_initial_accumulator() -> Value:
    keras = _keras()
    adagrad = keras.optimizers.Adagrad()
    adagrad.build([keras.Variable(np.zeros(1), dtype="float64", name="param")])
    return num(next(v for v in adagrad.variables if v.name == "param_accumulator").numpy()[0])


def _fresh_dense() -> Any:
    layer = _keras().layers.Dense(readings.DENSE_FAN_OUT)
    layer.build((None, readings.DENSE_FAN_IN))
    return layer


def linear_default_weight_init() -> Value:
    return readings.dense_init_read(_fresh_dense().kernel.numpy())


def linear_default_bias_init() -> Value:
    return readings.dense_init_read(_fresh_dense().bias.numpy())


# --- weight initialisation: keras.initializers' own draws (readers in dlterms.conformance.invariants.initialization)

_KERAS_INITS = {"he_normal": "HeNormal", "glorot_normal": "GlorotNormal"}


def _tensorflow_init(name: str, shape: tuple[int, ...]) -> Any:
    """keras.initializers.<name> (seed 0) on the (in, out) kernel of a canonical (out, in) shape."""
    init = getattr(_keras().initializers, _KERAS_INITS[name])(seed=0)
    return np.asarray(init((shape[1], shape[0]), dtype="float32"))


def kaiming_default_mode() -> Value:
    from ..invariants.initialization import PROBE_RECT, PROBE_SQUARE, kaiming_mode_read

    return kaiming_mode_read(_tensorflow_init("he_normal", PROBE_SQUARE), _tensorflow_init("he_normal", PROBE_RECT))


def kaiming_default_gain() -> Value:
    from ..invariants.initialization import PROBE_SQUARE, kaiming_gain_read

    return kaiming_gain_read(_tensorflow_init("he_normal", PROBE_SQUARE))


def _normal_distribution(kind: str, name: str) -> Value:
    from ..invariants.initialization import PROBE_RECT, expected_scale, normal_distribution_read

    return normal_distribution_read(_tensorflow_init(name, PROBE_RECT), expected_scale(kind, PROBE_RECT))


def xavier_normal_distribution() -> Value:
    return _normal_distribution("xavier_normal", "glorot_normal")


def kaiming_normal_distribution() -> Value:
    return _normal_distribution("kaiming_normal", "he_normal")


def init_conv_fan_layout() -> Value:
    from ..invariants.initialization import conv_layout_read

    layer = _keras().layers.Conv2D(64, 3, kernel_initializer="he_normal")
    layer.build((None, 8, 8, 4))  # Conv2D's own kernel: (3, 3, 4, 64)
    return conv_layout_read(tuple(layer.kernel.shape), layer.kernel.numpy())


def _attend(query: Any, key: Any, value: Any, mask: Any = None, bias: Any = None, causal: bool = False) -> Any:
    """keras.ops.dot_product_attention in float64, its (B, T, N, H) layout from the canonical (N, H, L, E)."""
    keras = _keras()
    q, k, v = (np.swapaxes(np.asarray(x, dtype=np.float64), 1, 2) for x in (query, key, value))
    keep = None if mask is None else np.asarray(mask, dtype=bool)
    b = None if bias is None else np.asarray(bias, dtype=np.float64)
    y = keras.ops.dot_product_attention(q, k, v, bias=b, mask=keep, is_causal=causal)
    return np.swapaxes(keras.ops.convert_to_numpy(y), 1, 2)


def attention_boolean_mask_meaning() -> Value:
    return readings.attention_mask_read(_attend)


def attention_default_scale() -> Value:
    return readings.attention_scale_read(_attend)


def attention_fully_masked_row() -> Value:
    return readings.attention_masked_row_read(_attend)


def attention_fully_masked_bias_row() -> Value:
    return readings.attention_masked_bias_row_read(_attend)


def attention_causal_alignment() -> Value:
    return readings.attention_alignment_read(_attend)


def attention_float64_softmax() -> Value:
    return readings.attention_precision_read(_attend)


# --- learning-rate schedules and gradient clipping: keras.optimizers.schedules, tf.clip_by_global_norm -----


def step_lr_default_gamma() -> Value:
    return "required (decay_rate)"  # keras.optimizers.schedules.ExponentialDecay has no default decay rate


def cosine_annealing_lr_default_eta_min() -> Value:
    return num(_keras().optimizers.schedules.CosineDecay(1.0, 4).alpha)


def cosine_annealing_lr_after_t_max() -> Value:
    t_max = reference_conventions.SCHEDULE_PROBE_T_MAX
    return num(_keras().optimizers.schedules.CosineDecay(1.0, t_max)(2 * t_max))


def lr_schedule_first_step_count() -> Value:
    keras = _keras()
    schedule = keras.optimizers.schedules.ExponentialDecay(1.0, 1, 0.5, staircase=True)
    return reference_conventions.first_step_count_read(_keras_step(keras.optimizers.SGD(schedule), 1.0)[0])


def lr_schedule_float64_hyperparameters() -> Value:
    keras, tf = _keras(), _tf()
    schedule = keras.optimizers.schedules.ExponentialDecay(tf.constant(1.0, tf.float64), 1, 0.1, staircase=True)
    return reference_conventions.float64_rate_read(schedule(1).numpy())


def clip_grad_norm_eps() -> Value:
    tf = _tf()
    clipped, _ = tf.clip_by_global_norm([tf.constant(reference_conventions.CLIP_PROBE, dtype=tf.float64)], 1.0)
    return reference_conventions.clip_eps_read(float(clipped[0][0]))


# --- transposed convolution and adaptive pooling (issue 13) ---------------------------------------------


def conv_transpose2d_kernel_layout() -> Value:
    tf = _tf()
    x = np.zeros((1, 1, 1, 2), np.float32)  # NHWC: 2 input channels; a 1 × 2 kernel makes the output 2 wide

    def out_channels(shape: tuple[int, int, int, int]) -> int:
        y = tf.nn.conv2d_transpose(
            x, np.zeros(shape, np.float32), output_shape=(1, 1, 2, 3), strides=1, padding="VALID"
        )
        return int(y.shape[-1])

    return reference_conventions.kernel_layout_read(out_channels)


def conv_transpose2d_adjoint_by_default() -> Value:
    tf = _tf()
    w = np.array([1.0, 2.0], np.float32).reshape(1, 2, 1, 1)  # (kH, kW, out, in)
    y = tf.nn.conv2d_transpose(
        np.ones((1, 1, 1, 1), np.float32), w, output_shape=(1, 1, 2, 1), strides=1, padding="VALID"
    )
    return reference_conventions.transpose_of_one_read(y)


def conv_transpose2d_output_padding_limit() -> Value:
    keras = _keras()
    x = np.zeros((1, 2, 2, 1), np.float32)

    def call(stride: int, dilation: int, output_padding: int) -> object:
        # The constructor checks output_padding < strides; a call with dilation 2 would fail on CPU whatever the
        # output_padding ("Current CPU implementations do not yet support dilation rates larger than 1").
        layer = keras.layers.Conv2DTranspose(
            1, 2, strides=stride, dilation_rate=dilation, output_padding=output_padding, padding="valid"
        )
        return layer(x) if dilation == 1 else layer

    return reference_conventions.output_padding_limit_read(call)


def conv_transpose2d_same_padding() -> Value:
    keras = _keras()
    layer = keras.layers.Conv2DTranspose(1, (1, 3), strides=(1, 2), padding="same")
    return reference_conventions.same_output_read(int(layer(np.zeros((1, 1, 3, 1), np.float32)).shape[2]))


def adaptive_avg_pool2d_bins() -> Value:
    keras = _keras()
    x = np.asarray(reference_conventions.ADAPTIVE_X, np.float32)
    y = keras.ops.adaptive_average_pool(x, (1, 3), data_format="channels_first")
    return reference_conventions.adaptive_bins_read(keras.ops.convert_to_numpy(y))


# --- multi-head attention: keras.layers.MultiHeadAttention ------------------------------------------------


def _keras_mha(heads: int, e: int, **options: Any) -> Any:
    layer = _keras().layers.MultiHeadAttention(heads, key_dim=e // heads, dtype="float64", **options)
    layer.build((None, None, e), (None, None, e), (None, None, e))
    return layer


def mha_boolean_mask_meaning() -> Value:
    layer = _keras_mha(1, 1, kernel_initializer="ones", bias_initializer="zeros")
    keys, values = np.zeros((1, 2, 1)), np.array([[[1.0], [3.0]]])
    mask = np.array([reference_conventions.MHA_MASK_PROBE])
    y = layer(np.ones((1, 1, 1)), values, keys, attention_mask=mask)  # (query, value, key)
    return reference_conventions.mha_mask_read(float(_keras().ops.convert_to_numpy(y).reshape(())))


def mha_projection_layout() -> Value:
    layer = _keras_mha(2, 4)
    shapes = {v.path.split("/")[-2]: tuple(v.shape) for v in layer.trainable_variables if v.path.endswith("kernel")}
    return reference_conventions.mha_layout_read(shapes, 4, 2)


def mha_batch_first_default() -> Value:
    return True  # keras.layers.MultiHeadAttention has no other layout: (batch, sequence, features)


def mha_default_bias() -> Value:
    return bool(_keras_mha(2, 4).get_config()["use_bias"])


# --- the Transformer block: Keras 3 has none (keras_hub's TransformerEncoder is not a dependency); a block built
# from Keras layers takes keras.layers.LayerNormalization's epsilon unless given.


def transformer_layer_norm_eps() -> Value:
    return num(_keras().layers.LayerNormalization().epsilon)


# --- interpolation (issue 13): tf.image.resize (NHWC) and keras.layers.UpSampling2D --------------------------


def _tf_resize(x: list, size: tuple[int, int], **options: Any) -> Any:
    tf = _tf()
    images = tf.transpose(tf.constant(x, dtype=tf.float64), (0, 2, 3, 1))  # NCHW -> NHWC
    return tf.image.resize(images, size, **options)


def interpolate_align_corners_default() -> Value:
    return reference_conventions.coordinate_map_read(_tf_resize(reference_conventions.RESIZE_ROW, (1, 4)))


def interpolate_nearest_rounding() -> Value:
    return reference_conventions.nearest_rounding_read(
        _tf_resize(reference_conventions.RESIZE_RAMP, (1, 3), method="nearest")
    )


def interpolate_antialias_default() -> Value:
    return reference_conventions.antialias_read(_tf_resize(reference_conventions.RESIZE_RAMP, (1, 3)))


def interpolate_upsampling_layer_mode() -> Value:
    return str(_keras().layers.UpSampling2D().interpolation)


def interpolate_bilinear_output_dtype() -> Value:
    return str(_tf_resize(reference_conventions.RESIZE_ROW, (1, 4)).dtype.name)


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
    Probe("lstm.gate_order", "keras.layers.LSTMCell", lstm_gate_order),
    Probe("lstm.bias_count", "keras.layers.LSTMCell", lstm_bias_count),
    Probe("lstm.forget_bias_init", "keras.layers.LSTMCell", lstm_forget_bias_init),
    Probe("gru.gate_order", "keras.layers.GRUCell", gru_gate_order),
    Probe("gru.reset_after", "keras.layers.GRUCell", gru_reset_after),
    Probe("gru.bias_count", "keras.layers.GRUCell", gru_bias_count),
    Probe("lstm.go_backwards_output_order", "keras.layers.LSTM(go_backwards=True)", lstm_go_backwards_output_order),
    Probe("bidirectional.merge_mode", "keras.layers.Bidirectional", bidirectional_merge_mode),
    Probe("bidirectional.h_n_layout", "keras.layers.Bidirectional", bidirectional_h_n_layout),
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
    Probe("batch_norm.default_eps", "keras.layers.BatchNormalization (training)", batch_norm_default_eps),
    Probe("batch_norm.new_batch_weight", "keras.layers.BatchNormalization (training)", batch_norm_new_batch_weight),
    Probe("batch_norm.momentum_meaning", "keras.layers.BatchNormalization(momentum=0.25)", batch_norm_momentum_meaning),
    Probe("batch_norm.running_variance", "keras.layers.BatchNormalization(momentum=0)", batch_norm_running_variance),
    Probe("huber_loss.default_delta", "keras.losses.Huber()", huber_loss_default_delta),
    Probe("smooth_l1_loss.scaling", "keras.losses.Huber(delta=2) (Keras has no smooth L1)", smooth_l1_loss_scaling),
    Probe("kl_div.input_space", "keras.losses.kl_divergence", kl_div_input_space),
    Probe("kl_div.default_reduction", "keras.losses.KLDivergence()", kl_div_default_reduction),
    Probe("kl_div.clipping", "keras.losses.kl_divergence (float64)", kl_div_clipping),
    Probe(
        "cross_entropy.label_smoothing_formula",
        "keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.4)",
        cross_entropy_label_smoothing_formula,
    ),
    Probe(
        "binary_cross_entropy.label_smoothing_formula",
        "keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.4)",
        binary_cross_entropy_label_smoothing_formula,
    ),
    Probe(
        "binary_cross_entropy_with_logits.pos_weight",
        "tf.nn.weighted_cross_entropy_with_logits(pos_weight=3)",
        binary_cross_entropy_with_logits_pos_weight,
    ),
    Probe("dropout.scaling", "keras.layers.Dropout(0.5)", dropout_scaling),
    Probe("dropout.rate_meaning", "tf.nn.dropout(rate=0.2)", dropout_rate_meaning),
    Probe("dropout.dropped_nan", "keras.layers.Dropout(0.5)", dropout_dropped_nan),
    Probe("dropout.float64_input", "keras.layers.Dropout (its default dtype policy)", dropout_float64_input),
    Probe(
        "embedding.padding_index",
        "keras.layers.Embedding(mask_zero=True) + GradientTape (no padding index)",
        embedding_padding_index,
    ),
    Probe("embedding.default_init", "keras.layers.Embedding(1000, 64)", embedding_default_init),
    Probe("embedding.out_of_range_index", "tf.nn.embedding_lookup (cpu)", embedding_out_of_range_index),
    Probe("embedding.negative_index", "tf.nn.embedding_lookup (cpu)", embedding_negative_index),
    Probe("adam.default_eps", "keras.optimizers.Adam", adam_default_eps),
    Probe("adam.eps_placement", "keras.optimizers.Adam (float64)", adam_eps_placement),
    Probe("adam.weight_decay", "keras.optimizers.Adam(weight_decay=0.5) (float64)", adam_weight_decay),
    Probe("adam.float64_hyperparameters", "keras.optimizers.Adam (float64)", adam_float64_hyperparameters),
    Probe("adamw.default_weight_decay", "keras.optimizers.AdamW", adamw_default_weight_decay),
    Probe("sgd.momentum_formulation", "keras.optimizers.SGD(momentum=0.5) (float64)", sgd_momentum_formulation),
    Probe("sgd.first_step_buffer", "keras.optimizers.SGD(momentum=0.5) (float64)", sgd_first_step_buffer),
    Probe("sgd.dampening", "keras.optimizers.SGD", sgd_dampening),
    Probe("sgd.nesterov_formulation", "keras.optimizers.SGD(nesterov=True) (float64)", sgd_nesterov_formulation),
    Probe("sgd.weight_decay_coupling", "keras.optimizers.SGD(weight_decay=0.5) (float64)", sgd_weight_decay_coupling),
    Probe("sgd.float64_momentum", "keras.optimizers.SGD(momentum=0.9) (float64)", sgd_float64_momentum),
    Probe("sgd.default_learning_rate", "keras.optimizers.SGD", sgd_default_learning_rate),
    Probe("rmsprop.eps_placement", "keras.optimizers.RMSprop (float64)", rmsprop_eps_placement),
    Probe("rmsprop.default_decay", "keras.optimizers.RMSprop (rho)", rmsprop_default_decay),
    Probe("rmsprop.default_eps", "keras.optimizers.RMSprop", rmsprop_default_eps),
    Probe("rmsprop.default_lr", "keras.optimizers.RMSprop", rmsprop_default_lr),
    Probe("adagrad.eps_placement", "keras.optimizers.Adagrad (float64)", adagrad_eps_placement),
    Probe("adagrad.default_eps", "keras.optimizers.Adagrad", adagrad_default_eps),
    Probe("adagrad.default_lr", "keras.optimizers.Adagrad", adagrad_default_lr),
    Probe("adagrad.initial_accumulator", "keras.optimizers.Adagrad (accumulator)", adagrad_initial_accumulator),
    Probe("linear.default_weight_init", "keras.layers.Dense(2000) on 100 features", linear_default_weight_init),
    Probe("linear.default_bias_init", "keras.layers.Dense(2000) on 100 features", linear_default_bias_init),
    Probe("kaiming.default_mode", "keras.initializers.HeNormal", kaiming_default_mode),
    Probe("kaiming.default_gain", "keras.initializers.HeNormal", kaiming_default_gain),
    Probe("xavier_normal.distribution", "keras.initializers.GlorotNormal", xavier_normal_distribution),
    Probe("kaiming_normal.distribution", "keras.initializers.HeNormal", kaiming_normal_distribution),
    Probe(
        "init.conv_fan_layout",
        "keras.layers.Conv2D(64, 3, kernel_initializer='he_normal') on 4 channels",
        init_conv_fan_layout,
    ),
    Probe(
        "attention.boolean_mask_meaning",
        "keras.ops.dot_product_attention(mask)",
        attention_boolean_mask_meaning,
    ),
    Probe(
        "attention.default_scale",
        "keras.ops.dot_product_attention",
        attention_default_scale,
    ),
    Probe(
        "attention.fully_masked_row",
        "keras.ops.dot_product_attention(mask)",
        attention_fully_masked_row,
    ),
    Probe(
        "attention.fully_masked_bias_row",
        "keras.ops.dot_product_attention(bias)",
        attention_fully_masked_bias_row,
    ),
    Probe(
        "attention.causal_alignment",
        "keras.ops.dot_product_attention(is_causal=True)",
        attention_causal_alignment,
    ),
    Probe(
        "attention.float64_softmax",
        "keras.ops.dot_product_attention (float64)",
        attention_float64_softmax,
    ),
    Probe("step_lr.default_gamma", "keras.optimizers.schedules.ExponentialDecay", step_lr_default_gamma),
    Probe(
        "cosine_annealing_lr.default_eta_min",
        "keras.optimizers.schedules.CosineDecay (alpha)",
        cosine_annealing_lr_default_eta_min,
    ),
    Probe(
        "cosine_annealing_lr.after_t_max",
        "keras.optimizers.schedules.CosineDecay(1.0, decay_steps=4)(8)",
        cosine_annealing_lr_after_t_max,
    ),
    Probe(
        "lr_schedule.first_step_count",
        "keras.optimizers.SGD(ExponentialDecay(...)) (float64)",
        lr_schedule_first_step_count,
    ),
    Probe(
        "lr_schedule.float64_hyperparameters",
        "keras.optimizers.schedules.ExponentialDecay(float64 rate, decay_rate=0.1)",
        lr_schedule_float64_hyperparameters,
    ),
    Probe("clip_grad_norm.eps", "tf.clip_by_global_norm (float64)", clip_grad_norm_eps),
    Probe("conv_transpose2d.kernel_layout", "tf.nn.conv2d_transpose", conv_transpose2d_kernel_layout),
    Probe("conv_transpose2d.adjoint_by_default", "tf.nn.conv2d_transpose", conv_transpose2d_adjoint_by_default),
    Probe(
        "conv_transpose2d.output_padding_limit",
        "keras.layers.Conv2DTranspose(output_padding=...)",
        conv_transpose2d_output_padding_limit,
    ),
    Probe(
        "conv_transpose2d.same_padding",
        "keras.layers.Conv2DTranspose(padding='same')",
        conv_transpose2d_same_padding,
    ),
    Probe("adaptive_avg_pool2d.bins", "keras.ops.adaptive_average_pool", adaptive_avg_pool2d_bins),
    Probe("mha.boolean_mask_meaning", "keras.layers.MultiHeadAttention(attention_mask)", mha_boolean_mask_meaning),
    Probe("mha.projection_layout", "keras.layers.MultiHeadAttention(2, key_dim=2)", mha_projection_layout),
    Probe("mha.batch_first_default", "keras.layers.MultiHeadAttention", mha_batch_first_default),
    Probe("mha.default_bias", "keras.layers.MultiHeadAttention(use_bias)", mha_default_bias),
    Probe("transformer.layer_norm_eps", "keras.layers.LayerNormalization().epsilon", transformer_layer_norm_eps),
    Probe("interpolate.align_corners_default", "tf.image.resize", interpolate_align_corners_default),
    Probe("interpolate.nearest_rounding", "tf.image.resize(method='nearest')", interpolate_nearest_rounding),
    Probe("interpolate.antialias_default", "tf.image.resize", interpolate_antialias_default),
    Probe("interpolate.upsampling_layer_mode", "keras.layers.UpSampling2D", interpolate_upsampling_layer_mode),
    Probe("interpolate.bilinear_output_dtype", "tf.image.resize", interpolate_bilinear_output_dtype),
)
