"""JAX as a backend: ``jax.nn`` / ``jax.numpy`` / ``jax.lax`` ops and ``jax.vjp``.

Importing this module turns on 64-bit types in JAX
(``jax.config.update("jax_enable_x64", True)``), for the whole process:
without it JAX silently computes ``float64`` requests in ``float32``; and it
turns on JAX's persistent compilation cache (below), for the whole process too.

Translations (each keeps the canonical semantics of :mod:`dlterms.reference`):

* convolution: ``lax.conv_general_dilated`` with dimension numbers
  ``("NCHW", "OIHW", "NCHW")``: JAX takes the canonical layouts as they are;
* pooling: ``lax.reduce_window``, max pooling padded with −inf, average
  pooling padded with zeros and divided by ``kH·kW``
  (``count_include_pad=True``) or by the number of cells of ``x`` in each
  window, itself a ``reduce_window`` sum of ones;
* losses (JAX has none in ``jax.nn``): written from ``jax.nn.log_softmax``
  and ``jnp.log`` clamped at −100, as the canonical definition says;
* rnn: ``lax.scan`` over the time axis with the two biases ``b_ih``, ``b_hh``.

Every op is ``jax.jit``-compiled (non-array arguments static), and ``vjp`` of
an :class:`~dlterms.conformance.backends.OpCall` runs as one compiled
function: XLA then compiles once per op and shape instead of once per
primitive, which makes a conformance run several times faster. The numbers
are the same: ``jit`` changes when JAX compiles, not what. Each op is called
with its arguments by name and its static defaults filled in, so ``relu(x)``
and ``relu(x=x)`` share one compiled program (``jax.jit`` keys its programs on
how the arguments were passed too).

Compiling is most of a JAX run's time on the CPU (about 2,000 programs in a
default run, each tens of milliseconds). Importing this module therefore
turns on JAX's own persistent compilation cache, in ``~/.cache/dlterms/jax``
(``$XDG_CACHE_HOME/dlterms/jax``), so that a program compiled once, by any
run or worker process, is read back instead of compiled again: the
executable XLA wrote, keyed by JAX on the program's HLO, the compile options
and the versions, so the numbers are the same. ``DLTERMS_JAX_CACHE=DIR`` puts
it elsewhere and ``DLTERMS_JAX_CACHE=off`` turns it off; a cache folder the
user gave JAX (``JAX_COMPILATION_CACHE_DIR``) is used as it is, with JAX's own
settings. The report's ``compilation_cache`` says which folder was used.

``use_device("cuda:1")`` puts every array the adapter creates on that device
(``jax.device_put``), so that JAX computes there.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from importlib import metadata
from typing import Any

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (after x64 is enabled)
from jax import lax  # noqa: E402

from dlterms.ops import as_pair  # noqa: E402

name = "jax"
version = jax.__version__
dtypes = ("float16", "bfloat16", "float32", "float64")
_device = jax.devices("cpu")[0]  # where asarray puts arrays (and so where JAX computes)
device = "cpu:0"

_LOG_CLAMP = -100.0  # binary_cross_entropy clamps each log below at −100 (the canonical definition)

# JAX's persistent compilation cache: a folder (default ~/.cache/dlterms/jax, under $XDG_CACHE_HOME when set),
# or "off" for none. A JAX_COMPILATION_CACHE_DIR (or jax_compilation_cache_dir) of the user's own wins.
CACHE_ENV = "DLTERMS_JAX_CACHE"
CACHE_OFF = ("", "off", "0", "no", "false", "none")


def compilation_cache_dir() -> str | None:
    """The folder this adapter asks JAX to keep compiled programs in, from :data:`CACHE_ENV`; None for "off"."""
    setting = os.environ.get(CACHE_ENV)
    if setting is not None and setting.strip().lower() in CACHE_OFF:
        return None
    if setting:
        return os.path.abspath(os.path.expanduser(setting))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.abspath(os.path.join(base, "dlterms", "jax"))


def use_compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache for this process (see the module's docstring); the folder in use.

    A folder the user gave JAX already is kept as it is, with JAX's own settings.
    Ours caches every program (JAX's default caches only those that took over a
    second to compile, and a conformance run's all take less).
    """
    if jax.config.jax_compilation_cache_dir:
        return str(jax.config.jax_compilation_cache_dir)
    folder = compilation_cache_dir()
    if folder is not None:
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return folder


use_compilation_cache()


# --- devices and facts ------------------------------------------------------------------


