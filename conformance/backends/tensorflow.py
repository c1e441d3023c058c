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
  by ``dlterms conventions``).

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
    return tuple(grads)


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


@_on_device
def sgd_step(param: tf.Tensor, grad: tf.Tensor, lr: float) -> tf.Tensor:
    return param - lr * grad  # a Python float takes the dtype of grad exactly (tf.cast would round it to float32 first)


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
