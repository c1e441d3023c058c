"""JAX's conventions, measured through ``jax`` itself; jax is imported by the first probe that runs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import readings
from . import reference as reference_conventions
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


def _jax() -> Any:
    import jax

    return jax


def _flax() -> Any:
    """flax.linen: JAX's cells, recurrent layers, attention and dropout (JAX itself has none)."""
    import flax.linen

    return flax.linen


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


# --- normalization layers JAX lacks: flax.linen's (RMSNorm, GroupNorm, BatchNorm), in float64 -------------------


def _flax_norm(kind: str, values: object, **kwargs: Any) -> Any:
    """flax.linen's ``kind`` layer, its defaults but ``kwargs``, initialised and applied to ``values`` (float64)."""
    jax, nn = _jax(), _flax()
    with jax.enable_x64(True):
        x = jax.numpy.asarray(values, dtype=jax.numpy.float64)
        layer = getattr(nn, kind)(dtype=jax.numpy.float64, param_dtype=jax.numpy.float64, **kwargs)
        return np.asarray(layer.apply(layer.init(jax.random.PRNGKey(0), x), x))


def rms_norm_default_eps() -> Value:
    return eps_read(_flax_norm("RMSNorm", [[EPS_PROBE_A, EPS_PROBE_A]]))


def group_norm_default_eps() -> Value:
    # flax puts channels last, as Keras does: two channels of one position, one group.
    return eps_read(_flax_norm("GroupNorm", [[-EPS_PROBE_A, EPS_PROBE_A]], num_groups=1))


def group_norm_variance() -> Value:
    return variance_read(_flax_norm("GroupNorm", [VARIANCE_X], num_groups=1, epsilon=TINY_EPS))


def _flax_batch_norm(values: object, running_var: float = 1.0, **kwargs: Any) -> tuple[Any, Any]:
    """flax.linen.BatchNorm in training (float64 input, defaults but ``kwargs``) on ``values``, from running mean 0
    and running variance ``running_var``: its output and its updated ``batch_stats`` (which flax keeps in float32)."""
    jax, nn = _jax(), _flax()
    with jax.enable_x64(True):
        f64 = jax.numpy.float64
        x = jax.numpy.asarray(values, dtype=f64)
        layer = nn.BatchNorm(use_running_average=False, dtype=f64, param_dtype=f64, **kwargs)
        variables = layer.init(jax.random.PRNGKey(0), x)
        stats = variables["batch_stats"]
        variables = {**variables, "batch_stats": {**stats, "var": jax.numpy.full_like(stats["var"], running_var)}}
        y, updated = layer.apply(variables, x, mutable=["batch_stats"])
        return np.asarray(y), {k: np.asarray(v) for k, v in updated["batch_stats"].items()}


def batch_norm_default_eps() -> Value:
    return eps_read(_flax_batch_norm([[-EPS_PROBE_A], [EPS_PROBE_A]])[0])


def batch_norm_new_batch_weight() -> Value:
    return num(_flax_batch_norm(BN_BATCH)[1]["mean"][0])


def batch_norm_momentum_meaning() -> Value:
    return momentum_read(_flax_batch_norm(BN_BATCH, momentum=BN_MOMENTUM)[1]["mean"])


def batch_norm_running_variance() -> Value:
    return running_variance_read(_flax_batch_norm(BN_BATCH, 0.0, momentum=0.0)[1]["var"])


def _in_float64(f: Callable[..., Any], *values: object, **kwargs: Any) -> Any:
    """``f`` of ``values`` as float64 arrays, computed with 64-bit types on."""
    jax = _jax()
    with jax.enable_x64(True):
        return np.asarray(f(*(jax.numpy.asarray(v, dtype=jax.numpy.float64) for v in values), **kwargs))


def huber_loss_default_delta() -> Value:
    return huber_delta_read(_in_float64(_optax().losses.huber_loss, [HUBER_RESIDUAL], [0.0]))


def smooth_l1_loss_scaling() -> Value:
    # optax has no smooth L1 loss: its Huber loss with δ = 2 is what a user reaches for.
    f = _optax().losses.huber_loss
    return scaling_read(_in_float64(f, [SCALING_RESIDUAL], [0.0], delta=SCALING_BETA))


def kl_div_input_space() -> Value:
    return kl_input_read(_in_float64(_jax().scipy.special.rel_entr, KL_TARGET, KL_PREDICTION))


def kl_div_default_reduction() -> Value:
    q = np.exp(np.asarray(KL_BATCH_LOG_Q))
    return kl_reduction_read(_in_float64(_jax().scipy.special.rel_entr, KL_BATCH_P, q))


