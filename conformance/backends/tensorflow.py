"""TensorFlow (with Keras 3) as a backend: ``tf.nn`` / ``tf.math`` ops, Keras where TF has none, ``tf.GradientTape``.

The canonical layouts are PyTorch's; TensorFlow's are not, so this adapter
translates, and the translations are the small public helpers below (unit
tested against NumPy in ``tests/conformance/test_tensorflow.py``):

* convolution: TensorFlow's CPU kernels take NHWC inputs and HWIO filters
  only, so ``x`` goes NCHW → NHWC and ``weight`` OIHW → HWIO, and the result
  NHWC → NCHW. ``tf.nn.convolution`` is used (its dilated path has gradients
  on the CPU, ``tf.nn.conv2d``'s does not); TensorFlow refuses a stride > 1
  together with a dilation > 1, so that case runs at stride 1 and keeps every
  ``stride``-th output (the same numbers). Groups: the CPU has no gradient for
  grouped convolution, so the channels are split into ``groups`` convolutions
  and the outputs concatenated (the definition of a grouped convolution);
* padding: explicit, with :func:`pad_hw` before a ``VALID`` call: zeros for
  convolution, −inf for max pooling (it never wins). ``tf.nn.avg_pool2d`` has
  no explicit padding: the input is padded with zeros, pooled ``VALID`` (the
  window sum over ``kH·kW``: ``count_include_pad=True``) and, for
  ``count_include_pad=False``, multiplied by ``kH·kW / n`` where ``n`` is the
  number of cells of ``x`` in each window (:func:`window_cells`);
* rnn: Keras 3's ``SimpleRNN`` layer, called statelessly with the canonical
  weights: ``kernel = w_ihᵀ``, ``recurrent_kernel = w_hhᵀ`` and its *single*
  bias ``= b_ih + b_hh`` (Keras has one bias where PyTorch has two; the sum
  gives the same pre-activation, and the tape splits the gradient back to
  both);
* lstm_cell, gru_cell: Keras 3's ``LSTMCell`` (gates i, f, c, o as PyTorch's
  i, f, g, o; one bias ``= b_ih + b_hh``) and ``GRUCell`` with its default
  ``reset_after=True`` (PyTorch's placement; blocks reordered from r, z, n to
  Keras' z, r, n; its (2, 3H) bias holds both), kernels transposed;
* losses: ``tf.nn.sparse_softmax_cross_entropy_with_logits`` for
  cross-entropy; binary cross-entropy is written with ``tf.math.log``
  clamped at −100 (Keras' ``binary_crossentropy`` clips probabilities to
  ``[1e-7, 1 − 1e-7]`` instead: a different function near 0 and 1, measured
  by ``dlterms conventions``); Huber, smooth L1 and KL from Keras'
  ``huber`` and ``kl_divergence`` on a trailing axis of 1 (each element's
  term), smooth L1 as huber(δ = β)/β, KL with q = e^input (Keras reads
  probabilities) and 0 where p = 0 (its clip to ``[1e-7, 1]`` makes that term
  1e-7·log(1e-7/q)).

``use_device("cuda:1")`` runs every op (and the tape) under
``tf.device("/GPU:1")``: TensorFlow would otherwise put ops on the first GPU
whatever the inputs' device.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up banner out of the report

import keras
import tensorflow as tf
from dlterms.reference.rmsprop import adagrad_rate

from dlterms.ops import as_pair

from ..checks import Unsupported, UnsupportedCase

name = "tensorflow"
version = tf.__version__
dtypes = ("float16", "bfloat16", "float32", "float64")
device = "/CPU:0"

_LOG_CLAMP = -100.0  # binary_cross_entropy clamps each log below at −100 (the canonical definition)

F = TypeVar("F", bound=Callable[..., Any])


# --- devices and facts ------------------------------------------------------------------


def use_device(spec: str) -> None:
    """Compute on ``spec`` (``cpu``, ``cuda``, ``cuda:1``, ``gpu:0``); ValueError if it is not there."""
    global device
    kind, _, index = spec.partition(":")
    kind = {"cuda": "GPU", "gpu": "GPU", "cpu": "CPU"}.get(kind.lower(), "")
    if not kind or (index and not index.isdigit()):
        raise ValueError(f"tensorflow: --device {spec!r}; expected cpu, cuda, cuda:N or gpu:N")
    found = tf.config.list_logical_devices(kind)
    i = int(index or 0)
    if i >= len(found):
        raise ValueError(
            f"tensorflow: --device {spec!r} but TensorFlow sees {len(found)} {kind} device(s)"
            + ("" if tf.test.is_built_with_cuda() else " (this TensorFlow is built without CUDA)")
        )
    device = f"/{kind}:{i}"


def facts() -> dict[str, Any]:
    """Device, versions and the math modes that change float32 results."""
    build = tf.sysconfig.get_build_info()
    tf32 = bool(tf.config.experimental.tensor_float_32_execution_enabled())
    on_gpu = "GPU" in device
    return {
        "device": device,
        "framework_versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "driver": {k: build[k] for k in ("cuda_version", "cudnn_version") if k in build},
        "math_modes": {
            "tensor_float_32_execution_enabled": tf32,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        },
        "reduced_precision": ["tf.config.experimental.tensor_float_32_execution_enabled()=True"]
        if on_gpu and tf32
        else [],
    }


def _on_device(op: F) -> F:
    @functools.wraps(op)
    def placed(*args: Any, **kwargs: Any) -> Any:
        with tf.device(device):
            return op(*args, **kwargs)

    return placed  # type: ignore[return-value]


# --- arrays and autodiff ------------------------------------------------------------------


@_on_device
def asarray(data: Any, dtype: str = "float64") -> tf.Tensor:
    return tf.constant(np.asarray(data, dtype=np.float64 if dtype == "bfloat16" else dtype), dtype=dtype)


def to_numpy(x: tf.Tensor) -> np.ndarray:
    if x.dtype == tf.bfloat16:
        x = tf.cast(x, tf.float64)  # numpy has no bfloat16
    return x.numpy()


@_on_device
def vjp(fn: Callable[..., Any], primals: tuple[tf.Tensor, ...], cotangent: Any) -> tuple[tf.Tensor, ...]:
    if getattr(fn, "op", None) in NOT_DIFFERENTIABLE:
        raise Unsupported(f"{fn.op}: Keras' optimizers assign to variables, which GradientTape does not differentiate")
    primals = tuple(tf.identity(p) for p in primals)
    with tf.GradientTape() as tape:
        for p in primals:
            tape.watch(p)
        out = fn(*primals)
    if isinstance(out, tuple):
        out, cotangent = list(out), list(cotangent)
    grads = tape.gradient(
        out, list(primals), output_gradients=cotangent, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    # A gather's gradient (embedding_lookup) comes as tf.IndexedSlices: the contract's gradients are dense.
    return tuple(tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads)


# --- layout helpers (public, tested against NumPy) ------------------------------------------


def nchw_to_nhwc(x: tf.Tensor) -> tf.Tensor:
    return tf.transpose(x, (0, 2, 3, 1))


def nhwc_to_nchw(x: tf.Tensor) -> tf.Tensor:
    return tf.transpose(x, (0, 3, 1, 2))


def oihw_to_hwio(w: tf.Tensor) -> tf.Tensor:
    return tf.transpose(w, (2, 3, 1, 0))


def pad_hw(x: tf.Tensor, padding: tuple[int, int], value: float = 0.0) -> tf.Tensor:
    """Pad the spatial axes of an NHWC tensor by ``padding = (ph, pw)`` on each side with ``value``."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], constant_values=tf.cast(value, x.dtype))