def use_device(spec: str) -> None:
    """Compute on ``spec`` (``cpu``, ``cuda``, ``cuda:1``, ``gpu:0``, ...); ValueError if it is not there."""
    global device, _device
    kind, _, index = spec.partition(":")
    platform = {"cuda": "gpu", "gpu": "gpu", "cpu": "cpu", "tpu": "tpu"}.get(kind.lower())
    if platform is None or (index and not index.isdigit()):
        raise ValueError(f"jax: --device {spec!r}; expected cpu, cuda, cuda:N, gpu:N or tpu:N")
    try:
        found = jax.devices(platform)
    except RuntimeError as exc:
        raise ValueError(f"jax: --device {spec!r} but JAX has no {platform} backend here ({exc})") from None
    i = int(index or 0)
    if i >= len(found):
        raise ValueError(f"jax: --device {spec!r} but JAX sees {len(found)} {platform} device(s): {found}")
    _device = found[i]
    device = f"{_device.platform}:{_device.id}"


def facts() -> dict[str, Any]:
    """Device, versions and the math modes that change float32 results."""
    precision = jax.config.jax_default_matmul_precision
    on_gpu = _device.platform == "gpu"
    return {
        "device": device,
        "device_kind": _device.device_kind,
        "framework_versions": {"jax": jax.__version__, "jaxlib": metadata.version("jaxlib")},
        "driver": _driver(),
        "math_modes": {"jax_default_matmul_precision": precision, "jax_enable_x64": True},
        "compilation_cache": jax.config.jax_compilation_cache_dir,
        # On GPUs JAX's DEFAULT precision may run float32 matmuls and convolutions in TF32.
        "reduced_precision": [f"jax_default_matmul_precision={precision} (TF32 on GPU)"]
        if on_gpu and precision in (None, "default", "bfloat16", "tensorfloat32", "fastest")
        else [],
    }


def _driver() -> dict[str, Any]:
    if _device.platform != "gpu":
        return {}
    try:
        backend = jax.extend.backend.get_backend("gpu")
        return {"platform_version": backend.platform_version}
    except Exception:  # facts are best effort: a missing one never stops a run
        return {}


# --- arrays and autodiff ------------------------------------------------------------------


def asarray(data: Any, dtype: str = "float64") -> jax.Array:
    return jax.device_put(np.asarray(data, dtype=jnp.dtype(dtype)), _device)


def to_numpy(x: jax.Array) -> np.ndarray:
    a = np.asarray(x)
    return a.astype(np.float64) if a.dtype == jnp.bfloat16 else a  # numpy has no bfloat16 arithmetic


def vjp(fn: Callable[..., Any], primals: tuple[jax.Array, ...], cotangent: Any) -> tuple[jax.Array, ...]:
    call = getattr(fn, "op", None)
    if call is None or getattr(fn, "backend", None) is None or not isinstance(fn.kwargs, dict):
        _, pullback = jax.vjp(fn, *primals)  # any function of JAX arrays
        return tuple(pullback(cotangent))
    # An OpCall: arrays and floats are traced, everything else (axis, stride, ...) is static. The op
    # is the one of the OpCall's backend (a wrapped or patched adapter keeps its own ops).
    forward = getattr(fn.backend, call)
    dynamic = {k: v for k, v in fn.kwargs.items() if isinstance(v, jax.Array | float)}
    static = tuple(sorted((k, _hashable(v)) for k, v in fn.kwargs.items() if k not in dynamic))
    return tuple(_compiled_vjp(forward, tuple(fn.diff_args), static)(tuple(primals), dynamic, cotangent))


def _hashable(v: Any) -> Any:
    return tuple(_hashable(t) for t in v) if isinstance(v, list | tuple) else v


@functools.lru_cache(maxsize=256)
def _compiled_vjp(
    forward: Callable[..., Any], diff_args: tuple[str, ...], static: tuple[tuple[str, Any], ...]
) -> Callable[..., Any]:
    def pull(primals: tuple[jax.Array, ...], dynamic: dict[str, Any], cotangent: Any) -> Any:
        def f(*p: jax.Array) -> Any:
            return forward(**dict(static), **dynamic, **dict(zip(diff_args, p, strict=True)))

        return jax.vjp(f, *primals)[1](cotangent)

    pull.__name__ = pull.__qualname__ = f"vjp_{getattr(forward, '__name__', 'op')}"  # its name in JAX's logs
    return jax.jit(pull)