def kl_div_clipping() -> Value:
    q = np.exp(np.asarray(kl_tiny_log_q()))
    return kl_clip_read(_in_float64(_jax().scipy.special.rel_entr, [1.0, 0.0], q))


def cross_entropy_label_smoothing_formula() -> Value:
    optax = _optax()

    from .reference import SMOOTHING, SMOOTHING_LOGITS, smoothing_read

    labels = optax.smooth_labels(np.eye(len(SMOOTHING_LOGITS[0]))[[0]], SMOOTHING)
    return smoothing_read(_in_float64(_optax().losses.softmax_cross_entropy, SMOOTHING_LOGITS, labels))


def binary_cross_entropy_label_smoothing_formula() -> Value:
    from .reference import BCE_PROBE_LOGIT, SMOOTHING, absent, binary_smoothing_read

    f = _optax().losses.sigmoid_binary_cross_entropy
    try:
        return binary_smoothing_read(_in_float64(f, [BCE_PROBE_LOGIT], [1.0], label_smoothing=SMOOTHING))
    except TypeError as exc:
        return absent(exc)


def binary_cross_entropy_with_logits_pos_weight() -> Value:
    from .reference import POS_WEIGHT, absent, pos_weight_read

    f = _optax().losses.sigmoid_binary_cross_entropy
    try:
        return pos_weight_read(_in_float64(f, [0.0, 0.0], [1.0, 0.0], pos_weight=POS_WEIGHT))
    except TypeError as exc:
        return absent(exc)


def _flax_dropout(x: Any, rate: float) -> Any:
    """flax.linen.Dropout(rate) in training mode on ``x`` (float64), its random stream from key 0."""
    jax, nn = _jax(), _flax()
    x = np.asarray(x, dtype=np.float64)
    return nn.Dropout(rate=rate).apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(0)})


def dropout_rate_meaning() -> Value:
    from .reference import DROPOUT_RATE, DROPOUT_UNITS, rate_read

    return rate_read(_flax_dropout(np.ones(DROPOUT_UNITS), DROPOUT_RATE))


def dropout_scaling() -> Value:
    from .reference import kept_value

    return kept_value(_flax_dropout(np.ones(1000), 0.5))


def dropout_dropped_nan() -> Value:
    from .reference import dropped_nan_read

    return dropped_nan_read(_flax_dropout(np.full(1000, np.nan), 0.5))


def _take(index: int) -> Any:
    from .reference import INDEX_TABLE

    jax = _jax()
    return jax.numpy.take(jax.numpy.asarray(INDEX_TABLE), jax.numpy.asarray([index]), axis=0)


def embedding_out_of_range_index() -> Value:
    from .reference import index_read

    return index_read(lambda: _take(3))


def embedding_negative_index() -> Value:
    from .reference import index_read

    return index_read(lambda: _take(-1))


# --- adaptive optimisers: optax, one float64 step on one parameter ----------------------------------


def _optax() -> Any:
    import optax  # in dlterms' jax extra; a JAX without it records these rows as errors

    return optax


def _optax_step(transform: Any, grad: float, param: float = 0.0) -> Any:
    optax, jax = _optax(), _jax()
    with jax.enable_x64(True):
        p, g = (jax.numpy.asarray([x], dtype=jax.numpy.float64) for x in (param, grad))
        updates, _ = transform.update(g, transform.init(p), p)
        return np.asarray(optax.apply_updates(p, updates))


def adam_default_eps() -> Value:
    return num(inspect.signature(_optax().adam).parameters["eps"].default)


def adam_eps_placement() -> Value:
    return eps_placement_read(_optax_step(_optax().adam(ADAM_PROBE_LR, eps=ADAM_PROBE_EPS), ADAM_PROBE_GRAD))


def adam_weight_decay() -> Value:
    optax = _optax()
    if "weight_decay" not in inspect.signature(optax.adam).parameters:
        return weight_decay_read(None)
    return weight_decay_read(_optax_step(optax.adam(ADAM_PROBE_LR, weight_decay=ADAM_DECAY), 0.0, param=1.0))


def adam_float64_hyperparameters() -> Value:
    return float64_step_read(_optax_step(_optax().adam(ADAM_PROBE_LR), ADAM_BIG_GRAD))


def adamw_default_weight_decay() -> Value:
    return num(inspect.signature(_optax().adamw).parameters["weight_decay"].default)