def window_cells(
    size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """For each pooling window (OH, OW), how many of its cells lie in the unpadded input."""

    def per_axis(n: int, k: int, s: int, p: int) -> np.ndarray:
        starts = np.arange(0, n + 2 * p - k + 1, s) - p  # first input index of each window
        return np.minimum(starts + k, n) - np.maximum(starts, 0)

    return np.outer(
        per_axis(size[0], kernel[0], stride[0], padding[0]), per_axis(size[1], kernel[1], stride[1], padding[1])
    )


# --- activations ------------------------------------------------------------------------------


@_on_device
def sigmoid(x: tf.Tensor) -> tf.Tensor:
    return tf.math.sigmoid(x)


@_on_device
def tanh(x: tf.Tensor) -> tf.Tensor:
    return tf.math.tanh(x)


@_on_device
def silu(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.silu(x)


@_on_device
def gelu(x: tf.Tensor, approximate: str = "none") -> tf.Tensor:
    return tf.nn.gelu(x, approximate=approximate == "tanh")  # a bool (False by default; Keras' ops.gelu: True)


@_on_device
def elu(x: tf.Tensor, alpha: float = 1.0) -> tf.Tensor:
    return keras.ops.elu(x, alpha=alpha)  # tf.nn.elu has no alpha; Keras scales its negative part


@_on_device
def softplus(x: tf.Tensor, beta: float = 1.0) -> tf.Tensor:
    return tf.math.softplus(beta * x) / beta  # no beta in TensorFlow; the cases keep β a power of two


@_on_device
def log_sigmoid(x: tf.Tensor) -> tf.Tensor:
    return tf.math.log_sigmoid(x)


@_on_device
def relu(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.relu(x)


@_on_device
def leaky_relu(x: tf.Tensor, negative_slope: float = 0.01) -> tf.Tensor:
    return tf.nn.leaky_relu(x, alpha=negative_slope)  # TF's own default is alpha=0.2


@_on_device
def softmax(x: tf.Tensor, axis: int = -1) -> tf.Tensor:
    return tf.nn.softmax(x, axis=axis)


@_on_device
def log_softmax(x: tf.Tensor, axis: int = -1) -> tf.Tensor:
    return tf.nn.log_softmax(x, axis=axis)


# --- layers, losses, optimisation -----------------------------------------------------------


@_on_device
def linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | None = None) -> tf.Tensor:
    y = tf.tensordot(x, weight, axes=[[x.shape.rank - 1], [1]])  # x Wᵀ over the last axis, any leading axes
    return y if bias is None else y + bias


# --- normalization: Keras 3 (keras.ops.layer_normalization, keras.ops.rms_normalization,
# keras.layers.GroupNormalization); TensorFlow has none of its own. Keras computes x·(w/s) + (b − μ·w/s),
# s = √(σ² + ε) by rsqrt, with tf.nn.moments' two-pass biased variance, in float32 at least. Its defaults
# differ (epsilon 1e-3 for the layers, 1e-7 for the ops; the conventions *.default_eps): eps is always passed.


def _trailing_axes(x: tf.Tensor, normalized_shape: Any) -> list[int]:
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    return list(range(x.shape.rank - k, x.shape.rank))


@_on_device
def layer_norm(
    x: tf.Tensor,
    normalized_shape: Any,
    weight: tf.Tensor | None = None,
    bias: tf.Tensor | None = None,
    eps: float = 1e-5,
) -> tf.Tensor:
    return keras.ops.layer_normalization(x, weight, bias, axis=_trailing_axes(x, normalized_shape), epsilon=eps)


@_on_device
def rms_norm(
    x: tf.Tensor, normalized_shape: Any, weight: tf.Tensor | None = None, eps: float | None = None
) -> tf.Tensor:
    # Keras' epsilon=None is keras.config.epsilon() (1e-7); the canonical None is the dtype's machine epsilon.
    eps = float(np.finfo(x.dtype.as_numpy_dtype).eps) if eps is None else eps
    return keras.ops.rms_normalization(x, weight, axis=_trailing_axes(x, normalized_shape), epsilon=eps)


# Keras' normalization layers, built once per constructor arguments and input shape (as the recurrent and attention
# layers below are): a layer is a function of its arguments and its variables, and batch_norm sets its moving
# statistics before every call (tests/conformance/test_tensorflow.py compares them with fresh layers bit for bit).
@functools.lru_cache(maxsize=256)
def _group_norm_layer(groups: int, eps: float, dtype: str, shape: tuple[int, ...]) -> keras.layers.GroupNormalization:
    layer = keras.layers.GroupNormalization(groups=groups, axis=1, epsilon=eps, center=False, scale=False, dtype=dtype)
    layer.build(shape)
    return layer


@functools.lru_cache(maxsize=256)
def _batch_norm_layer(eps: float, dtype: str, shape: tuple[int, ...]) -> keras.layers.BatchNormalization:
    layer = keras.layers.BatchNormalization(axis=1, epsilon=eps, center=False, scale=False, dtype=dtype)
    layer.build(shape)
    return layer


@_on_device
def group_norm(
    x: tf.Tensor,
    num_groups: int,
    weight: tf.Tensor | None = None,
    bias: tf.Tensor | None = None,
    eps: float = 1e-5,
) -> tf.Tensor:
    # The layer normalizes (channels on axis 1, as canonical); its own gamma and beta are variables, not
    # inputs the tape could differentiate, so the per-channel affine map is applied here.
    y = _group_norm_layer(num_groups, eps, x.dtype.name, tuple(x.shape))(x)
    per_channel = [-1] + [1] * (x.shape.rank - 2)
    y = y if weight is None else y * tf.reshape(weight, per_channel)
    return y if bias is None else y + tf.reshape(bias, per_channel)


@_on_device
def batch_norm(
    x: tf.Tensor,
    running_mean: tf.Tensor,
    running_var: tf.Tensor,
    weight: tf.Tensor | None = None,
    bias: tf.Tensor | None = None,
    training: bool = False,
    eps: float = 1e-5,
) -> tf.Tensor:
    # keras.layers.BatchNormalization (channels on axis 1, as canonical) with its moving statistics set to
    # the running ones (read in evaluation); its epsilon defaults to 1e-3 (the convention batch_norm.default_eps),
    # so eps is passed. Its gamma and beta are variables, not inputs the tape could differentiate, so the
    # per-channel affine map is applied here.
    layer = _batch_norm_layer(eps, x.dtype.name, tuple(x.shape))
    layer.moving_mean.assign(tf.cast(running_mean, layer.moving_mean.dtype))
    layer.moving_variance.assign(tf.cast(running_var, layer.moving_variance.dtype))
    y = layer(x, training=training)
    per_channel = [-1] + [1] * (x.shape.rank - 2)
    y = y if weight is None else y * tf.reshape(weight, per_channel)
    return y if bias is None else y + tf.reshape(bias, per_channel)


@_on_device
def batch_norm_running_stats(
    x: tf.Tensor, running_mean: tf.Tensor, running_var: tf.Tensor, momentum: float = 0.1
) -> tuple[tf.Tensor, tf.Tensor]:
    # Keras' moving variance takes the biased batch variance and its momentum weights the old value (the
    # conventions batch_norm.running_variance and batch_norm.momentum_meaning), so the canonical update is
    # written with TensorFlow's own moments: tf.nn.moments (biased) times n/(n − 1).
    axes = [0, *range(2, x.shape.rank)]
    n = x.shape.num_elements() // x.shape[1]
    mean, var = tf.nn.moments(x, axes)
    unbiased = var * tf.constant(n / (n - 1), x.dtype)
    return (1 - momentum) * running_mean + momentum * mean, (1 - momentum) * running_var + momentum * unbiased


def _reduce(values: tf.Tensor, reduction: str) -> tf.Tensor:
    if reduction == "none":
        return values
    if reduction == "sum":
        return tf.reduce_sum(values)
    if reduction == "mean":
        return tf.reduce_sum(values) / tf.cast(tf.size(values), values.dtype)  # 0/0 = NaN for no values
    raise ValueError(f"tensorflow adapter: reduction={reduction!r}; expected 'none', 'mean' or 'sum'")


@_on_device
def mse_loss(input: tf.Tensor, target: tf.Tensor, reduction: str = "mean") -> tf.Tensor:
    return _reduce(tf.math.squared_difference(input, target), reduction)


@_on_device
def binary_cross_entropy(input: tf.Tensor, target: tf.Tensor, reduction: str = "mean") -> tf.Tensor:
    log_p = tf.maximum(tf.math.log(input), _LOG_CLAMP)
    log_q = tf.maximum(tf.math.log1p(-input), _LOG_CLAMP)
    return _reduce(-(target * log_p + (1 - target) * log_q), reduction)


@_on_device
def cross_entropy(logits: tf.Tensor, target: tf.Tensor, reduction: str = "mean") -> tf.Tensor:
    if tf.size(logits) == 0:  # an empty batch arrives as shape (0,): N = 0 rows
        logits = tf.reshape(logits, (0, 1))
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
    return _reduce(losses, reduction)


# --- robust regression losses and the KL divergence: Keras 3's (TensorFlow has none of its own) -----------
# keras.losses.huber and kl_divergence average (Huber) or sum (KL) over the last axis, and the Huber and
# KLDivergence classes then average over the batch: a trailing axis of 1 keeps each element's term, and the
# canonical reduction is applied here. Keras has no smooth L1: huber(delta=β)/β (β a power of two in the
# cases: exact), the absolute error at β = 0.


def _per_element(loss: Callable[..., tf.Tensor], y_true: tf.Tensor, y_pred: tf.Tensor, **kw: Any) -> tf.Tensor:
    return loss(y_true[..., None], y_pred[..., None], **kw)


@_on_device
def huber_loss(input: tf.Tensor, target: tf.Tensor, delta: float = 1.0, reduction: str = "mean") -> tf.Tensor:
    return _reduce(_per_element(keras.losses.huber, target, input, delta=delta), reduction)


@_on_device
def smooth_l1_loss(input: tf.Tensor, target: tf.Tensor, beta: float = 1.0, reduction: str = "mean") -> tf.Tensor:
    if beta == 0:
        return _reduce(tf.abs(input - target), reduction)
    return _reduce(_per_element(keras.losses.huber, target, input, delta=beta) / beta, reduction)


@_on_device
def kl_div(input: tf.Tensor, target: tf.Tensor, reduction: str = "mean", log_target: bool = False) -> tf.Tensor:
    # Keras takes probabilities for both (the convention kl_div.input_space): q = e^input, p = target (or
    # e^target). It clips both to [1e-7, 1] (kl_div.clipping), which turns a term of p = 0 into
    # 1e-7·log(1e-7/q); the canonical 0·log 0 = 0 is restored there. Elsewhere its clip is left as it is.
    p = tf.exp(target) if log_target else target
    terms = _per_element(keras.losses.kl_divergence, p, tf.exp(input))
    terms = tf.where(tf.equal(p, 0), tf.zeros_like(terms), terms)
    if reduction == "batchmean":
        return tf.reduce_sum(terms) / (terms.shape[0] if terms.shape.rank else 1)
    return _reduce(terms, reduction)


# --- classification losses beyond the seed: nll_loss (a gather: TensorFlow has none), BCE with logits
# (tf.nn.sigmoid_cross_entropy_with_logits; tf.nn.weighted_cross_entropy_with_logits for pos_weight) and
# label smoothing (keras.losses.categorical_crossentropy(from_logits=True, label_smoothing=ε), per row).


def _rows(x: tf.Tensor) -> tf.Tensor:
    return tf.reshape(x, (0, 1)) if tf.size(x) == 0 else x  # an empty batch arrives as shape (0,)


@_on_device
def nll_loss(
    input: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | None = None, reduction: str = "mean"
) -> tf.Tensor:
    picked = tf.gather(_rows(input), target, axis=1, batch_dims=1)
    w = tf.ones_like(picked) if weight is None else tf.gather(weight, target)
    terms = -w * picked
    if reduction == "mean" and weight is not None:
        return tf.reduce_sum(terms) / tf.reduce_sum(w)
    return _reduce(terms, reduction)


@_on_device
def binary_cross_entropy_with_logits(
    input: tf.Tensor, target: tf.Tensor, pos_weight: tf.Tensor | None = None, reduction: str = "mean"
) -> tf.Tensor:
    if pos_weight is None:
        return _reduce(tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=input), reduction)
    return _reduce(
        tf.nn.weighted_cross_entropy_with_logits(labels=target, logits=input, pos_weight=pos_weight), reduction
    )


@_on_device
def smoothed_cross_entropy(
    logits: tf.Tensor, target: tf.Tensor, label_smoothing: float, reduction: str = "mean"
) -> tf.Tensor:
    logits = _rows(logits)
    onehot = tf.one_hot(target, tf.shape(logits)[-1], dtype=logits.dtype)
    losses = keras.losses.categorical_crossentropy(onehot, logits, from_logits=True, label_smoothing=label_smoothing)
    return _reduce(losses, reduction)


@_on_device
def sgd_step(param: tf.Tensor, grad: tf.Tensor, lr: float) -> tf.Tensor:
    return param - lr * grad  # a Python float takes the dtype of grad exactly (tf.cast would round it to float32 first)


# --- adaptive optimisers: keras.optimizers -------------------------------------------------------

# Ops computed by Keras' optimisers, which update variables in place (assign): GradientTape does not
# differentiate through an assignment, so their VJP is unsupported here (their gradient checks too).
NOT_DIFFERENTIABLE = ("adam_step", "adamw_step", "rmsprop_step", "adagrad_step", "sgd_momentum_step")
# Ops some of whose cases TensorFlow computes in float32 only, so their float64 cases are set aside
# (UnsupportedCase): bilinear resizing (interpolate.bilinear_output_dtype).
FLOAT32_KERNELS = ("interpolate",)


def keras_epsilon(eps: float, beta2: float, step: int) -> float:
    """Keras' ``epsilon`` for the canonical ε at step t: ``ε·√(1 − β₂ᵗ)``.

    Keras adds its epsilon ε̂ to √v before the bias correction (``lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + ε̂)``),
    the paper's form with ε̂ = ε·√(1 − β₂ᵗ), where PyTorch and optax add ε to √v̂.
    """
    return eps * float(np.sqrt(1.0 - beta2**step))


def _constants(dtype: tf.DType, **values: float) -> dict[str, tf.Tensor]:
    # Keras casts a Python-float hyper-parameter through float32 (keras.ops.cast(0.999, "float64") is
    # 0.9990000128746033: the convention adam.python_float_hyperparameters); a constant tensor of the
    # parameters' dtype, which Keras accepts, keeps it exact. The learning rate is a float32 variable
    # whatever is passed (the convention adam.learning_rate_dtype).
    return {k: tf.constant(v, dtype=dtype) for k, v in values.items()}


# Keras' optimiser classes, as the adapter builds them once per (kind, dtype, shape): every value a step
# reads is set again at each call (:func:`_keras_apply`), so these construction arguments never reach a step.
_OPTIMIZERS: dict[str, Callable[[], keras.optimizers.Optimizer]] = {
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.0),
    "adamw": lambda: keras.optimizers.AdamW(learning_rate=0.0),
    "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=lambda: 0.0),  # a callable rate: see _rate
    "adagrad": lambda: keras.optimizers.Adagrad(learning_rate=lambda: 0.0),
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.0),
    "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=0.0, momentum=0.5),
}