def _jit(*static: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``jax.jit`` with ``static`` arguments, called the same way whatever way the caller passed them.

    ``jax.jit`` keys its compiled programs on how the arguments came (positional
    or by name, a static argument given or left to its default) as well as on
    their shapes: ``relu(x)`` and ``relu(x=x)`` would each compile the same
    program. So every argument is passed by name, and a static argument left out
    takes its default; lists (``stride=[2, 1]``) become tuples, which jit can
    hash. The program is the same either way: only how often it is compiled changes.
    """

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        compiled = jax.jit(f, static_argnames=static)
        params = inspect.signature(f).parameters
        names = tuple(params)
        defaults = {k: params[k].default for k in static if params[k].default is not inspect.Parameter.empty}

        @functools.wraps(f)
        def call(*args: Any, **kwargs: Any) -> Any:
            if len(args) > len(names):
                raise TypeError(f"{f.__name__}() takes {len(names)} arguments but {len(args)} were given")
            named = dict(zip(names, args, strict=False))
            twice = sorted(named.keys() & kwargs.keys())
            if twice:
                raise TypeError(f"{f.__name__}() got multiple values for argument {twice[0]!r}")
            named.update(kwargs)
            for k, v in defaults.items():
                named.setdefault(k, v)
            return compiled(**{k: _hashable(v) if k in static else v for k, v in named.items()})

        return call

    return deco


# --- activations -----------------------------------------------------------------------------


@_jit()
def sigmoid(x: jax.Array) -> jax.Array:
    return jax.nn.sigmoid(x)


@_jit()
def tanh(x: jax.Array) -> jax.Array:
    return jnp.tanh(x)


@_jit()
def silu(x: jax.Array) -> jax.Array:
    return jax.nn.silu(x)


@_jit("approximate")
def gelu(x: jax.Array, approximate: str = "none") -> jax.Array:
    # jax.nn.gelu defaults to approximate=True, the tanh form (the convention gelu.default_form):
    # the canonical default is x·Φ(x), so the form is always passed.
    return jax.nn.gelu(x, approximate=approximate == "tanh")


@_jit()
def elu(x: jax.Array, alpha: float = 1.0) -> jax.Array:
    return jax.nn.elu(x, alpha=alpha)


@_jit()
def softplus(x: jax.Array, beta: float = 1.0) -> jax.Array:
    return jax.nn.softplus(beta * x) / beta  # jax.nn.softplus has no beta; the cases keep β a power of two


@_jit()
def log_sigmoid(x: jax.Array) -> jax.Array:
    return jax.nn.log_sigmoid(x)


@_jit()
def relu(x: jax.Array) -> jax.Array:
    return jax.nn.relu(x)


@_jit()
def leaky_relu(x: jax.Array, negative_slope: float = 0.01) -> jax.Array:
    return jax.nn.leaky_relu(x, negative_slope=negative_slope)


@_jit("axis")
def softmax(x: jax.Array, axis: int = -1) -> jax.Array:
    return jax.nn.softmax(x, axis=axis)


@_jit("axis")
def log_softmax(x: jax.Array, axis: int = -1) -> jax.Array:
    return jax.nn.log_softmax(x, axis=axis)


# --- layers, losses, optimisation --------------------------------------------------------------


@_jit()
def linear(x: jax.Array, weight: jax.Array, bias: jax.Array | None = None) -> jax.Array:
    y = jnp.matmul(x, weight.T)
    return y if bias is None else y + bias


# --- normalization: jax.nn.standardize (JAX has no layer, RMS or group norm op; flax is not a dependency) ----
# jax.nn.standardize defaults to algorithm="fast", mean(x²) − mean(x)², which cancels for rows far from 0
# (the convention layer_norm.variance_algorithm); the canonical variance is mean((x − mean)²): "stable".


def _affine(y: jax.Array, weight: jax.Array | None, bias: jax.Array | None) -> jax.Array:
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


def _trailing_axes(x: jax.Array, normalized_shape: Any) -> tuple[int, ...]:
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    return tuple(range(x.ndim - k, x.ndim))


@_jit("normalized_shape")
def layer_norm(
    x: jax.Array,
    normalized_shape: Any,
    weight: jax.Array | None = None,
    bias: jax.Array | None = None,
    eps: float = 1e-5,
) -> jax.Array:
    axes = _trailing_axes(x, normalized_shape)
    return _affine(jax.nn.standardize(x, axes, epsilon=eps, algorithm="stable"), weight, bias)


@_jit("normalized_shape")
def rms_norm(
    x: jax.Array, normalized_shape: Any, weight: jax.Array | None = None, eps: float | None = None
) -> jax.Array:
    # standardize with the mean given as 0 divides by √(mean x² + eps); eps=None is the dtype's machine
    # epsilon, as torch.nn.functional.rms_norm (the canonical default).
    eps = jnp.finfo(x.dtype).eps if eps is None else eps
    axes = _trailing_axes(x, normalized_shape)
    return _affine(jax.nn.standardize(x, axes, mean=0.0, epsilon=eps, algorithm="stable"), weight, None)


@_jit("num_groups")
def group_norm(
    x: jax.Array,
    num_groups: int,
    weight: jax.Array | None = None,
    bias: jax.Array | None = None,
    eps: float = 1e-5,
) -> jax.Array:
    groups = x.reshape(x.shape[0], num_groups, -1)  # (N, G, C/G · positions): channels of a group are adjacent
    y = jax.nn.standardize(groups, 2, epsilon=eps, algorithm="stable").reshape(x.shape)
    per_channel = (-1,) + (1,) * (x.ndim - 2)
    return _affine(
        y,
        None if weight is None else weight.reshape(per_channel),
        None if bias is None else bias.reshape(per_channel),
    )


def _reduce(values: jax.Array, reduction: str) -> jax.Array:
    if reduction == "none":
        return values
    if reduction == "sum":
        return jnp.sum(values)
    if reduction == "mean":
        return jnp.sum(values) / values.size if values.size else jnp.full((), jnp.nan, values.dtype)
    raise ValueError(f"jax adapter: reduction={reduction!r}; expected 'none', 'mean' or 'sum'")


@_jit("reduction")
def mse_loss(input: jax.Array, target: jax.Array, reduction: str = "mean") -> jax.Array:
    return _reduce(jnp.square(input - target), reduction)


@_jit("reduction")
def binary_cross_entropy(input: jax.Array, target: jax.Array, reduction: str = "mean") -> jax.Array:
    # Each log is clamped at −100 so that 0·log 0 stays finite (the canonical definition).
    log_p = jnp.maximum(jnp.log(input), _LOG_CLAMP)
    log_q = jnp.maximum(jnp.log1p(-input), _LOG_CLAMP)
    return _reduce(-(target * log_p + (1 - target) * log_q), reduction)


@_jit("reduction")
def cross_entropy(logits: jax.Array, target: jax.Array, reduction: str = "mean") -> jax.Array:
    if logits.size == 0:  # an empty batch arrives as shape (0,): N = 0 rows, no classes
        logits = jnp.reshape(logits, (0, 1))
    log_p = jax.nn.log_softmax(logits, axis=-1)
    picked = jnp.take_along_axis(log_p, target[:, None], axis=-1)[:, 0]
    return _reduce(-picked, reduction)


@_jit()
def sgd_step(param: jax.Array, grad: jax.Array, lr: float) -> jax.Array:
    return param - lr * grad


# --- convolution and pooling (NCHW, OIHW as in the reference) ------------------------------------


@_jit("stride", "padding", "dilation", "groups")
def conv2d(
    x: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> jax.Array:
    ph, pw = as_pair(padding)
    y = lax.conv_general_dilated(
        x,
        weight,
        window_strides=as_pair(stride),
        padding=((ph, ph), (pw, pw)),
        rhs_dilation=as_pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=groups,
    )
    return y if bias is None else y + bias[None, :, None, None]


def _window(kernel_size: Any, stride: Any, padding: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[Any, ...]]:
    kh, kw = as_pair(kernel_size)
    sh, sw = as_pair(kernel_size if stride is None else stride)
    ph, pw = as_pair(padding)
    return (1, 1, kh, kw), (1, 1, sh, sw), ((0, 0), (0, 0), (ph, ph), (pw, pw))


@_jit("kernel_size", "stride", "padding")
def max_pool2d(x: jax.Array, kernel_size: Any, stride: Any = None, padding: Any = 0) -> jax.Array:
    dims, strides, pads = _window(kernel_size, stride, padding)
    # reduce_window pads with the init value: −inf never wins a max. (A Python scalar init lets JAX
    # recognise the max monoid, whose primitive has a gradient; a traced array init would not.)
    return lax.reduce_window(x, -np.inf, lax.max, dims, strides, pads)


@_jit("kernel_size", "stride", "padding", "count_include_pad")
def avg_pool2d(
    x: jax.Array, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True
) -> jax.Array:
    dims, strides, pads = _window(kernel_size, stride, padding)
    total = lax.reduce_window(x, 0.0, lax.add, dims, strides, pads)  # zero padding: the window sums
    if count_include_pad:
        return total / (dims[2] * dims[3])
    # The cells of x in each window: a window sum of ones, padded with zeros (exact small integers).
    cells = lax.reduce_window(jnp.ones(x.shape[2:], x.dtype), 0.0, lax.add, dims[2:], strides[2:], pads[2:])
    return total / cells


# --- recurrent network --------------------------------------------------------------------------------


@_jit()
def rnn(
    x: jax.Array, h0: jax.Array, w_ih: jax.Array, w_hh: jax.Array, b_ih: jax.Array, b_hh: jax.Array
) -> tuple[jax.Array, jax.Array]:
    def step(h: jax.Array, x_t: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = jnp.tanh(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        return h, h

    h_n, states = lax.scan(step, h0, jnp.swapaxes(x, 0, 1))  # scan runs over the leading (time) axis
    return jnp.swapaxes(states, 0, 1), h_n