def sgd_momentum_formulation() -> Value:
    optax, jax = _optax(), _jax()
    lrs = readings.SGD_LRS
    sgd = optax.sgd(
        learning_rate=lambda count: jax.numpy.where(count == 0, lrs[0], lrs[1]), momentum=readings.SGD_MOMENTUM
    )
    with jax.enable_x64(True):
        param = jax.numpy.zeros(1, dtype=jax.numpy.float64)
        state = sgd.init(param)
        for _ in lrs:
            updates, state = sgd.update(jax.numpy.ones(1, dtype=jax.numpy.float64), state, param)
            param = optax.apply_updates(param, updates)
        return readings.sgd_momentum_read(np.asarray(param))


def _optax_sgd(transform: Any, grads: tuple[float, ...], param: float = 0.0) -> Any:
    """θ after float64 steps of an optax transform with the given gradients."""
    optax, jax = _optax(), _jax()
    with jax.enable_x64(True):
        p = jax.numpy.asarray([param], dtype=jax.numpy.float64)
        state = transform.init(p)
        for g in grads:
            updates, state = transform.update(jax.numpy.asarray([g], dtype=jax.numpy.float64), state, p)
            p = optax.apply_updates(p, updates)
        return np.asarray(p)


def sgd_first_step_buffer() -> Value:
    from .reference import first_step_buffer_read

    # optax.sgd has no dampening: its trace starts at zeros (optax.trace's init).
    return first_step_buffer_read(_optax_sgd(_optax().sgd(1.0, momentum=0.5), (1.0,)), has_dampening=False)


def sgd_dampening() -> Value:
    from .reference import dampening_read

    parameter = inspect.signature(_optax().sgd).parameters.get("dampening")
    return dampening_read(None if parameter is None else parameter.default)


def sgd_nesterov_formulation() -> Value:
    from .reference import nesterov_read

    return nesterov_read(_optax_sgd(_optax().sgd(1.0, momentum=0.5, nesterov=True), (1.0, 1.0)))


def sgd_weight_decay_coupling() -> Value:
    from .reference import weight_decay_coupling_read

    # optax.sgd has no weight_decay: a user chains optax.add_decayed_weights, which adds λ·θ to the gradient.
    has = "weight_decay" in inspect.signature(_optax().sgd).parameters
    return None if has else weight_decay_coupling_read(None)


def sgd_float64_momentum() -> Value:
    from .reference import SGD_FLOAT64_MOMENTUM, float64_momentum_read

    return float64_momentum_read(_optax_sgd(_optax().sgd(1.0, momentum=SGD_FLOAT64_MOMENTUM), (1.0, 1.0)))


def sgd_default_learning_rate() -> Value:
    default = inspect.signature(_optax().sgd).parameters["learning_rate"].default
    return "required" if default is inspect.Parameter.empty else num(default)


def rmsprop_eps_placement() -> Value:
    r = readings
    rms = _optax().rmsprop(r.RMS_PROBE_LR, decay=r.RMS_PROBE_DECAY, eps=r.RMS_PROBE_EPS)
    return r.rmsprop_eps_read(_optax_step(rms, r.RMS_PROBE_GRAD))


def rmsprop_default_decay() -> Value:
    return num(inspect.signature(_optax().rmsprop).parameters["decay"].default)


def rmsprop_default_eps() -> Value:
    return num(inspect.signature(_optax().rmsprop).parameters["eps"].default)


def _required_or_default(fn: Any, name: str) -> Value:
    default = inspect.signature(fn).parameters[name].default
    return "none (a required argument)" if default is inspect.Parameter.empty else num(default)


def rmsprop_default_lr() -> Value:
    return _required_or_default(_optax().rmsprop, "learning_rate")


def adagrad_eps_placement() -> Value:
    adagrad = _optax().adagrad(readings.RMS_PROBE_LR, initial_accumulator_value=0.0, eps=readings.RMS_PROBE_EPS)
    return adagrad_first_step_read(_optax_step(adagrad, readings.RMS_PROBE_GRAD))


def adagrad_default_eps() -> Value:
    return num(inspect.signature(_optax().adagrad).parameters["eps"].default)


def adagrad_default_lr() -> Value:
    return _required_or_default(_optax().adagrad, "learning_rate")


def adagrad_initial_accumulator() -> Value:
    optax, jax = _optax(), _jax()
    state = optax.adagrad(0.1).init(jax.numpy.zeros(1))
    rss = next(s for s in jax.tree.leaves(state, is_leaf=_is_rss) if _is_rss(s))
    return num(rss.sum_of_squares[0])


def _is_rss(s: Any) -> bool:
    return hasattr(s, "sum_of_squares")  # optax's ScaleByRssState


# --- weight initialisation: jax.nn.initializers' own draws (readers in dlterms.conformance.invariants.initialization)


