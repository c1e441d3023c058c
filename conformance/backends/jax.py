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

from ..checks import Unsupported  # noqa: E402

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


def _optax_version() -> dict[str, str]:
    """optax's version where it is installed: the losses and optimizers of this adapter are optax's."""
    try:
        return {"optax": metadata.version("optax")}
    except metadata.PackageNotFoundError:
        return {}


def facts() -> dict[str, Any]:
    """Device, versions and the math modes that change float32 results."""
    precision = jax.config.jax_default_matmul_precision
    on_gpu = _device.platform == "gpu"
    return {
        "device": device,
        "device_kind": _device.device_kind,
        "framework_versions": {"jax": jax.__version__, "jaxlib": metadata.version("jaxlib"), **_optax_version()},
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
    # JAX has no batch norm op (flax.linen.BatchNorm is not a dependency): jax.nn.standardize over the
    # batch and positions, with the running statistics given as mean and variance in evaluation.
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
        terms = terms + (pos_weight - 1) * target * bce(input, jnp.ones_like(target))
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


# --- dropout and embedding: flax's dropout (flax.linen.Dropout, not a dependency), jnp.take -------------


@_jit("training")
def dropout(x: jax.Array, mask: jax.Array, p: float = 0.5, training: bool = True) -> jax.Array:
    if not training:
        return x  # flax.linen.Dropout(deterministic=True) returns its input
    keep = 1.0 - p
    # flax.linen.Dropout: lax.select(mask, inputs / keep_prob, zeros): a dropped unit is 0, even a NaN.
    return lax.select(mask != 0, x / jnp.asarray(keep, x.dtype), jnp.zeros_like(x))


@_jit()
def random_dropout(x: jax.Array, p: float, seed: int) -> jax.Array:
    """flax's training-mode dropout: a keep mask of jax.random.bernoulli(key, 1 − p), the key from ``seed``."""
    keep = 1.0 - p
    mask = jax.random.bernoulli(jax.random.key(seed), keep, x.shape)
    return lax.select(mask, x / jnp.asarray(keep, x.dtype), jnp.zeros_like(x))


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