@functools.lru_cache(maxsize=1024)
def _built_optimizer(
    kind: str, dtype: str, shape: tuple[int, ...]
) -> tuple[keras.optimizers.Optimizer, keras.Variable]:
    """One Keras optimiser of ``kind`` built on one variable named ``param`` of ``dtype`` and ``shape``, kept.

    A fresh optimiser and variable for every call (five variables and a build) cost most in a large
    process: the eight optimiser and normalization terms took 35 to 44 s run in-process (``--isolation
    off``, the pytest plugin) and 21 to 27 s with kept ones; in a whole command's worker the difference
    was within run-to-run noise (docs/benchmarks.md). Keras reads its hyper-parameters, rate, iteration
    count and slots when it applies a step, so :func:`_keras_apply` sets every one of them before each
    step, and a kept optimiser steps as a fresh one built with those arguments does
    (``tests/conformance/test_tensorflow.py`` compares the two bit for bit).
    """
    variable = keras.Variable(tf.zeros(shape, dtype=dtype), name="param")
    optimizer = _OPTIMIZERS[kind]()
    optimizer.build([variable])
    return optimizer, variable


def _keras_apply(
    kind: str,
    param: tf.Tensor,
    grad: tf.Tensor,
    slots: dict[str, tf.Tensor],
    *,
    learning_rate: float | Callable[[], tf.Tensor],
    iterations: int = 0,
    **hyper: Any,
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """One Keras step of ``kind`` from ``param`` and the canonical state: the new parameters and slots.

    The kept optimiser (:func:`_built_optimizer`) gets ``param`` in its variable, each slot
    ``param_<name>`` of ``slots``, the iteration count (t − 1 for Adam: Keras uses iterations + 1),
    the rate (a float goes into Keras' float32 rate variable: the convention adam.learning_rate_dtype)
    and each hyper-parameter attribute of ``hyper`` (``beta_1``, ``epsilon``, ``rho``, ...), then applies
    ``grad`` once.
    """
    if not (callable(learning_rate) or isinstance(learning_rate, float)):
        # As a fresh optimiser would: Keras takes a float rate, or a callable, only.
        raise ValueError(f"learning_rate={learning_rate!r}: Keras expects a float or a callable")
    optimizer, variable = _built_optimizer(kind, param.dtype.name, tuple(param.shape))
    variable.assign(param)
    named = {s.name: s for s in optimizer.variables}
    for slot, value in slots.items():
        named[f"param_{slot}"].assign(value)
    optimizer.iterations.assign(iterations)
    optimizer.learning_rate = learning_rate
    for attribute, value in hyper.items():
        if not hasattr(optimizer, attribute):
            raise AttributeError(f"{type(optimizer).__name__} has no hyper-parameter {attribute!r}")
        setattr(optimizer, attribute, value)
    optimizer.apply([grad], [variable])
    return tf.identity(variable), {slot: tf.identity(named[f"param_{slot}"]) for slot in slots}


def _adam_family(
    kind: str, param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: int, lr: float, **hyper: Any
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    new, slots = _keras_apply(
        kind,
        param,
        grad,
        {"momentum": m, "velocity": v},
        learning_rate=lr,
        iterations=step - 1,
        **_constants(param.dtype, **hyper),
    )
    return new, slots["momentum"], slots["velocity"]


@_on_device
def adam_step(
    param: tf.Tensor,
    grad: tf.Tensor,
    m: tf.Tensor,
    v: tf.Tensor,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    return _adam_family(
        "adam", param, grad, m, v, step, lr, beta_1=beta1, beta_2=beta2, epsilon=keras_epsilon(eps, beta2, step)
    )


@_on_device
def adamw_step(
    param: tf.Tensor,
    grad: tf.Tensor,
    m: tf.Tensor,
    v: tf.Tensor,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    epsilon = keras_epsilon(eps, beta2, step)
    hyper = {"weight_decay": weight_decay, "beta_1": beta1, "beta_2": beta2, "epsilon": epsilon}
    return _adam_family("adamw", param, grad, m, v, step, lr, **hyper)


@_on_device
def sgd_momentum_step(
    param: tf.Tensor,
    grad: tf.Tensor,
    momentum_buffer: tf.Tensor,
    lr: float,
    momentum: float,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    first_step: bool = False,
) -> tuple[tf.Tensor, tf.Tensor]:
    # keras.optimizers.SGD keeps the velocity v = −lr·b (v ← μ·v − lr·g, param + v; Nesterov param + μ·v′ − lr·g:
    # the convention sgd.momentum_formulation): the buffer goes in as −lr·b and comes back as −v′/lr, exact for a
    # rate that is a power of two. At lr = 0 the velocity holds no buffer, and Keras casts its momentum (a Python
    # float, which it requires) through float32 (sgd.float64_momentum): those cases are set aside. Keras' own
    # weight_decay is decoupled (sgd.weight_decay_coupling): the L2 term λ·param is added to the gradient, as an
    # L2 penalty's gradient is. It has no dampening: the gradient is scaled by 1 − τ (PyTorch's μ·b + (1 − τ)·g̃),
    # except on the first step, which starts from a zero velocity undamped (PyTorch's b = g̃). Without momentum
    # Keras keeps no velocity and the canonical buffer passes through.
    if param.dtype == tf.float64 and float(np.float32(momentum)) != momentum:
        raise UnsupportedCase(f"sgd_momentum_step: Keras rounds momentum={momentum!r} to float32")
    g = grad + weight_decay * param if weight_decay else grad
    if momentum == 0.0:
        new, _ = _keras_apply("sgd", param, g, {}, learning_rate=lr)
        return new, momentum_buffer
    if lr == 0.0:
        raise UnsupportedCase("sgd_momentum_step: Keras keeps the velocity −lr·b, which holds no buffer at lr = 0")
    if dampening and not first_step:
        g = (1.0 - dampening) * g
    velocity = tf.zeros_like(param) if first_step else -lr * momentum_buffer
    hyper = {"momentum": float(momentum), "nesterov": nesterov}
    new, slots = _keras_apply("sgd_momentum", param, g, {"momentum": velocity}, learning_rate=lr, **hyper)
    return new, -slots["momentum"] / lr


def _eps_under_the_root(op: str, eps: float, eps_in_sqrt: bool) -> None:
    # Keras' RMSprop and Adagrad add ε under the root only (rmsprop.eps_placement, adagrad.eps_placement);
    # at ε = 0 the two forms are one.
    if not eps_in_sqrt and eps != 0.0:
        raise UnsupportedCase(f"{op}: Keras adds epsilon under the root only, never to it (eps_in_sqrt=False)")


def _rate(lr: float, dtype: tf.DType) -> Callable[[], tf.Tensor]:
    # The learning rate as a callable of a tensor of the parameters' dtype: Keras keeps a float rate in a
    # float32 variable (adam.learning_rate_dtype), a callable's value is cast to the parameters' dtype.
    return lambda: tf.constant(lr, dtype=dtype)


@_on_device
def rmsprop_step(
    param: tf.Tensor,
    grad: tf.Tensor,
    square_avg: tf.Tensor,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    eps_in_sqrt: bool = False,
) -> tuple[tf.Tensor, tf.Tensor]:
    # keras.optimizers.RMSprop's rho is the canonical alpha (default 0.9: rmsprop.default_decay), passed.
    _eps_under_the_root("rmsprop_step", eps, eps_in_sqrt)
    hyper = _constants(param.dtype, rho=alpha, epsilon=eps)
    new, slots = _keras_apply(
        "rmsprop", param, grad, {"velocity": square_avg}, learning_rate=_rate(lr, param.dtype), **hyper
    )
    return new, slots["velocity"]


@_on_device
def adagrad_step(
    param: tf.Tensor,
    grad: tf.Tensor,
    state_sum: tf.Tensor,
    step: int,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    eps_in_sqrt: bool = False,
) -> tuple[tf.Tensor, tf.Tensor]:
    # keras.optimizers.Adagrad has no lr_decay: PyTorch's decayed rate lr_t is passed as the rate.
    _eps_under_the_root("adagrad_step", eps, eps_in_sqrt)
    # Its initial_accumulator_value (0.1: adagrad.initial_accumulator) is replaced by the canonical state.
    rate = _rate(adagrad_rate(lr, lr_decay, step), param.dtype)
    slots = {"accumulator": state_sum}
    new, slots = _keras_apply("adagrad", param, grad, slots, learning_rate=rate, **_constants(param.dtype, epsilon=eps))
    return new, slots["accumulator"]


# --- convolution and pooling ------------------------------------------------------------------


@_on_device
def conv2d(
    x: tf.Tensor,
    weight: tf.Tensor,
    bias: tf.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> tf.Tensor:
    stride, dilation = as_pair(stride), as_pair(dilation)
    xs = tf.split(pad_hw(nchw_to_nhwc(x), as_pair(padding)), groups, axis=-1)
    ws = tf.split(oihw_to_hwio(weight), groups, axis=-1)  # the output channels of each group
    dilated = dilation != (1, 1)
    step = (1, 1) if dilated else stride  # TF refuses stride > 1 with dilation > 1
    y = tf.concat(
        [
            tf.nn.convolution(xg, wg, strides=step, padding="VALID", dilations=dilation)
            for xg, wg in zip(xs, ws, strict=True)
        ],
        axis=-1,
    )
    if dilated and stride != (1, 1):
        y = y[:, :: stride[0], :: stride[1], :]
    y = nhwc_to_nchw(y)
    return y if bias is None else y + tf.reshape(bias, (1, -1, 1, 1))


def _pool_args(kernel_size: Any, stride: Any, padding: Any) -> tuple[tuple[int, int], ...]:
    kernel = as_pair(kernel_size)
    return kernel, as_pair(kernel if stride is None else stride), as_pair(padding)


@_on_device
def max_pool2d(x: tf.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> tf.Tensor:
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    y = tf.nn.max_pool2d(pad_hw(nchw_to_nhwc(x), padding, -np.inf), kernel, stride, "VALID")
    return nhwc_to_nchw(y)


@_on_device
def avg_pool2d(
    x: tf.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True
) -> tf.Tensor:
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    y = nhwc_to_nchw(tf.nn.avg_pool2d(pad_hw(nchw_to_nhwc(x), padding), kernel, stride, "VALID"))
    if count_include_pad or padding == (0, 0):
        return y
    cells = window_cells((x.shape[2], x.shape[3]), kernel, stride, padding)
    return y * tf.constant(kernel[0] * kernel[1] / cells, dtype=y.dtype)  # sum/(kH·kW) → sum/cells


def _dilate_kernel(w: tf.Tensor, dilation: tuple[int, int]) -> tf.Tensor:
    """An (kH, kW, out, in) kernel with d − 1 zeros between its taps along each spatial axis."""
    for axis, d in enumerate(dilation):
        if d > 1:
            k = w.shape[axis]
            moved = tf.experimental.numpy.moveaxis(w, axis, 0)
            spread = tf.concat([moved[:, None], tf.zeros((k, d - 1, *moved.shape[1:]), w.dtype)], axis=1)
            spread = tf.reshape(spread, (k * d, *moved.shape[1:]))[: d * (k - 1) + 1]
            w = tf.experimental.numpy.moveaxis(spread, 0, axis)
    return w


def conv_transpose2d(
    x: tf.Tensor,
    weight: tf.Tensor,
    bias: tf.Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> tf.Tensor:
    # tf.nn.conv2d_transpose with padding "VALID" and an explicit output_shape gives the full output,
    # (H − 1)·s + d·(k − 1) + 1 per axis; output_padding adds zeros at the bottom and right, and PyTorch's
    # padding p crops p from each side. NHWC, kernel (kH, kW, out, in): PyTorch's (in, out/groups, kH, kW)
    # transposed; no groups (one call per group) and, on CPU, no dilation ("Current CPU implementations do
    # not yet support dilation rates larger than 1"): the kernel is dilated with zeros instead, the same sums.
    (sh, sw), (ph, pw), (oph, opw), dilation = (as_pair(v) for v in (stride, padding, output_padding, dilation))
    n, _, h, w = x.shape
    kernel = _dilate_kernel(tf.transpose(weight, (2, 3, 1, 0)), dilation)  # (kH', kW', out/groups, in)
    kh, kw, o_g, _ = kernel.shape
    full = (n, (h - 1) * sh + kh, (w - 1) * sw + kw, o_g)
    y = tf.concat(
        [
            tf.nn.conv2d_transpose(xg, wg, output_shape=full, strides=(sh, sw), padding="VALID")
            for xg, wg in zip(
                tf.split(nchw_to_nhwc(x), groups, axis=-1), tf.split(kernel, groups, axis=-1), strict=True
            )
        ],
        axis=-1,
    )
    y = tf.pad(y, [[0, 0], [0, oph], [0, opw], [0, 0]])[:, ph : full[1] + oph - ph, pw : full[2] + opw - pw, :]
    y = nhwc_to_nchw(y)
    return y if bias is None else y + tf.reshape(bias, (1, -1, 1, 1))


def adaptive_avg_pool2d(x: tf.Tensor, output_size: Any) -> tf.Tensor:
    # Keras 3.15's own (keras.ops.adaptive_average_pool, the op of keras.layers.AdaptiveAveragePooling2D),
    # channels first; TensorFlow itself has none.
    return keras.ops.adaptive_average_pool(x, as_pair(output_size), data_format="channels_first")


@_on_device
def interpolate(x: tf.Tensor, size: Any, mode: str = "nearest", align_corners: bool | None = None) -> tf.Tensor:
    # NHWC. tf.image.resize has half-pixel centres only ('nearest' is PyTorch's 'nearest-exact'); PyTorch's legacy
    # nearest and align_corners=True are TensorFlow 1's kernels (tf.compat.v1.image.resize_nearest_neighbor and
    # resize_bilinear), called as tf.raw_ops to skip their deprecation warnings. Bilinear kernels compute and
    # return float32 whatever the input (interpolate.bilinear_output_dtype): cast back in float16 and bfloat16,
    # and a float64 bilinear case is set aside (FLOAT32_KERNELS): there is no float64 kernel to check.
    images, hw = nchw_to_nhwc(x), list(as_pair(size))
    if mode == "nearest":
        y = tf.raw_ops.ResizeNearestNeighbor(images=images, size=hw, align_corners=False, half_pixel_centers=False)
    elif mode == "nearest-exact":
        y = tf.image.resize(images, hw, method="nearest")
    else:
        if x.dtype == tf.float64:
            raise UnsupportedCase("interpolate: TensorFlow's bilinear kernels compute and return float32 only")
        if align_corners:
            y = tf.raw_ops.ResizeBilinear(images=images, size=hw, align_corners=True, half_pixel_centers=False)
        else:
            y = tf.image.resize(images, hw, method="bilinear")
        y = tf.cast(y, x.dtype)
    return nhwc_to_nchw(y)


# --- recurrent network ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _simple_rnn(n_in: int, hidden: int, dtype: str) -> keras.layers.SimpleRNN:
    # Zero initialisers: the weights are replaced at each call, and Keras' default orthogonal
    # initialiser runs a QR decomposition, which TensorFlow has no bfloat16 kernel for.
    layer = keras.layers.SimpleRNN(
        hidden,
        return_sequences=True,
        return_state=True,
        dtype=dtype,
        kernel_initializer="zeros",
        recurrent_initializer="zeros",
    )
    layer.build((None, None, n_in))
    return layer


@_on_device
def rnn(
    x: tf.Tensor, h0: tf.Tensor, w_ih: tf.Tensor, w_hh: tf.Tensor, b_ih: tf.Tensor, b_hh: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    layer = _simple_rnn(int(x.shape[-1]), int(h0.shape[-1]), x.dtype.name)
    # Keras' cell: h_t = tanh(x_t·kernel + h_{t−1}·recurrent_kernel + bias), one bias.
    weights = {"kernel": tf.transpose(w_ih), "recurrent_kernel": tf.transpose(w_hh), "bias": b_ih + b_hh}
    values = [weights[v.path.rsplit("/", 1)[-1]] for v in layer.trainable_variables]
    state = [v.value for v in layer.non_trainable_variables]  # its dropout seed, unused (dropout=0)
    (outputs, h_n), _ = layer.stateless_call(values, state, x, initial_state=h0)
    return outputs, h_n


# --- gated recurrent cells ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _gated_cell(kind: str, n_in: int, hidden: int, dtype: str) -> keras.layers.Layer:
    # Zero initialisers (the weights are replaced at each call; the default orthogonal one has no bfloat16 QR).
    zeros = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros", "dtype": dtype}
    cell = keras.layers.LSTMCell(hidden, **zeros) if kind == "lstm" else keras.layers.GRUCell(hidden, **zeros)
    cell.build((None, n_in))
    return cell


def _cell_call(cell: keras.layers.Layer, weights: dict[str, tf.Tensor], *args: Any) -> Any:
    values = [weights[v.path.rsplit("/", 1)[-1]] for v in cell.trainable_variables]
    state = [v.value for v in cell.non_trainable_variables]  # its dropout seed, unused (dropout=0)
    out, _ = cell.stateless_call(values, state, *args)
    return out


@_on_device
def lstm_cell(
    x: tf.Tensor, h: tf.Tensor, c: tf.Tensor, w_ih: tf.Tensor, w_hh: tf.Tensor, b_ih: tf.Tensor, b_hh: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    # keras.layers.LSTMCell: kernel (in, 4H) and recurrent_kernel (H, 4H) in the gate order i, f, c, o (PyTorch's
    # i, f, g, o, its c being the candidate), and one bias (4H,): the two biases' sum.
    cell = _gated_cell("lstm", int(x.shape[-1]), int(h.shape[-1]), x.dtype.name)
    weights = {"kernel": tf.transpose(w_ih), "recurrent_kernel": tf.transpose(w_hh), "bias": b_ih + b_hh}
    _, (h1, c1) = _cell_call(cell, weights, x, [h, c])
    return h1, c1


def _zrn(w: tf.Tensor) -> tf.Tensor:
    """PyTorch's GRU blocks (r, z, n) along the first axis in Keras' order (z, r, n)."""
    r, z, n = tf.split(w, 3, axis=0)
    return tf.concat([z, r, n], axis=0)


@_on_device
def gru_cell(
    x: tf.Tensor, h: tf.Tensor, w_ih: tf.Tensor, w_hh: tf.Tensor, b_ih: tf.Tensor, b_hh: tf.Tensor
) -> tf.Tensor:
    # keras.layers.GRUCell(reset_after=True, its default): the reset gate on W_hn·h + b_hn, as PyTorch's; kernel
    # (in, 3H) and recurrent_kernel (H, 3H) in the gate order z, r, n, and the bias (2, 3H): input and recurrent.
    cell = _gated_cell("gru", int(x.shape[-1]), int(h.shape[-1]), x.dtype.name)
    weights = {
        "kernel": tf.transpose(_zrn(w_ih)),
        "recurrent_kernel": tf.transpose(_zrn(w_hh)),
        "bias": tf.stack([_zrn(b_ih), _zrn(b_hh)]),
    }
    h1, _ = _cell_call(cell, weights, x, [h])
    return h1


# --- gated recurrent layers ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _gated_layer(kind: str, n_in: int, hidden: int, dtype: str, reverse: bool) -> keras.layers.Layer:
    # keras.layers.LSTM or GRU (reset_after=True, its default) returning every step and the final states; zero
    # initialisers as for the cells. go_backwards=True reads the sequence from its end.
    zeros = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros", "dtype": dtype}
    cls = keras.layers.LSTM if kind == "lstm" else keras.layers.GRU
    layer = cls(hidden, return_sequences=True, return_state=True, go_backwards=reverse, **zeros)
    layer.build((None, None, n_in))
    return layer


def _layer_call(kind: str, x: tf.Tensor, states: list[tf.Tensor], weights: dict[str, tf.Tensor], reverse: bool) -> Any:
    layer = _gated_layer(kind, int(x.shape[-1]), int(states[0].shape[-1]), x.dtype.name, reverse)
    values = [weights[v.path.rsplit("/", 1)[-1]] for v in layer.trainable_variables]
    state = [v.value for v in layer.non_trainable_variables]  # its dropout seed, unused (dropout=0)
    (outputs, *finals), _ = layer.stateless_call(values, state, x, initial_state=states)
    # go_backwards=True returns the outputs in the order it read them, last input first (measured: the
    # lstm.go_backwards_output_order convention): flipped back to the inputs' positions, as Bidirectional does.
    return (tf.reverse(outputs, axis=[1]) if reverse else outputs, *finals)


@_on_device
def lstm(
    x: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    w_ih: tf.Tensor,
    w_hh: tf.Tensor,
    b_ih: tf.Tensor,
    b_hh: tf.Tensor,
    reverse: bool = False,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    # The cell's translation (lstm_cell above): kernels transposed, gates i, f, c, o, one bias b_ih + b_hh.
    weights = {"kernel": tf.transpose(w_ih), "recurrent_kernel": tf.transpose(w_hh), "bias": b_ih + b_hh}
    return _layer_call("lstm", x, [h0, c0], weights, reverse)


@_on_device
def gru(
    x: tf.Tensor,
    h0: tf.Tensor,
    w_ih: tf.Tensor,
    w_hh: tf.Tensor,
    b_ih: tf.Tensor,
    b_hh: tf.Tensor,
    reverse: bool = False,
) -> tuple[tf.Tensor, tf.Tensor]:
    # The cell's translation (gru_cell above): blocks z, r, n, kernels transposed, the (2, 3H) bias.
    weights = {
        "kernel": tf.transpose(_zrn(w_ih)),
        "recurrent_kernel": tf.transpose(_zrn(w_hh)),
        "bias": tf.stack([_zrn(b_ih), _zrn(b_hh)]),
    }
    return _layer_call("gru", x, [h0], weights, reverse)


# --- dropout and embedding -----------------------------------------------------------------------


@_on_device
def dropout(x: tf.Tensor, mask: tf.Tensor, p: float = 0.5, training: bool = True) -> tf.Tensor:
    if not training:
        return keras.layers.Dropout(p, dtype=x.dtype.name)(x, training=False)  # a Keras layer casts to its dtype
    # TensorFlow's own dropout kernel with the mask given as its uniform draw: a unit is kept where the
    # draw is >= rate, so the mask's 1 keeps and its 0 drops (for p > 0; the cases' mask is all ones at p = 0).
    return tf.nn.experimental.general_dropout(x, rate=p, uniform_sampler=lambda shape, dtype: tf.cast(mask, dtype))


@_on_device
def random_dropout(x: tf.Tensor, p: float, seed: int) -> tf.Tensor:
    """Keras' training-mode dropout layer, seeded with ``seed``."""
    return keras.layers.Dropout(p, seed=seed, dtype=x.dtype.name)(x, training=True)


@_on_device
def embedding(weight: tf.Tensor, indices: tf.Tensor, padding_idx: int | None = None) -> tf.Tensor:
    if padding_idx is not None:
        # TensorFlow has no padding index (Keras' mask_zero masks later layers only): the padding row is read
        # through stop_gradient, so its gradient is 0.
        pad = (tf.range(tf.shape(weight)[0]) == padding_idx % weight.shape[0])[:, None]
        weight = tf.where(pad, tf.stop_gradient(weight), weight)
    return tf.nn.embedding_lookup(weight, indices)


# --- attention: keras.ops.dot_product_attention --------------------------------------------------


@_on_device
def scaled_dot_product_attention(
    query: tf.Tensor,
    key: tf.Tensor,
    value: tf.Tensor,
    mask: Any = None,
    bias: tf.Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> tf.Tensor:
    # keras.ops.dot_product_attention's layout is (B, T, N, H): the canonical (N, H, L, E) is transposed.
    # Its boolean mask means True = takes part, as canonical; its default scale is 1/√E.
    q, k, v = (tf.transpose(x, (0, 2, 1, 3)) for x in (query, key, value))
    keep = None if mask is None else tf.constant(mask, dtype=tf.bool)
    y = keras.ops.dot_product_attention(q, k, v, bias=bias, mask=keep, scale=scale, is_causal=causal)
    return tf.transpose(y, (0, 2, 1, 3))


@functools.lru_cache(maxsize=64)
def _mha_layer(heads: int, e: int, kdim: int, vdim: int, dtype: str) -> keras.layers.MultiHeadAttention:
    # Zero initialisers: the weights are replaced at each call (stateless_call). Built as (query, value, key).
    zeros = {"kernel_initializer": "zeros", "bias_initializer": "zeros"}
    layer = keras.layers.MultiHeadAttention(heads, key_dim=e // heads, dtype=dtype, **zeros)
    layer.build((None, None, e), (None, None, vdim), (None, None, kdim))
    return layer


@_on_device
def multi_head_attention(
    query: tf.Tensor,
    key: tf.Tensor,
    value: tf.Tensor,
    num_heads: int,
    q_proj_weight: tf.Tensor,
    k_proj_weight: tf.Tensor,
    v_proj_weight: tf.Tensor,
    out_proj_weight: tf.Tensor,
    in_proj_bias: tf.Tensor | None = None,
    out_proj_bias: tf.Tensor | None = None,
    mask: Any = None,
    causal: bool = False,
) -> tf.Tensor:
    # keras.layers.MultiHeadAttention(num_heads, key_dim=E/H) keeps a kernel per projection, (in, H, d), with a
    # bias (H, d), and the output kernel (H, d, E): the canonical (out, in) weights, whose row h·d + j is head
    # h's feature j, are transposed and reshaped into them (a missing bias is zeros: use_bias is one flag).
    # Its attention_mask is (N, L, S), True = attends (as canonical); use_causal_mask is top left. It is called
    # as (query, value, key), value before key.
    e, kdim, vdim = int(query.shape[-1]), int(key.shape[-1]), int(value.shape[-1])
    d = e // num_heads
    layer = _mha_layer(num_heads, e, kdim, vdim, query.dtype.name)
    bias = tf.zeros(3 * e, dtype=query.dtype) if in_proj_bias is None else in_proj_bias
    out_bias = tf.zeros(e, dtype=query.dtype) if out_proj_bias is None else out_proj_bias
    weights = {}
    for i, (name, w) in enumerate((("query", q_proj_weight), ("key", k_proj_weight), ("value", v_proj_weight))):
        weights[f"{name}/kernel"] = tf.reshape(tf.transpose(w), (-1, num_heads, d))
        weights[f"{name}/bias"] = tf.reshape(bias[i * e : (i + 1) * e], (num_heads, d))
    weights["attention_output/kernel"] = tf.reshape(tf.transpose(out_proj_weight), (num_heads, d, e))
    weights["attention_output/bias"] = out_bias
    values = [weights["/".join(v.path.split("/")[-2:])] for v in layer.trainable_variables]
    state = [v.value for v in layer.non_trainable_variables]
    keep = None
    if mask is not None:
        keep = tf.broadcast_to(tf.constant(mask, dtype=tf.bool), (query.shape[0], query.shape[1], key.shape[1]))
    y, _ = layer.stateless_call(values, state, query, value, key, attention_mask=keep, use_causal_mask=causal)
    return y


@_on_device
def transformer_encoder_block(
    x: tf.Tensor,
    num_heads: int,
    in_proj_weight: tf.Tensor,
    in_proj_bias: tf.Tensor,
    out_proj_weight: tf.Tensor,
    out_proj_bias: tf.Tensor,
    linear1_weight: tf.Tensor,
    linear1_bias: tf.Tensor,
    linear2_weight: tf.Tensor,
    linear2_bias: tf.Tensor,
    norm1_weight: tf.Tensor,
    norm1_bias: tf.Tensor,
    norm2_weight: tf.Tensor,
    norm2_bias: tf.Tensor,
    norm_first: bool = False,
    activation: str = "relu",
    eps: float = 1e-5,
    causal: bool = False,
) -> tf.Tensor:
    # Keras 3 has no Transformer block (keras_hub's TransformerEncoder is not a dependency): composed as a Keras
    # user builds one, from this adapter's keras.layers.MultiHeadAttention (above), keras.ops.layer_normalization
    # (LayerNormalization's computation; its epsilon 1e-3 by default, the convention transformer.layer_norm_eps:
    # eps is passed), this adapter's linear (tf.tensordot) and tf.nn.relu / gelu(approximate=False): the checks
    # cover those pieces.
    e = int(x.shape[-1])
    wq, wk, wv = (in_proj_weight[i * e : (i + 1) * e] for i in range(3))

    def attention(u: tf.Tensor) -> tf.Tensor:
        return multi_head_attention(
            u, u, u, num_heads, wq, wk, wv, out_proj_weight, in_proj_bias, out_proj_bias, causal=causal
        )

    def ffn(u: tf.Tensor) -> tf.Tensor:
        hidden = linear(u, linear1_weight, linear1_bias)
        hidden = tf.nn.gelu(hidden, approximate=False) if activation == "gelu" else tf.nn.relu(hidden)
        return linear(hidden, linear2_weight, linear2_bias)

    def norm(u: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
        return layer_norm(u, e, weight, bias, eps)

    if norm_first:
        h = x + attention(norm(x, norm1_weight, norm1_bias))
        return h + ffn(norm(h, norm2_weight, norm2_bias))
    h = norm(x + attention(x), norm1_weight, norm1_bias)
    return norm(h + ffn(h), norm2_weight, norm2_bias)


# --- positions and perplexity: neither TensorFlow nor Keras 3 has an op for them (keras_hub's
# SinePositionEncoding, RotaryEmbedding and Perplexity are not dependencies); each is composed from tf.exp,
# sin, cos and tf.nn.sparse_softmax_cross_entropy_with_logits, so these checks cover those primitives.


def _frequencies(d: int, base: float, like: tf.Tensor) -> tf.Tensor:
    # ω_i = base^(−2i/d) as exp(2i·(−log base/d)), in the tensor's dtype.
    two_i = tf.range(0, d, 2, dtype=like.dtype)
    return tf.exp(two_i * tf.constant(-float(np.log(base)) / d, dtype=like.dtype))


def sinusoidal_positional_encoding(positions: tf.Tensor, d_model: int, base: float = 10000.0) -> tf.Tensor:
    angles = positions[:, None] * _frequencies(d_model, base, positions)
    return tf.reshape(tf.stack((tf.sin(angles), tf.cos(angles)), axis=-1), (-1, d_model))


def rotary_embedding(x: tf.Tensor, positions: tf.Tensor, base: float = 10000.0, interleaved: bool = True) -> tf.Tensor:
    d = x.shape[-1]
    angles = positions[:, None] * _frequencies(d, base, x)
    cos, sin = tf.cos(angles), tf.sin(angles)
    if interleaved:  # pairs (2i, 2i + 1)
        a, b = x[..., 0::2], x[..., 1::2]
        return tf.reshape(tf.stack((a * cos - b * sin, a * sin + b * cos), axis=-1), tf.shape(x))
    a, b = x[..., : d // 2], x[..., d // 2 :]  # pairs (i, i + d/2): rotate_half (keras_hub's RotaryEmbedding)
    return tf.concat((a * cos - b * sin, a * sin + b * cos), axis=-1)


def perplexity(logits: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    return tf.exp(cross_entropy(logits, target))  # e^(mean loss in nats)


# --- weight initialisation: keras.initializers ------------------------------------------------------
# Keras' kernels are (*kernel, in, out) (compute_fans: the last axis is fan-out, the one before fan-in):
# the canonical (out, in, *kernel) shape is reversed on its two leading axes and the draw transposed
# back. Keras has no nonlinearity gain: the canonical gain (dlterms.reference.calculate_gain, PyTorch's)
# becomes VarianceScaling's scale g².
_KERAS_NAMED = {  # the defaults, by their own names: VarianceScaling(1, fan_avg | 2, fan_in, ...)
    "xavier_uniform": keras.initializers.GlorotUniform,
    "xavier_normal": keras.initializers.GlorotNormal,
    "kaiming_uniform": keras.initializers.HeUniform,
    "kaiming_normal": keras.initializers.HeNormal,
}


def _keras_variance(kind: str, shape: tuple[int, ...], **options: Any) -> tuple[float, str]:
    """(scale, mode) of keras.initializers.VarianceScaling for the canonical options."""
    from dlterms.reference import calculate_gain

    opts = {"gain": 1.0, "a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu", **options}
    if kind.startswith("xavier"):
        return opts["gain"] ** 2, "fan_avg"
    return calculate_gain(opts["nonlinearity"], opts["a"]) ** 2, opts["mode"]


def _keras_std(kind: str, shape: tuple[int, ...], **options: Any) -> float:
    """VarianceScaling.__call__'s limit √(3·scale) (uniform) or untruncated stddev √scale, scale /= its fan."""
    scale, mode = _keras_variance(kind, shape, **options)
    receptive = int(np.prod(shape[2:]))
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    scale /= max(1.0, {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode])
    return float(np.sqrt(3.0 * scale)) if kind.endswith("uniform") else float(np.sqrt(scale))


@_on_device
def xavier_uniform(u: tf.Tensor, gain: float = 1.0) -> tf.Tensor:
    limit = _keras_std("xavier_uniform", tuple(u.shape), gain=gain)
    return u * (2.0 * limit) + (-limit)  # random.uniform(minval=−limit, maxval=limit): minval + (max − min)·u


@_on_device
def xavier_normal(z: tf.Tensor, gain: float = 1.0) -> tf.Tensor:
    # the canonical z is an untruncated draw: VarianceScaling's "untruncated_normal" map, stddev·z
    return z * _keras_std("xavier_normal", tuple(z.shape), gain=gain)


@_on_device
def kaiming_uniform(u: tf.Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> tf.Tensor:
    limit = _keras_std("kaiming_uniform", tuple(u.shape), a=a, mode=mode, nonlinearity=nonlinearity)
    return u * (2.0 * limit) + (-limit)


@_on_device
def kaiming_normal(z: tf.Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> tf.Tensor:
    return z * _keras_std("kaiming_normal", tuple(z.shape), a=a, mode=mode, nonlinearity=nonlinearity)


@_on_device
def random_init(kind: str, shape: tuple[int, ...], seed: int, dtype: str = "float32", **options: Any) -> tf.Tensor:
    """Keras' Glorot*/He* initialiser (VarianceScaling for other options) on the (*kernel, in, out) kernel."""
    defaults = {"gain": 1.0, "a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"}
    if all(options.get(k, v) == v for k, v in defaults.items()):
        init = _KERAS_NAMED[kind](seed=seed)
    else:
        scale, mode = _keras_variance(kind, shape, **options)
        # GlorotNormal and HeNormal are VarianceScaling(..., "truncated_normal"): the normal ops keep it
        distribution = "uniform" if kind.endswith("uniform") else "truncated_normal"
        init = keras.initializers.VarianceScaling(scale, mode, distribution, seed=seed)
    n = len(shape)
    w = init((*shape[2:], shape[1], shape[0]), dtype=dtype)
    return tf.transpose(w, (n - 1, n - 2, *range(n - 2)))


# --- learning-rate schedules: keras.optimizers.schedules; gradient clipping: tf.clip_by_global_norm ------
#
# Keras' schedules cast their hyper-parameters to the rate's dtype with ops.cast, which reads a Python
# float as float32 first (γ = 0.1 becomes 0.10000000149 in a float64 schedule: the convention
# lr_schedule.float64_hyperparameters); the adapter passes them as tensors of lr's dtype, as a float64 user must.


def _like(value: float, lr: tf.Tensor) -> tf.Tensor:
    return tf.constant(value, dtype=lr.dtype)


@_on_device
def step_lr(lr: tf.Tensor, step: tf.Tensor, step_size: int, gamma: float = 0.1) -> tf.Tensor:
    # ExponentialDecay(staircase=True): lr·γ^⌊t/decay_steps⌋, computed in lr's dtype.
    return keras.optimizers.schedules.ExponentialDecay(lr, step_size, _like(gamma, lr), staircase=True)(step)


@_on_device
def cosine_annealing_lr(lr: tf.Tensor, step: tf.Tensor, t_max: int, eta_min: float = 0.0) -> tf.Tensor:
    # CosineDecay's alpha is the final rate as a fraction of the initial one (the canonical eta_min is
    # absolute): alpha = eta_min/lr. Keras clamps the step at decay_steps, as the canonical op.
    alpha = tf.math.divide_no_nan(_like(eta_min, lr), lr)
    return keras.optimizers.schedules.CosineDecay(lr, t_max, alpha=alpha)(step)


@_on_device
def linear_warmup_lr(lr: tf.Tensor, step: tf.Tensor, warmup_steps: int, start_factor: float = 0.0) -> tf.Tensor:
    # Keras has no linear schedule of its own; PolynomialDecay with power 1 from start_factor·lr to lr
    # over warmup_steps is one ((s·lr − lr)·(1 − t/W) + lr), constant after. (CosineDecay's warm-up
    # branches with ops.cond on the step, so it takes one step at a time.)
    start = _like(start_factor, lr) * lr
    return keras.optimizers.schedules.PolynomialDecay(start, warmup_steps, end_learning_rate=lr, power=1.0)(step)


@_on_device
def clip_grad_norm(grads: tf.Tensor, max_norm: float) -> tf.Tensor:
    # tf.clip_by_global_norm on the list of the k tensors grads[i]: t·clip_norm/max(N, clip_norm).
    clipped, _ = tf.clip_by_global_norm(tf.unstack(grads, axis=0), _like(max_norm, grads))
    return tf.stack(clipped)