def _jax_init(name: str, shape: tuple[int, ...], layout: bool = True) -> Any:
    """jax.nn.initializers.<name>() on the (in, out) kernel of a canonical (out, in) shape (``layout`` False: as is)."""
    jax = _jax()
    kernel = (shape[1], shape[0]) if layout else shape
    return np.asarray(getattr(jax.nn.initializers, name)()(jax.random.key(0), kernel, jax.numpy.float32))


def kaiming_default_mode() -> Value:
    from ..invariants.initialization import PROBE_RECT, PROBE_SQUARE, kaiming_mode_read

    return kaiming_mode_read(_jax_init("he_normal", PROBE_SQUARE), _jax_init("he_normal", PROBE_RECT))


def kaiming_default_gain() -> Value:
    from ..invariants.initialization import PROBE_SQUARE, kaiming_gain_read

    return kaiming_gain_read(_jax_init("he_normal", PROBE_SQUARE))


def _normal_distribution(kind: str, name: str) -> Value:
    from ..invariants.initialization import PROBE_RECT, expected_scale, normal_distribution_read

    return normal_distribution_read(_jax_init(name, PROBE_RECT), expected_scale(kind, PROBE_RECT))


def xavier_normal_distribution() -> Value:
    return _normal_distribution("xavier_normal", "glorot_normal")


def kaiming_normal_distribution() -> Value:
    return _normal_distribution("kaiming_normal", "he_normal")


def init_conv_fan_layout() -> Value:
    from ..invariants.initialization import CONV_SHAPES, conv_layout_read

    shape = CONV_SHAPES["(*kernel, in, out)"]  # flax.linen.Conv's kernel; in_axis=−2, out_axis=−1 by default
    return conv_layout_read(shape, _jax_init("he_normal", shape, layout=False))


def _attend(query: Any, key: Any, value: Any, mask: Any = None, bias: Any = None, causal: bool = False) -> Any:
    """jax.nn.dot_product_attention in float64 (64-bit types on), its (B, T, N, H) layout from the canonical
    (N, H, L, E)."""
    jax = _jax()
    q, k, v = (np.swapaxes(np.asarray(x, dtype=np.float64), 1, 2) for x in (query, key, value))
    keep = None if mask is None else np.asarray(mask, dtype=bool)
    with jax.enable_x64(True):
        b = None if bias is None else jax.numpy.asarray(bias, dtype=jax.numpy.float64)
        q, k, v = (jax.numpy.asarray(x, dtype=jax.numpy.float64) for x in (q, k, v))
        y = np.asarray(jax.nn.dot_product_attention(q, k, v, bias=b, mask=keep, is_causal=causal))
    return np.swapaxes(y, 1, 2)


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


# --- learning-rate schedules and gradient clipping: optax ------------------------------------------------


def step_lr_default_gamma() -> Value:
    return "required (decay_rate)"  # optax.exponential_decay has no default decay rate


def cosine_annealing_lr_default_eta_min() -> Value:
    return num(inspect.signature(_optax().cosine_decay_schedule).parameters["alpha"].default)


def cosine_annealing_lr_after_t_max() -> Value:
    t_max = reference_conventions.SCHEDULE_PROBE_T_MAX
    return num(_optax().cosine_decay_schedule(1.0, t_max)(2 * t_max))


def linear_warmup_lr_default_start_factor() -> Value:
    return "required (init_value)"  # optax.linear_schedule has no default start


def lr_schedule_first_step_count() -> Value:
    optax = _optax()
    sgd = optax.sgd(optax.exponential_decay(1.0, transition_steps=1, decay_rate=0.5, staircase=True))
    return reference_conventions.first_step_count_read(_optax_step(sgd, 1.0)[0])


def lr_schedule_float64_hyperparameters() -> Value:
    optax, jax = _optax(), _jax()
    with jax.enable_x64(True):
        schedule = optax.exponential_decay(jax.numpy.float64(1.0), 1, 0.1, staircase=True)
        return reference_conventions.float64_rate_read(schedule(1))


def clip_grad_norm_eps() -> Value:
    optax, jax = _optax(), _jax()
    with jax.enable_x64(True):
        g = jax.numpy.asarray(reference_conventions.CLIP_PROBE, dtype=jax.numpy.float64)
        transform = optax.clip_by_global_norm(1.0)
        clipped, _ = transform.update(g, transform.init(g))
        return reference_conventions.clip_eps_read(float(clipped[0]))


# --- transposed convolution (issue 13): jax.lax.conv_transpose, NHWC by default; no output_padding argument
# and no adaptive pooling in JAX.


