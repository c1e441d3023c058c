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

from dlterms.ops import as_pair

from ..checks import Unsupported

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
    layer = keras.layers.GroupNormalization(
        groups=num_groups, axis=1, epsilon=eps, center=False, scale=False, dtype=x.dtype.name
    )
    y = layer(x)
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
    layer = keras.layers.BatchNormalization(axis=1, epsilon=eps, center=False, scale=False, dtype=x.dtype.name)
    layer.build(x.shape)
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
NOT_DIFFERENTIABLE = ("adam_step", "adamw_step")


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


def _keras_step(
    optimizer: keras.optimizers.Optimizer, param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: int
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    # A fresh optimiser built on one variable, its slots (named <variable>_momentum and
    # <variable>_velocity) and iteration count (t − 1: Keras uses iterations + 1) set from the
    # canonical state, then one apply.
    variable = keras.Variable(param, name="param")
    optimizer.build([variable])
    slots = {s.name: s for s in optimizer.variables}
    slots["param_momentum"].assign(m)
    slots["param_velocity"].assign(v)
    optimizer.iterations.assign(step - 1)
    optimizer.apply([grad], [variable])
    return tuple(tf.convert_to_tensor(x) for x in (variable, slots["param_momentum"], slots["param_velocity"]))


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
    hyper = _constants(param.dtype, beta_1=beta1, beta_2=beta2, epsilon=keras_epsilon(eps, beta2, step))
    return _keras_step(keras.optimizers.Adam(learning_rate=lr, **hyper), param, grad, m, v, step)


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
    hyper = _constants(param.dtype, weight_decay=weight_decay, beta_1=beta1, beta_2=beta2, epsilon=epsilon)
    return _keras_step(keras.optimizers.AdamW(learning_rate=lr, **hyper), param, grad, m, v, step)


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
