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
  and ``jnp.log`` clamped at −100, as the canonical definition says; Huber,
  smooth L1 (huber(δ = β)/β) and KL (log-predictions, as canonical) are
  optax's, imported on first use;
* rnn: ``lax.scan`` over the time axis with the two biases ``b_ih``, ``b_hh``;
* where JAX has no op, flax's (``flax.linen``): lstm_cell, gru_cell are ``LSTMCell``
  and ``GRUCell`` with PyTorch's per-gate blocks transposed into flax's Dense
  kernels and the biases translated (flax keeps one per gate where PyTorch sums
  two); lstm, gru are those cells under ``RNN(reverse=…, keep_order=True)``;
  multi-head attention is ``MultiHeadDotProductAttention``; dropout is
  ``Dropout`` (a given keep mask applied as flax applies its own);
* the Transformer block, positions and perplexity, which neither JAX nor flax
  has: composed from this adapter's ops.

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

After each call of an op or of a compiled VJP the adapter empties JAX's caches of
lowered modules (:func:`release_lowerings`): JAX keeps each lowered program's MLIR
module and context there, though the compiled program it runs is kept elsewhere,
and a process holding thousands of them lowers every new program more slowly.

``use_device("cuda:1")`` puts every array the adapter creates on that device
(``jax.device_put``), so that JAX computes there.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Callable
from importlib import metadata
from typing import Any

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import flax.linen as flax_nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402  (after x64 is enabled)
from dlterms.reference.rmsprop import adagrad_rate  # noqa: E402
from jax import lax  # noqa: E402

from dlterms.ops import as_pair  # noqa: E402

from ..checks import Unsupported, UnsupportedCase  # noqa: E402

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


# --- the lowered programs JAX keeps -------------------------------------------------------
# JAX keeps the MLIR module of every program it lowers, in two caches of its own (0.10: jax._src.pjit._pjit_lower
# and jax._src.interpreters.pxla._cached_lowering_to_hlo), each module with its MLIR context, for as long as the
# program's jaxpr lives; the compiled executables are kept elsewhere (jit's own cache) and do not need them. With
# thousands of live contexts every new lowering is slower (the measurements: docs/decisions.md, "JAX's lowered
# modules").
def _lowering_caches() -> tuple[Any, ...]:
    """JAX's caches of lowered modules, as found in this JAX version (none where it has moved them)."""
    from jax._src import pjit
    from jax._src.interpreters import pxla

    found = (getattr(pjit, "_pjit_lower", None), getattr(pxla, "_cached_lowering_to_hlo", None))
    return tuple(cache for cache in found if callable(getattr(cache, "cache_clear", None)))


LOWERING_CACHES = _lowering_caches()


def release_lowerings() -> None:
    """Empty JAX's caches of lowered modules, so their MLIR contexts are freed; compiled programs stay cached.

    Called after every call of an op and of a compiled VJP, which costs two calls on empty caches
    where nothing new was lowered.
    """
    for cache in LOWERING_CACHES:
        cache.cache_clear()


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


def _library_versions() -> dict[str, str]:
    """The versions of the libraries this adapter calls where JAX has no op: optax's losses and optimizers (imported
    on first use, so possibly absent) and flax's layers."""
    found = {"flax": metadata.version("flax")}
    with contextlib.suppress(metadata.PackageNotFoundError):
        found["optax"] = metadata.version("optax")
    return found