def conv_transpose2d_kernel_layout() -> Value:
    jax = _jax()
    x = np.zeros((1, 1, 1, 2), np.float32)  # NHWC: 2 input channels
    return reference_conventions.kernel_layout_read(
        lambda shape: jax.lax.conv_transpose(x, np.zeros(shape, np.float32), (1, 1), "VALID").shape[-1]
    )


def conv_transpose2d_adjoint_by_default() -> Value:
    jax = _jax()
    w = np.array([1.0, 2.0], np.float32).reshape(1, 2, 1, 1)  # HWIO
    return reference_conventions.transpose_of_one_read(
        jax.lax.conv_transpose(np.ones((1, 1, 1, 1), np.float32), w, (1, 1), "VALID")
    )


def conv_transpose2d_same_padding() -> Value:
    jax = _jax()
    x, w = np.zeros((1, 1, 3, 1), np.float32), np.zeros((1, 3, 1, 1), np.float32)  # NHWC, HWIO
    return reference_conventions.same_output_read(int(jax.lax.conv_transpose(x, w, (1, 2), "SAME").shape[2]))


# --- interpolation (issue 13): jax.image.resize, NHWC or any layout (the shape names every axis) -----------


def _jax_resize(x: list, size: tuple[int, int], method: str) -> Any:
    jax = _jax()
    with jax.enable_x64(True):
        a = jax.numpy.asarray(x, dtype=jax.numpy.float64)
        return jax.image.resize(a, (*a.shape[:2], *size), method)


def interpolate_align_corners_default() -> Value:
    return reference_conventions.coordinate_map_read(_jax_resize(reference_conventions.RESIZE_ROW, (1, 4), "linear"))


def interpolate_nearest_rounding() -> Value:
    return reference_conventions.nearest_rounding_read(
        _jax_resize(reference_conventions.RESIZE_RAMP, (1, 3), "nearest")
    )


def interpolate_antialias_default() -> Value:
    return reference_conventions.antialias_read(_jax_resize(reference_conventions.RESIZE_RAMP, (1, 3), "linear"))


def interpolate_bilinear_output_dtype() -> Value:
    return str(_jax_resize(reference_conventions.RESIZE_ROW, (1, 4), "linear").dtype)


# --- gated recurrent cells, layers and multi-head attention: flax.linen (JAX itself has none) -------------------
# One unit, zero kernels and input; the probe's biases set on flax's named Dense layers: the LSTM's hidden ones
# (hi, hf, hg, ho: flax's only biases), the GRU's input ones (ir, iz, in; hn's bias left 0).


def _flax_lstm(b: list[float]) -> tuple[float, float]:
    zero = np.zeros((1, 1))
    params = {f"i{g}": {"kernel": zero} for g in "ifgo"}
    params |= {f"h{g}": {"kernel": zero, "bias": np.array([v])} for g, v in zip("ifgo", b, strict=True)}
    carry = (np.ones((1, 1)), np.zeros((1, 1)))  # flax's carry is (c, h)
    (c1, h1), _ = _flax().LSTMCell(features=1).apply({"params": params}, carry, np.zeros((1, 1)))
    return float(h1[0, 0]), float(c1[0, 0])


def _flax_gru(b: list[float], h: list[float], w_hn: Any = None) -> Any:
    n = len(h)
    zero = np.zeros((n, n))
    params = {f"i{g}": {"kernel": np.zeros((1, n)), "bias": np.asarray(b[k * n : (k + 1) * n])} for k, g in
              enumerate("rzn")}  # fmt: skip
    params |= {"hr": {"kernel": zero}, "hz": {"kernel": zero}}
    params["hn"] = {"kernel": zero if w_hn is None else np.asarray(w_hn).T, "bias": np.zeros(n)}
    h1, _ = _flax().GRUCell(features=n).apply({"params": params}, np.asarray([h]), np.zeros((1, 1)))
    return np.asarray(h1[0])


def _bias_params(cell: Any, width: int) -> dict[str, Any]:
    """The bias parameters of a freshly initialised flax cell, by layer name."""
    jax = _jax()
    variables = cell.init(jax.random.key(0), cell.initialize_carry(jax.random.key(1), (1, width)), np.zeros((1, width)))
    return {name: layer["bias"] for name, layer in variables["params"].items() if "bias" in layer}


def lstm_gate_order() -> Value:
    return readings.lstm_gate_order_read(_flax_lstm)


def lstm_bias_count() -> Value:
    """Bias vectors per gate: flax's LSTMCell has one per gate (on the hidden Dense), so one."""
    biases = _bias_params(_flax().LSTMCell(features=2), 1)
    return max(sum(1 for name in biases if name[1:] == gate) for gate in "ifgo")


def lstm_forget_bias_init() -> Value:
    hidden = 64
    biases = _bias_params(_flax().LSTMCell(features=hidden), 1)
    others = np.concatenate([np.asarray(biases[f"h{g}"]) for g in "igo"])
    return readings.forget_bias_init_read(biases["hf"], others, hidden)


def gru_gate_order() -> Value:
    return readings.gru_gate_order_read(lambda b: float(_flax_gru(b, [0.5])[0]))


def gru_reset_after() -> Value:
    s = readings.GATE_SATURATION
    b = [*readings.GRU_RESET_R_BIAS, -s, -s, 0.0, 0.0]  # blocks r, z, n
    return readings.gru_reset_read(_flax_gru(b, list(readings.GRU_RESET_H), readings.GRU_RESET_W_HN))


def gru_bias_count() -> Value:
    """Bias vectors of the candidate n, the gate that tells one from two: flax's GRUCell has b_in and b_hn."""
    biases = _bias_params(_flax().GRUCell(features=2), 1)
    return sum(1 for name in biases if name[1:] == "n")


def lstm_go_backwards_output_order() -> Value:
    """flax.linen.RNN(reverse=True) with its default keep_order=False, the candidate reading x (one unit)."""
    w = np.asarray(reference_conventions.LSTM_PROBE_W_IH, dtype=np.float64)  # blocks i, f, g, o: g reads x
    params = {f"i{g}": {"kernel": w[k : k + 1]} for k, g in enumerate("ifgo")}
    params |= {f"h{g}": {"kernel": np.zeros((1, 1)), "bias": np.zeros(1)} for g in "ifgo"}
    nn = _flax()
    x = np.asarray(reference_conventions.BACKWARDS_X, dtype=np.float64)
    carry = (np.zeros((1, 1)), np.zeros((1, 1)))  # given: flax's own initial carry is float32 whatever x is
    outputs = nn.RNN(nn.LSTMCell(features=1), reverse=True).apply({"params": {"cell": params}}, x, initial_carry=carry)
    return reference_conventions.backwards_order_read(outputs)


def _flax_mha_params() -> dict[str, Any]:
    """The parameters of a freshly initialised flax.linen.MultiHeadDotProductAttention(2) on E = 4, by layer name."""
    layer = _flax().MultiHeadDotProductAttention(num_heads=2)
    x = np.zeros((1, 1, 4))
    return dict(layer.init(_jax().random.key(0), x, x, x)["params"])


def mha_projection_layout() -> Value:
    shapes = {name: tuple(layer["kernel"].shape) for name, layer in _flax_mha_params().items()}
    return reference_conventions.mha_layout_read(shapes, 4, 2)


def mha_batch_first_default() -> Value:
    """flax attends over the second-to-last axis, batch axes first: (N, L, E) is batch first."""
    layer = _flax().MultiHeadDotProductAttention(num_heads=1, qkv_features=1, out_features=1)
    q = np.zeros((2, 3, 1))
    kv = np.asarray([[[0.0], [0.0], [0.0]], [[5.0], [5.0], [5.0]]])  # batch 1's values all 5, batch 0's all 0
    params = {n: {"kernel": np.ones((1, 1, 1)), "bias": np.zeros((1, 1))} for n in ("query", "key", "value")}
    params["out"] = {"kernel": np.ones((1, 1, 1)), "bias": np.zeros(1)}
    y = np.asarray(layer.apply({"params": params}, q, kv, kv))
    return bool(np.allclose(y[1], 5.0) and np.allclose(y[0], 0.0))


def mha_default_bias() -> Value:
    params = _flax_mha_params()
    return all("bias" in params[n] for n in ("query", "key", "value"))


# --- the Transformer block: neither JAX nor flax.linen has one; a block composed in JAX normalizes with
# jax.nn.standardize, whose epsilon it takes unless given.