def facts() -> dict[str, Any]:
    """Device, versions and the math modes that change float32 results."""
    precision = jax.config.jax_default_matmul_precision
    on_gpu = _device.platform == "gpu"
    return {
        "device": device,
        "device_kind": _device.device_kind,
        "framework_versions": {"jax": jax.__version__, "jaxlib": metadata.version("jaxlib"), **_library_versions()},
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


# Float options an op's library reads in Python (optax.exponential_decay tests decay_rate == 0 when it builds the
# schedule; flax.linen.Dropout tests its rate): the VJP passes them as constants, one compiled program per value,
# instead of tracing them.
STATIC_FLOATS: dict[str, tuple[str, ...]] = {"step_lr": ("gamma",), "dropout": ("p",)}


def vjp(fn: Callable[..., Any], primals: tuple[jax.Array, ...], cotangent: Any) -> tuple[jax.Array, ...]:
    call = getattr(fn, "op", None)
    if call is None or getattr(fn, "backend", None) is None or not isinstance(fn.kwargs, dict):
        _, pullback = jax.vjp(fn, *primals)  # any function of JAX arrays
        return tuple(pullback(cotangent))
    # An OpCall: arrays and floats are traced, everything else (axis, stride, ...) is static. The op
    # is the one of the OpCall's backend (a wrapped or patched adapter keeps its own ops).
    forward = getattr(fn.backend, call)
    concrete = STATIC_FLOATS.get(call, ())
    dynamic = {k: v for k, v in fn.kwargs.items() if isinstance(v, jax.Array | float) and k not in concrete}
    static = tuple(sorted((k, _hashable(v)) for k, v in fn.kwargs.items() if k not in dynamic))
    try:
        return tuple(_compiled_vjp(forward, tuple(fn.diff_args), static)(tuple(primals), dynamic, cotangent))
    finally:
        release_lowerings()


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
            try:
                return compiled(**{k: _hashable(v) if k in static else v for k, v in named.items()})
            finally:
                release_lowerings()

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


# --- normalization: jax.nn.standardize, JAX's own normalization op (not flax's LayerNorm, see the decisions) ---
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


def _channel_axes(x: jax.Array) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes a channel (axis 1) is normalized over, and the shape of a per-channel value against x."""
    return (0, *range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)


@_jit("training")
def batch_norm(
    x: jax.Array,
    running_mean: jax.Array,
    running_var: jax.Array,
    weight: jax.Array | None = None,
    bias: jax.Array | None = None,
    training: bool = False,
    eps: float = 1e-5,
) -> jax.Array:
    # JAX has no batch norm op (flax.linen.BatchNorm is not used: the norm layers stay on JAX's own op):
    # jax.nn.standardize over the batch and positions, with the running statistics given as mean and variance in
    # evaluation.
    axes, per = _channel_axes(x)
    if training:
        y = jax.nn.standardize(x, axes, epsilon=eps, algorithm="stable")
    else:
        y = jax.nn.standardize(x, axes, mean=running_mean.reshape(per), variance=running_var.reshape(per), epsilon=eps)
    return _affine(y, None if weight is None else weight.reshape(per), None if bias is None else bias.reshape(per))


@_jit()
def batch_norm_running_stats(
    x: jax.Array, running_mean: jax.Array, running_var: jax.Array, momentum: float = 0.1
) -> tuple[jax.Array, jax.Array]:
    # The canonical update written with jnp (no JAX op keeps running statistics): the unbiased variance.
    axes, _ = _channel_axes(x)
    mean = jnp.mean(x, axes)
    var = jnp.var(x, axes, ddof=1)
    return (1 - momentum) * running_mean + momentum * mean, (1 - momentum) * running_var + momentum * var


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


# --- robust regression losses and the KL divergence: optax's (imported on first use by _optax) -----------
# optax.losses.huber_loss and kl_divergence are elementwise or sum over an axis; the reductions are the
# canonical ones. optax has no smooth L1: it is huber_loss(delta=β)/β (β a power of two in the cases: exact),
# the absolute error at β = 0.


@_jit("reduction")
def huber_loss(input: jax.Array, target: jax.Array, delta: float = 1.0, reduction: str = "mean") -> jax.Array:
    return _reduce(_optax().losses.huber_loss(input, target, delta=delta), reduction)


@_jit("reduction")
def smooth_l1_loss(input: jax.Array, target: jax.Array, beta: float = 1.0, reduction: str = "mean") -> jax.Array:
    # beta may arrive traced (a vjp differentiates the call with its options as inputs): both sides finite.
    safe = jnp.where(beta == 0, 1.0, beta)
    scaled = _optax().losses.huber_loss(input, target, delta=safe) / safe
    return _reduce(jnp.where(beta == 0, jnp.abs(input - target), scaled), reduction)


@_jit("reduction", "log_target")
def kl_div(input: jax.Array, target: jax.Array, reduction: str = "mean", log_target: bool = False) -> jax.Array:
    # optax takes log-predictions, as canonical: kl_divergence(log q, p) or, with log targets,
    # kl_divergence_with_log_targets; axis=() keeps each element's term (the reduction is applied here).
    losses = _optax().losses
    if log_target:
        terms = losses.kl_divergence_with_log_targets(input, target, axis=())
    else:
        terms = losses.kl_divergence(input, target, axis=())
    if reduction == "batchmean":
        return jnp.sum(terms) / (terms.shape[0] if terms.ndim else 1)
    return _reduce(terms, reduction)


# --- classification losses beyond the seed: nll_loss (jnp: JAX has none), BCE with logits and label
# smoothing (optax's sigmoid_binary_cross_entropy, smooth_labels and softmax_cross_entropy). optax has no
# pos_weight: L = optax(x, y) + (p − 1)·y·optax(x, 1), the positive term's weight moved from 1 to p.


def _rows(x: jax.Array) -> jax.Array:
    return jnp.reshape(x, (0, 1)) if x.size == 0 else x  # an empty batch arrives as shape (0,)


@_jit("reduction")
def nll_loss(
    input: jax.Array, target: jax.Array, weight: jax.Array | None = None, reduction: str = "mean"
) -> jax.Array:
    input = _rows(input)
    picked = jnp.take_along_axis(input, target[:, None], axis=-1)[:, 0]
    w = jnp.ones_like(picked) if weight is None else weight[target]
    terms = -w * picked
    if reduction == "mean" and weight is not None:
        return jnp.sum(terms) / jnp.sum(w)
    return _reduce(terms, reduction)


@_jit("reduction")
def binary_cross_entropy_with_logits(
    input: jax.Array, target: jax.Array, pos_weight: jax.Array | None = None, reduction: str = "mean"
) -> jax.Array:
    bce = _optax().losses.sigmoid_binary_cross_entropy
    terms = bce(input, target)
    if pos_weight is not None:
        # optax has no pos_weight: add (p − 1)·z·softplus(−x), z·softplus(−x) first. (p − 1)·z first is subnormal
        # for z near the smallest normal number, and XLA flushes it to 0 on the CPU, losing a normal (p − 1)·z·84.7.
        terms = terms + (pos_weight - 1) * (target * bce(input, jnp.ones_like(target)))
    return _reduce(terms, reduction)


@_jit("reduction")
def smoothed_cross_entropy(
    logits: jax.Array, target: jax.Array, label_smoothing: float, reduction: str = "mean"
) -> jax.Array:
    logits = _rows(logits)
    optax = _optax()
    labels = optax.smooth_labels(jax.nn.one_hot(target, logits.shape[-1], dtype=logits.dtype), label_smoothing)
    return _reduce(optax.losses.softmax_cross_entropy(logits, labels), reduction)


@_jit()
def sgd_step(param: jax.Array, grad: jax.Array, lr: float) -> jax.Array:
    return param - lr * grad


# --- adaptive optimisers: optax, JAX's optimiser library ------------------------------------------


def _optax() -> Any:
    try:
        import optax  # imported on first use: the other ops do not need it
    except ImportError as exc:
        raise Unsupported("optax is not installed (pip install optax): JAX's optimisers are optax's") from exc
    return optax


def _optax_step(
    transform: Any, param: jax.Array, grad: jax.Array, m: jax.Array, v: jax.Array, step: Any
) -> tuple[jax.Array, jax.Array, jax.Array]:
    # The state optax.adam / optax.adamw keep: ScaleByAdamState(count, mu, nu), count = t − 1
    # (optax increments it before the bias correction), set from the canonical state.
    optax = _optax()

    def is_adam(s: Any) -> bool:
        return isinstance(s, optax.ScaleByAdamState)

    count = jnp.asarray(step - 1, dtype=jnp.int32)
    state = jax.tree.map(
        lambda s: s._replace(count=count, mu=m, nu=v) if is_adam(s) else s, transform.init(param), is_leaf=is_adam
    )
    updates, state = transform.update(grad, state, param)
    adam = next(s for s in jax.tree.leaves(state, is_leaf=is_adam) if is_adam(s))
    return optax.apply_updates(param, updates), adam.mu, adam.nu


@_jit()
def adam_step(
    param: jax.Array,
    grad: jax.Array,
    m: jax.Array,
    v: jax.Array,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    return _optax_step(_optax().adam(lr, b1=beta1, b2=beta2, eps=eps), param, grad, m, v, step)


@_jit()
def adamw_step(
    param: jax.Array,
    grad: jax.Array,
    m: jax.Array,
    v: jax.Array,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    # optax.adamw's default weight_decay is 1e-4 (the convention adamw.default_weight_decay): passed.
    transform = _optax().adamw(lr, b1=beta1, b2=beta2, eps=eps, weight_decay=weight_decay)
    return _optax_step(transform, param, grad, m, v, step)


@_jit("nesterov", "first_step")
def sgd_momentum_step(
    param: jax.Array,
    grad: jax.Array,
    momentum_buffer: jax.Array,
    lr: float,
    momentum: float,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    first_step: bool = False,
) -> tuple[jax.Array, jax.Array]:
    # optax.sgd(lr, momentum, nesterov): trace (b ← g + μ·b; Nesterov g + μ·b′) and −lr, the lr outside the
    # velocity as in PyTorch. optax has no L2 decay in sgd: optax.add_decayed_weights(λ) chained first adds
    # λ·param to the gradient. It has no dampening: optax.scale(1 − τ) on the gradient is PyTorch's
    # μ·b + (1 − τ)·g̃ (no dampening with Nesterov, as PyTorch requires). PyTorch's first step (no buffer yet,
    # b = g̃) is optax's step from a zero trace, undamped. Without momentum PyTorch keeps no buffer and applies
    # neither dampening nor Nesterov: there the step of optax.sgd(lr), which keeps no trace, is taken and the
    # canonical buffer passes through (μ is traced under autodiff, so both steps are computed).
    optax = _optax()
    decay = optax.add_decayed_weights(weight_decay)
    plain = optax.chain(decay, optax.sgd(lr))
    plain_updates, _ = plain.update(grad, plain.init(param), param)
    damped = () if first_step else (optax.scale(1.0 - dampening),)
    transform = optax.chain(decay, *damped, optax.sgd(lr, momentum=momentum, nesterov=nesterov))

    def is_trace(s: Any) -> bool:
        return isinstance(s, optax.TraceState)

    trace = jnp.zeros_like(param) if first_step else momentum_buffer
    state = jax.tree.map(
        lambda s: s._replace(trace=trace) if is_trace(s) else s, transform.init(param), is_leaf=is_trace
    )
    updates, state = transform.update(grad, state, param)
    after = next(s for s in jax.tree.leaves(state, is_leaf=is_trace) if is_trace(s))
    none = jnp.asarray(momentum) == 0.0
    return (
        jnp.where(none, optax.apply_updates(param, plain_updates), optax.apply_updates(param, updates)),
        jnp.where(none, momentum_buffer, after.trace),
    )


def _optax_with_state(
    transform: Any, kind: str, field: str, param: jax.Array, grad: jax.Array, state: jax.Array
) -> tuple[jax.Array, jax.Array]:
    # One step of `transform` with its state `kind` (ScaleByRmsState.nu, ScaleByRssState.sum_of_squares)
    # set from the canonical state; returns the new parameters and that state.
    optax = _optax()
    cls = getattr(optax, kind)

    def mine(s: Any) -> bool:
        return isinstance(s, cls)

    init = jax.tree.map(lambda s: s._replace(**{field: state}) if mine(s) else s, transform.init(param), is_leaf=mine)
    updates, after = transform.update(grad, init, param)
    new = next(s for s in jax.tree.leaves(after, is_leaf=mine) if mine(s))
    return optax.apply_updates(param, updates), getattr(new, field)


@_jit("eps_in_sqrt")
def rmsprop_step(
    param: jax.Array,
    grad: jax.Array,
    square_avg: jax.Array,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    eps_in_sqrt: bool = False,
) -> tuple[jax.Array, jax.Array]:
    # optax.rmsprop has both placements of ε (eps_in_sqrt, True by default: the convention
    # rmsprop.eps_placement) and decay 0.9 by default (rmsprop.default_decay): both passed.
    transform = _optax().rmsprop(lr, decay=alpha, eps=eps, eps_in_sqrt=eps_in_sqrt)
    return _optax_with_state(transform, "ScaleByRmsState", "nu", param, grad, square_avg)


@_jit("eps_in_sqrt")
def adagrad_step(
    param: jax.Array,
    grad: jax.Array,
    state_sum: jax.Array,
    step: int,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    eps_in_sqrt: bool = False,
) -> tuple[jax.Array, jax.Array]:
    # optax.adagrad adds ε under the root only (adagrad.eps_placement): the other form is set aside, even at
    # ε = 0 where the two are one (ε is traced under autodiff, the form is static). It has no lr_decay:
    # PyTorch's decayed rate lr_t is passed as the rate. Its sum starts at 0.1 (adagrad.initial_accumulator): set.
    if not eps_in_sqrt:
        raise UnsupportedCase("adagrad_step: optax.adagrad adds eps under the root only (eps_in_sqrt=False)")
    transform = _optax().adagrad(adagrad_rate(lr, lr_decay, step), eps=eps)
    return _optax_with_state(transform, "ScaleByRssState", "sum_of_squares", param, grad, state_sum)


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


def conv_transpose2d(
    x: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> jax.Array:
    # lax.conv_transpose has no feature_group_count, so this is what it computes, written with
    # conv_general_dilated: the input dilated by the stride, convolved with the flipped kernel whose in and
    # out channels are swapped per group, padded with d·(k − 1) − p before and d·(k − 1) − p + output_padding
    # after (a negative pad crops). PyTorch's padding p crops the full output; JAX's explicit padding pads the
    # dilated input (the conv_transpose2d.padding_semantics convention).
    c, o_g, kh, kw = weight.shape
    w = weight.reshape(groups, c // groups, o_g, kh, kw).swapaxes(1, 2).reshape(groups * o_g, c // groups, kh, kw)
    pads = [
        (d * (k - 1) - p, d * (k - 1) - p + op)
        for k, p, op, d in zip((kh, kw), as_pair(padding), as_pair(output_padding), as_pair(dilation), strict=True)
    ]
    y = lax.conv_general_dilated(
        x,
        w[:, :, ::-1, ::-1],
        window_strides=(1, 1),
        padding=pads,
        lhs_dilation=as_pair(stride),
        rhs_dilation=as_pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=groups,
    )
    return y if bias is None else y + bias[None, :, None, None]


def adaptive_avg_pool2d(x: jax.Array, output_size: Any) -> jax.Array:
    # JAX (and flax.linen) has no adaptive pooling: the mean of each of PyTorch's bins, ⌊i·H/n⌋ to ⌈(i + 1)·H/n⌉.
    (oh, ow), (h, w) = as_pair(output_size), x.shape[2:]
    rows = [(i * h // oh, -(-(i + 1) * h // oh)) for i in range(oh)]
    cols = [(j * w // ow, -(-(j + 1) * w // ow)) for j in range(ow)]
    return jnp.stack(
        [jnp.stack([x[:, :, r0:r1, c0:c1].mean(axis=(2, 3)) for c0, c1 in cols], axis=-1) for r0, r1 in rows], axis=-2
    )


def _corner_map(size_in: int, size_out: int) -> tuple[float, float]:
    """The (scale, translation) of jax.image.scale_and_translate that samples d·(H − 1)/(n − 1) (align_corners).

    It samples input (d + ½ − t)/scale − ½: scale (n − 1)/(H − 1) and t = (1 − scale)/2 give the corners' map;
    n = 1 samples 0 with scale 1, t = 0 (PyTorch's choice); H = 1 samples inside pixel 0 with scale 2n, t = 0.
    """
    if size_in == 1:
        return 2.0 * size_out, 0.0
    if size_out == 1:
        return 1.0, 0.0
    scale = (size_out - 1) / (size_in - 1)
    return scale, (1.0 - scale) / 2


def interpolate(x: jax.Array, size: Any, mode: str = "nearest", align_corners: bool | None = None) -> jax.Array:
    (oh, ow), (h, w) = as_pair(size), x.shape[2:]
    if mode == "nearest":
        # PyTorch's legacy nearest ⌊d·H/n⌋ has no JAX op (jax.image.resize's nearest is half-pixel): a gather.
        rows = jnp.asarray([min(d * h // oh, h - 1) for d in range(oh)])
        cols = jnp.asarray([min(d * w // ow, w - 1) for d in range(ow)])
        return x[:, :, rows][:, :, :, cols]
    shape = (*x.shape[:2], oh, ow)
    if mode == "nearest-exact":
        return jax.image.resize(x, shape, "nearest")  # half-pixel: ⌊(d + ½)·H/n⌋
    if not align_corners:
        # antialias defaults to True, which widens the kernel when shrinking (interpolate.antialias_default).
        return jax.image.resize(x, shape, "linear", antialias=False)
    # The weights are computed in the dtype of scale and translation: float64, as jax.image.resize's Python floats.
    (sh, th), (sw, tw) = _corner_map(h, oh), _corner_map(w, ow)
    return jax.image.scale_and_translate(
        x, shape, (2, 3), jnp.asarray([sh, sw]), jnp.asarray([th, tw]), "linear", antialias=False
    )


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


# --- gated recurrent cells and layers: flax.linen's LSTMCell, GRUCell and RNN (JAX itself has none) ------------------
# PyTorch's (4H, in) / (3H, in) weights are cut into the per-gate blocks flax keeps as separate Dense layers, each
# kernel transposed to flax's (in, H). flax's LSTMCell adds one bias per gate (on its hidden Dense): PyTorch's two,
# b_ih + b_hh, are summed into it. flax's GRUCell puts a bias on the input Dense of r, z and n and on the hidden Dense
# of n only (the reset gate multiplies W_hn·h + b_hn, as PyTorch's): b_ir + b_hr and b_iz + b_hz are summed, b_in and
# b_hn kept apart. flax's carry is (c, h), PyTorch's (h, c).


def _gate_blocks(w: jax.Array, gates: int) -> list[jax.Array]:
    return jnp.split(w, gates, axis=0)


def _lstm_params(w_ih: jax.Array, w_hh: jax.Array, b_ih: jax.Array, b_hh: jax.Array) -> dict[str, Any]:
    params: dict[str, Any] = {}
    blocks = zip("ifgo", *(_gate_blocks(a, 4) for a in (w_ih, w_hh, b_ih, b_hh)), strict=True)
    for gate, wi, wh, bi, bh in blocks:
        params[f"i{gate}"] = {"kernel": wi.T}
        params[f"h{gate}"] = {"kernel": wh.T, "bias": bi + bh}
    return params


def _gru_params(w_ih: jax.Array, w_hh: jax.Array, b_ih: jax.Array, b_hh: jax.Array) -> dict[str, Any]:
    (wir, wiz, win), (whr, whz, whn) = _gate_blocks(w_ih, 3), _gate_blocks(w_hh, 3)
    (bir, biz, bin_), (bhr, bhz, bhn) = _gate_blocks(b_ih, 3), _gate_blocks(b_hh, 3)
    return {
        "ir": {"kernel": wir.T, "bias": bir + bhr},
        "iz": {"kernel": wiz.T, "bias": biz + bhz},
        "in": {"kernel": win.T, "bias": bin_},
        "hr": {"kernel": whr.T},
        "hz": {"kernel": whz.T},
        "hn": {"kernel": whn.T, "bias": bhn},
    }


@_jit()
def lstm_cell(
    x: jax.Array, h: jax.Array, c: jax.Array, w_ih: jax.Array, w_hh: jax.Array, b_ih: jax.Array, b_hh: jax.Array
) -> tuple[jax.Array, jax.Array]:
    cell = flax_nn.LSTMCell(features=h.shape[-1])
    (c1, h1), _ = cell.apply({"params": _lstm_params(w_ih, w_hh, b_ih, b_hh)}, (c, h), x)
    return h1, c1


@_jit()
def gru_cell(
    x: jax.Array, h: jax.Array, w_ih: jax.Array, w_hh: jax.Array, b_ih: jax.Array, b_hh: jax.Array
) -> jax.Array:
    cell = flax_nn.GRUCell(features=h.shape[-1])
    h1, _ = cell.apply({"params": _gru_params(w_ih, w_hh, b_ih, b_hh)}, h, x)
    return h1


# flax.linen.RNN over the batch-first sequence (time_major=False): reverse=True reads it from its end, and
# keep_order=True puts each output at its input's position (PyTorch's backward direction); return_carry gives h_n.


@_jit("reverse")
def lstm(
    x: jax.Array,
    h0: jax.Array,
    c0: jax.Array,
    w_ih: jax.Array,
    w_hh: jax.Array,
    b_ih: jax.Array,
    b_hh: jax.Array,
    reverse: bool = False,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    layer = flax_nn.RNN(flax_nn.LSTMCell(features=h0.shape[-1]), reverse=reverse, keep_order=True, return_carry=True)
    params = {"cell": _lstm_params(w_ih, w_hh, b_ih, b_hh)}
    (c_n, h_n), outputs = layer.apply({"params": params}, x, initial_carry=(c0, h0))
    return outputs, h_n, c_n


@_jit("reverse")
def gru(
    x: jax.Array,
    h0: jax.Array,
    w_ih: jax.Array,
    w_hh: jax.Array,
    b_ih: jax.Array,
    b_hh: jax.Array,
    reverse: bool = False,
) -> tuple[jax.Array, jax.Array]:
    layer = flax_nn.RNN(flax_nn.GRUCell(features=h0.shape[-1]), reverse=reverse, keep_order=True, return_carry=True)
    h_n, outputs = layer.apply({"params": {"cell": _gru_params(w_ih, w_hh, b_ih, b_hh)}}, x, initial_carry=h0)
    return outputs, h_n


# --- dropout and embedding: flax.linen.Dropout, jnp.take -------------------------------------------------


@_jit("p", "training")
def dropout(x: jax.Array, mask: jax.Array, p: float = 0.5, training: bool = True) -> jax.Array:
    if not training:
        return flax_nn.Dropout(rate=p).apply({}, x, deterministic=True)  # evaluation: flax returns its input
    # flax.linen.Dropout draws its own keep mask and takes none: with the reference's mask it is written as flax
    # writes it, lax.select(mask, inputs / keep_prob, zeros): a dropped unit is 0, even a NaN.
    keep = 1.0 - p
    return lax.select(mask != 0, x / jnp.asarray(keep, x.dtype), jnp.zeros_like(x))


@_jit("p")
def random_dropout(x: jax.Array, p: float, seed: int) -> jax.Array:
    """flax.linen.Dropout(rate=p) in training mode, its "dropout" random stream from ``jax.random.key(seed)``."""
    return flax_nn.Dropout(rate=p).apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(seed)})


@_jit("padding_idx")
def embedding(weight: jax.Array, indices: jax.Array, padding_idx: int | None = None) -> jax.Array:
    if padding_idx is not None:
        # JAX has no padding index: the padding row is read through stop_gradient, so its gradient is 0.
        pad = (jnp.arange(weight.shape[0]) == padding_idx % weight.shape[0])[:, None]
        weight = jnp.where(pad, lax.stop_gradient(weight), weight)
    return jnp.take(weight, indices, axis=0)


# --- attention: jax.nn.dot_product_attention ----------------------------------------------------


@_jit("causal")
def _attention(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    keep: jax.Array | None = None,
    bias: jax.Array | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> jax.Array:
    # jax.nn.dot_product_attention's layout is (B, T, N, H) and its value has the query's H features: the
    # canonical (N, H, L, E) is transposed, and the shorter of E and Ev padded with zeros (a dot product and a
    # weighted sum unchanged; the padded outputs dropped), with the scale 1/√E given.
    e, ev = query.shape[-1], value.shape[-1]
    scale = 1.0 / float(np.sqrt(e)) if scale is None else scale
    width = max(e, ev)

    def padded(x: jax.Array) -> jax.Array:
        return jnp.pad(x, ((0, 0),) * 3 + ((0, width - x.shape[-1]),))

    q, k, v = (jnp.swapaxes(padded(x), 1, 2) for x in (query, key, value))
    y = jax.nn.dot_product_attention(q, k, v, bias=bias, mask=keep, scale=scale, is_causal=causal)
    return jnp.swapaxes(y, 1, 2)[..., :ev]


def scaled_dot_product_attention(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    mask: Any = None,
    bias: jax.Array | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> jax.Array:
    # The boolean mask (True = takes part, as canonical) as an array, outside jit (a nested list is no static).
    keep = None if mask is None else jnp.asarray(np.asarray(mask, dtype=bool))
    return _attention(query, key, value, keep, bias, causal, scale)


@_jit("num_heads", "causal")
def _multi_head_attention(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    num_heads: int,
    q_proj_weight: jax.Array,
    k_proj_weight: jax.Array,
    v_proj_weight: jax.Array,
    out_proj_weight: jax.Array,
    in_proj_bias: jax.Array | None = None,
    out_proj_bias: jax.Array | None = None,
    keep: jax.Array | None = None,
    causal: bool = False,
) -> jax.Array:
    # flax.linen.MultiHeadDotProductAttention(num_heads, qkv_features=E, out_features=E): a DenseGeneral kernel per
    # projection, (in, H, d) with a bias (H, d), and the output kernel (H, d, E): PyTorch's (out, in) weights, whose
    # row h·d + j is head h's feature j, are transposed and reshaped into them (a missing bias is zeros). flax scales
    # the query by 1/√d, hides keys at the dtype's lowest value (a row with no key left averages every value) and
    # takes the softmax in the input dtype (its default force_fp32_for_softmax=False). Its mask broadcasts to
    # (N, heads, L, S), True = attends; a causal mask is the lower triangle from the top left, as canonical.
    e = query.shape[-1]
    d = e // num_heads
    bias = jnp.zeros(3 * e, dtype=query.dtype) if in_proj_bias is None else in_proj_bias
    out_bias = jnp.zeros(e, dtype=query.dtype) if out_proj_bias is None else out_proj_bias
    params: dict[str, Any] = {
        name: {"kernel": w.T.reshape(-1, num_heads, d), "bias": bias[i * e : (i + 1) * e].reshape(num_heads, d)}
        for i, (name, w) in enumerate((("query", q_proj_weight), ("key", k_proj_weight), ("value", v_proj_weight)))
    }
    params["out"] = {"kernel": out_proj_weight.T.reshape(num_heads, d, e), "bias": out_bias}
    shape = (query.shape[1], key.shape[1])
    attends = jnp.ones(shape, dtype=bool) if keep is None else keep
    if causal:
        attends = attends & jnp.tril(jnp.ones(shape, dtype=bool))
    layer = flax_nn.MultiHeadDotProductAttention(num_heads=num_heads, qkv_features=e, out_features=e)
    return layer.apply({"params": params}, query, key, value, mask=attends[None, None])


def multi_head_attention(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    num_heads: int,
    q_proj_weight: jax.Array,
    k_proj_weight: jax.Array,
    v_proj_weight: jax.Array,
    out_proj_weight: jax.Array,
    in_proj_bias: jax.Array | None = None,
    out_proj_bias: jax.Array | None = None,
    mask: Any = None,
    causal: bool = False,
) -> jax.Array:
    # The boolean mask (L, S), True = takes part (jax.nn.dot_product_attention's meaning), as an array outside jit.
    keep = None if mask is None else jnp.asarray(np.asarray(mask, dtype=bool))
    weights = (q_proj_weight, k_proj_weight, v_proj_weight, out_proj_weight)
    return _multi_head_attention(query, key, value, num_heads, *weights, in_proj_bias, out_proj_bias, keep, causal)


def transformer_encoder_block(
    x: jax.Array,
    num_heads: int,
    in_proj_weight: jax.Array,
    in_proj_bias: jax.Array,
    out_proj_weight: jax.Array,
    out_proj_bias: jax.Array,
    linear1_weight: jax.Array,
    linear1_bias: jax.Array,
    linear2_weight: jax.Array,
    linear2_bias: jax.Array,
    norm1_weight: jax.Array,
    norm1_bias: jax.Array,
    norm2_weight: jax.Array,
    norm2_bias: jax.Array,
    norm_first: bool = False,
    activation: str = "relu",
    eps: float = 1e-5,
    causal: bool = False,
) -> jax.Array:
    # Neither JAX nor flax.linen has a Transformer encoder block: composed from this adapter's multi-head
    # attention (flax's MultiHeadDotProductAttention above), layer_norm (jax.nn.standardize), linear
    # and jax.nn.relu / jax.nn.gelu(approximate=False), as a JAX user writes it; the checks cover those pieces.
    # Not jitted as a whole: each piece is compiled once per shape and shared by every order, activation and mask
    # (a program per block configuration took twice the time in a run).
    e = x.shape[-1]
    wq, wk, wv = (in_proj_weight[i * e : (i + 1) * e] for i in range(3))

    def attention(u: jax.Array) -> jax.Array:
        weights = (wq, wk, wv, out_proj_weight, in_proj_bias, out_proj_bias)
        return _multi_head_attention(u, u, u, num_heads, *weights, None, causal)

    def ffn(u: jax.Array) -> jax.Array:
        hidden = linear(u, linear1_weight, linear1_bias)
        hidden = gelu(hidden) if activation == "gelu" else relu(hidden)
        return linear(hidden, linear2_weight, linear2_bias)

    def norm1(u: jax.Array) -> jax.Array:
        return layer_norm(u, e, norm1_weight, norm1_bias, eps)

    def norm2(u: jax.Array) -> jax.Array:
        return layer_norm(u, e, norm2_weight, norm2_bias, eps)

    if norm_first:
        h = x + attention(norm1(x))
        return h + ffn(norm2(h))
    h = norm1(x + attention(x))
    return norm2(h + ffn(h))


# --- positions and perplexity: neither JAX nor flax.linen has an op for them; each is composed from
# jnp.exp, sin, cos and jax.nn.log_softmax (the cross_entropy above), so these checks cover those primitives.


def _frequencies(d: int, base: Any, like: jax.Array) -> jax.Array:
    # ω_i = base^(−2i/d) as exp(2i·(−log base/d)), in the array's dtype (base is traced under the VJP's jit).
    step = (-jnp.log(jnp.asarray(base, dtype=jnp.float64)) / d).astype(like.dtype)
    return jnp.exp(jnp.arange(0, d, 2, dtype=like.dtype) * step)


def sinusoidal_positional_encoding(positions: jax.Array, d_model: int, base: float = 10000.0) -> jax.Array:
    angles = positions[:, None] * _frequencies(d_model, base, positions)
    return jnp.stack((jnp.sin(angles), jnp.cos(angles)), axis=-1).reshape(positions.shape[0], d_model)


def rotary_embedding(x: jax.Array, positions: jax.Array, base: float = 10000.0, interleaved: bool = True) -> jax.Array:
    d = x.shape[-1]
    angles = positions[:, None] * _frequencies(d, base, x)
    cos, sin = jnp.cos(angles), jnp.sin(angles)
    if interleaved:  # pairs (2i, 2i + 1)
        a, b = x[..., 0::2], x[..., 1::2]
        return jnp.stack((a * cos - b * sin, a * sin + b * cos), axis=-1).reshape(x.shape)
    a, b = x[..., : d // 2], x[..., d // 2 :]  # pairs (i, i + d/2): rotate_half
    return jnp.concatenate((a * cos - b * sin, a * sin + b * cos), axis=-1)


def perplexity(logits: jax.Array, target: jax.Array) -> jax.Array:
    return jnp.exp(cross_entropy(logits, target))  # e^(mean loss in nats)


# --- weight initialisation: jax.nn.initializers -----------------------------------------------------
# JAX's kernels are (*kernel, in, out) (in_axis=−2, out_axis=−1): the canonical (out, in, *kernel) shape is
# reversed on its two leading axes and the draw transposed back. JAX has no nonlinearity gain; the
# canonical gain (torch.nn.init.calculate_gain's, dlterms.reference.calculate_gain) becomes the scale g².
_JAX_NAMED = {  # the defaults, by their own names: variance_scaling(1, fan_avg | 2, fan_in, ...)
    "xavier_uniform": jax.nn.initializers.glorot_uniform,
    "xavier_normal": jax.nn.initializers.glorot_normal,
    "kaiming_uniform": jax.nn.initializers.he_uniform,
    "kaiming_normal": jax.nn.initializers.he_normal,
}


def _jax_variance(kind: str, gain: Any, a: Any, mode: str, nonlinearity: str) -> Any:
    """(scale, mode) of jax.nn.initializers.variance_scaling for the canonical options (a and gain may be traced)."""
    from dlterms.reference import calculate_gain

    if kind.startswith("xavier"):
        return gain * gain, "fan_avg"
    if nonlinearity == "leaky_relu":
        return 2.0 / (1.0 + a * a), mode  # g(a)² = 2/(1 + a²)
    return calculate_gain(nonlinearity) ** 2, mode


def _jax_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _jax_scale(kind: str, x: jax.Array, **options: Any) -> jax.Array:
    """variance_scaling's sqrt(variance) for a uniform or normal draw, variance = scale/denominator in x's dtype."""
    opts = {"gain": 1.0, "a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu", **options}
    scale, mode = _jax_variance(kind, **opts)
    fan_in, fan_out = _jax_fans(tuple(x.shape))
    denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = jnp.array(scale / denominator, dtype=x.dtype)
    return jnp.sqrt(3 * variance) if kind.endswith("uniform") else jnp.sqrt(variance)


def xavier_uniform(u: jax.Array, gain: float = 1.0) -> jax.Array:
    # random.uniform(key, shape, dtype, −1, 1)·√(3·variance): the uniform on [−1, 1) is −1 + 2u
    return (u * 2 - 1) * _jax_scale("xavier_uniform", u, gain=gain)


def xavier_normal(z: jax.Array, gain: float = 1.0) -> jax.Array:
    return z * _jax_scale("xavier_normal", z, gain=gain)


def kaiming_uniform(u: jax.Array, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> jax.Array:
    return (u * 2 - 1) * _jax_scale("kaiming_uniform", u, a=a, mode=mode, nonlinearity=nonlinearity)


def kaiming_normal(z: jax.Array, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> jax.Array:
    return z * _jax_scale("kaiming_normal", z, a=a, mode=mode, nonlinearity=nonlinearity)


def random_init(kind: str, shape: tuple[int, ...], seed: int, dtype: str = "float32", **options: Any) -> jax.Array:
    """jax.nn.initializers' glorot_*/he_* (variance_scaling for other options) on the (*kernel, in, out) kernel."""
    opts = {"gain": 1.0, "a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu", **options}
    if all(opts[k] == v for k, v in (("gain", 1.0), ("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu"))):
        init = _JAX_NAMED[kind]()
    else:
        scale, mode = _jax_variance(kind, **opts)
        # glorot_normal and he_normal are variance_scaling(..., "truncated_normal"): the normal ops keep it
        distribution = "uniform" if kind.endswith("uniform") else "truncated_normal"
        init = jax.nn.initializers.variance_scaling(scale, mode, distribution)
    n = len(shape)
    w = init(jax.random.key(seed), (*shape[2:], shape[1], shape[0]), jnp.dtype(dtype))
    return jnp.transpose(w, (n - 1, n - 2, *range(n - 2)))


# --- learning-rate schedules and gradient clipping: optax's (imported on first use by _optax) ------------


def step_lr(lr: jax.Array, step: jax.Array, step_size: int, gamma: float = 0.1) -> jax.Array:
    # optax.exponential_decay with staircase=True: init_value·decay_rate^⌊count/transition_steps⌋. It tests
    # decay_rate == 0 in Python (a constant schedule: the special value step_lr.zero_gamma), so γ is never traced
    # (STATIC_FLOATS).
    schedule = _optax().exponential_decay(lr, transition_steps=step_size, decay_rate=gamma, staircase=True)
    return jnp.asarray(schedule(step)).astype(lr.dtype)


def cosine_annealing_lr(lr: jax.Array, step: jax.Array, t_max: int, eta_min: float = 0.0) -> jax.Array:
    # optax.cosine_decay_schedule's alpha is the final rate as a fraction of init_value (the canonical
    # eta_min is absolute): alpha = eta_min/lr. optax clamps the count at decay_steps, as the canonical op.
    alpha = jnp.where(lr > 0, eta_min / jnp.where(lr > 0, lr, 1.0), 0.0)
    schedule = _optax().cosine_decay_schedule(lr, decay_steps=t_max, alpha=alpha)
    return jnp.asarray(schedule(step)).astype(lr.dtype)


def linear_warmup_lr(lr: jax.Array, step: jax.Array, warmup_steps: int, start_factor: float = 0.0) -> jax.Array:
    # optax.linear_schedule from start_factor·lr to lr over warmup_steps, constant after.
    schedule = _optax().linear_schedule(start_factor * lr, lr, transition_steps=warmup_steps)
    return jnp.asarray(schedule(step)).astype(lr.dtype)


def clip_grad_norm(grads: jax.Array, max_norm: float) -> jax.Array:
    # optax.clip_by_global_norm on the tuple of the k tensors grads[i] (a pytree of k leaves).
    transform = _optax().clip_by_global_norm(max_norm)
    leaves = tuple(grads[i] for i in range(grads.shape[0]))
    clipped, _ = transform.update(leaves, transform.init(leaves))
    return jnp.stack(clipped)