def transformer_layer_norm_eps() -> Value:
    return num(inspect.signature(_jax().nn.standardize).parameters["epsilon"].default)


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
    Probe("rms_norm.default_eps", "flax.linen.RMSNorm() (JAX has no RMS norm)", rms_norm_default_eps),
    Probe("group_norm.default_eps", "flax.linen.GroupNorm(num_groups=1) (JAX has none)", group_norm_default_eps),
    Probe("group_norm.variance", "flax.linen.GroupNorm(num_groups=1)", group_norm_variance),
    Probe("batch_norm.default_eps", "flax.linen.BatchNorm (training; JAX has no batch norm)", batch_norm_default_eps),
    Probe("batch_norm.new_batch_weight", "flax.linen.BatchNorm (training)", batch_norm_new_batch_weight),
    Probe("batch_norm.momentum_meaning", "flax.linen.BatchNorm(momentum=0.25)", batch_norm_momentum_meaning),
    Probe("batch_norm.running_variance", "flax.linen.BatchNorm(momentum=0)", batch_norm_running_variance),
    Probe("huber_loss.default_delta", "optax.losses.huber_loss (JAX has none of its own)", huber_loss_default_delta),
    Probe(
        "smooth_l1_loss.scaling", "optax.losses.huber_loss(delta=2) (optax has no smooth L1)", smooth_l1_loss_scaling
    ),
    Probe("kl_div.input_space", "jax.scipy.special.rel_entr (optax.losses.kl_divergence: log q)", kl_div_input_space),
    Probe("kl_div.default_reduction", "jax.scipy.special.rel_entr", kl_div_default_reduction),
    Probe("kl_div.clipping", "jax.scipy.special.rel_entr (float64)", kl_div_clipping),
    Probe(
        "cross_entropy.label_smoothing_formula",
        "optax.losses.softmax_cross_entropy(logits, optax.smooth_labels(onehot, 0.4))",
        cross_entropy_label_smoothing_formula,
    ),
    Probe(
        "binary_cross_entropy.label_smoothing_formula",
        "optax.losses.sigmoid_binary_cross_entropy(label_smoothing=0.4)",
        binary_cross_entropy_label_smoothing_formula,
    ),
    Probe(
        "binary_cross_entropy_with_logits.pos_weight",
        "optax.losses.sigmoid_binary_cross_entropy(pos_weight=3)",
        binary_cross_entropy_with_logits_pos_weight,
    ),
    Probe("dropout.rate_meaning", "flax.linen.Dropout(rate=0.2)", dropout_rate_meaning),
    Probe("dropout.scaling", "flax.linen.Dropout(rate=0.5)", dropout_scaling),
    Probe("dropout.dropped_nan", "flax.linen.Dropout(rate=0.5)", dropout_dropped_nan),
    Probe("lstm.gate_order", "flax.linen.LSTMCell", lstm_gate_order),
    Probe("lstm.bias_count", "flax.linen.LSTMCell", lstm_bias_count),
    Probe("lstm.forget_bias_init", "flax.linen.LSTMCell", lstm_forget_bias_init),
    Probe("gru.gate_order", "flax.linen.GRUCell", gru_gate_order),
    Probe("gru.reset_after", "flax.linen.GRUCell", gru_reset_after),
    Probe("gru.bias_count", "flax.linen.GRUCell", gru_bias_count),
    Probe("lstm.go_backwards_output_order", "flax.linen.RNN(reverse=True)", lstm_go_backwards_output_order),
    Probe("mha.projection_layout", "flax.linen.MultiHeadDotProductAttention(2)", mha_projection_layout),
    Probe("mha.batch_first_default", "flax.linen.MultiHeadDotProductAttention", mha_batch_first_default),
    Probe("mha.default_bias", "flax.linen.MultiHeadDotProductAttention(use_bias)", mha_default_bias),
    Probe("embedding.out_of_range_index", "jax.numpy.take(axis=0) (flax's nn.Embed)", embedding_out_of_range_index),
    Probe("embedding.negative_index", "jax.numpy.take(axis=0) (flax's nn.Embed)", embedding_negative_index),
    Probe("adam.default_eps", "optax.adam", adam_default_eps),
    Probe("adam.eps_placement", "optax.adam (float64)", adam_eps_placement),
    Probe("adam.weight_decay", "optax.adam", adam_weight_decay),
    Probe("adam.float64_hyperparameters", "optax.adam (float64)", adam_float64_hyperparameters),
    Probe("adamw.default_weight_decay", "optax.adamw", adamw_default_weight_decay),
    Probe("sgd.momentum_formulation", "optax.sgd(momentum=0.5) (float64)", sgd_momentum_formulation),
    Probe("sgd.first_step_buffer", "optax.sgd(momentum=0.5) (float64)", sgd_first_step_buffer),
    Probe("sgd.dampening", "optax.sgd", sgd_dampening),
    Probe("sgd.nesterov_formulation", "optax.sgd(nesterov=True) (float64)", sgd_nesterov_formulation),
    Probe("sgd.weight_decay_coupling", "optax.sgd", sgd_weight_decay_coupling),
    Probe("sgd.float64_momentum", "optax.sgd(momentum=0.9) (float64)", sgd_float64_momentum),
    Probe("sgd.default_learning_rate", "optax.sgd", sgd_default_learning_rate),
    Probe("rmsprop.eps_placement", "optax.rmsprop (float64)", rmsprop_eps_placement),
    Probe("rmsprop.default_decay", "optax.rmsprop (decay)", rmsprop_default_decay),
    Probe("rmsprop.default_eps", "optax.rmsprop", rmsprop_default_eps),
    Probe("rmsprop.default_lr", "optax.rmsprop (learning_rate)", rmsprop_default_lr),
    Probe("adagrad.eps_placement", "optax.adagrad (float64)", adagrad_eps_placement),
    Probe("adagrad.default_eps", "optax.adagrad", adagrad_default_eps),
    Probe("adagrad.default_lr", "optax.adagrad (learning_rate)", adagrad_default_lr),
    Probe("adagrad.initial_accumulator", "optax.adagrad (sum_of_squares)", adagrad_initial_accumulator),
    Probe("kaiming.default_mode", "jax.nn.initializers.he_normal()", kaiming_default_mode),
    Probe("kaiming.default_gain", "jax.nn.initializers.he_normal()", kaiming_default_gain),
    Probe("xavier_normal.distribution", "jax.nn.initializers.glorot_normal()", xavier_normal_distribution),
    Probe("kaiming_normal.distribution", "jax.nn.initializers.he_normal()", kaiming_normal_distribution),
    Probe("init.conv_fan_layout", "jax.nn.initializers.he_normal() on a (3, 3, 4, 64) kernel", init_conv_fan_layout),
    Probe(
        "attention.boolean_mask_meaning",
        "jax.nn.dot_product_attention(mask)",
        attention_boolean_mask_meaning,
    ),
    Probe(
        "attention.default_scale",
        "jax.nn.dot_product_attention",
        attention_default_scale,
    ),
    Probe(
        "attention.fully_masked_row",
        "jax.nn.dot_product_attention(mask)",
        attention_fully_masked_row,
    ),
    Probe(
        "attention.fully_masked_bias_row",
        "jax.nn.dot_product_attention(bias)",
        attention_fully_masked_bias_row,
    ),
    Probe(
        "attention.causal_alignment",
        "jax.nn.dot_product_attention(is_causal=True)",
        attention_causal_alignment,
    ),
    Probe(
        "attention.float64_softmax",
        "jax.nn.dot_product_attention (float64)",
        attention_float64_softmax,
    ),
    Probe("step_lr.default_gamma", "optax.exponential_decay", step_lr_default_gamma),
    Probe(
        "cosine_annealing_lr.default_eta_min",
        "optax.cosine_decay_schedule (alpha)",
        cosine_annealing_lr_default_eta_min,
    ),
    Probe(
        "cosine_annealing_lr.after_t_max",
        "optax.cosine_decay_schedule(1.0, decay_steps=4)(8)",
        cosine_annealing_lr_after_t_max,
    ),
    Probe("linear_warmup_lr.default_start_factor", "optax.linear_schedule", linear_warmup_lr_default_start_factor),
    Probe("lr_schedule.first_step_count", "optax.sgd(optax.exponential_decay(...))", lr_schedule_first_step_count),
    Probe(
        "lr_schedule.float64_hyperparameters",
        "optax.exponential_decay(decay_rate=0.1) (x64)",
        lr_schedule_float64_hyperparameters,
    ),
    Probe("clip_grad_norm.eps", "optax.clip_by_global_norm (float64)", clip_grad_norm_eps),
    Probe(
        "conv_transpose2d.kernel_layout",
        "jax.lax.conv_transpose (default dimension_numbers)",
        conv_transpose2d_kernel_layout,
    ),
    Probe(
        "conv_transpose2d.adjoint_by_default",
        "jax.lax.conv_transpose (transpose_kernel=False)",
        conv_transpose2d_adjoint_by_default,
    ),
    Probe("conv_transpose2d.same_padding", "jax.lax.conv_transpose(padding='SAME')", conv_transpose2d_same_padding),
    Probe("interpolate.align_corners_default", "jax.image.resize('linear')", interpolate_align_corners_default),
    Probe("interpolate.nearest_rounding", "jax.image.resize('nearest')", interpolate_nearest_rounding),
    Probe("interpolate.antialias_default", "jax.image.resize('linear')", interpolate_antialias_default),
    Probe("interpolate.bilinear_output_dtype", "jax.image.resize('linear')", interpolate_bilinear_output_dtype),
    Probe("transformer.layer_norm_eps", "jax.nn.standardize(epsilon)", transformer_layer_norm_eps),
)
