"""Conventions: the defaults each framework picks where a definition leaves room, measured as facts.

A convention is not an invariant: no answer is wrong. Leaky ReLU's default
slope, whether the default cross-entropy reads logits, which side "same"
padding pads more: each framework decides, and a user porting a model must
know. Every value here is *measured*: a probe calls the framework's own
public API with its defaults (never a dlterms adapter) and reads the answer
off the result. The canonical value is measured the same way on
:mod:`dlterms.reference`; it is ``None`` where the reference offers no such
choice (it has no "same" padding and no variance).

:func:`measure` gives, for one framework, one record per convention::

    {"id", "description", "value", "canonical", "matches_canonical", "api"}

``value`` is ``None`` (and ``api`` too) where the framework has no such API;
``matches_canonical`` is ``None`` where either side is missing. A probe that
raises gives ``value = "error: ..."``: measuring never fails a run. These
records are the ``conventions`` section of a conformance report, and
``dlterms conventions`` prints them as a matrix (convention × installed
framework).

Probes are grouped per framework below; each is a function of no arguments
registered with :func:`probe`.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlterms import reference

from .checks import json_safe

__all__ = ["CONVENTIONS", "FRAMEWORKS", "Convention", "installed_frameworks", "measure", "probe"]

# Framework id -> (title, modules that must be importable).
FRAMEWORKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "numpy": ("NumPy", ("numpy",)),
    "torch": ("PyTorch", ("torch",)),
    "jax": ("JAX", ("jax",)),
    "tensorflow": ("TensorFlow/Keras", ("tensorflow", "keras")),
}

Value = float | int | str | bool | None


@dataclass(frozen=True)
class Convention:
    id: str
    description: str
    canonical: Callable[[], Value]  # measured on dlterms.reference


CONVENTIONS: dict[str, Convention] = {}
_PROBES: dict[tuple[str, str], tuple[str, Callable[[], Value]]] = {}  # (framework, id) -> (api, probe)


def convention(id: str, description: str) -> Callable[[Callable[[], Value]], Callable[[], Value]]:
    """Register a convention; the decorated function measures its canonical value on the reference."""

    def deco(canonical: Callable[[], Value]) -> Callable[[], Value]:
        CONVENTIONS[id] = Convention(id, description, canonical)
        return canonical

    return deco


def probe(id: str, framework: str, api: str) -> Callable[[Callable[[], Value]], Callable[[], Value]]:
    """Register ``fn()`` as the measurement of convention ``id`` in ``framework`` through ``api``."""

    def deco(fn: Callable[[], Value]) -> Callable[[], Value]:
        _PROBES[(framework, id)] = (api, fn)
        return fn

    return deco


# --- how values are read off results ---------------------------------------------------------


def _num(v: Any) -> float:
    """A measured number, to 6 significant digits (float32 results read as the decimal they stand for)."""
    return float(f"{float(np.asarray(v, dtype=np.float64)):.6g}")


def _sign_of_zero(v: Any) -> str:
    v = float(np.asarray(v, dtype=np.float64))
    return "-0.0" if v == 0 and math.copysign(1.0, v) < 0 else "+0.0" if v == 0 else repr(v)


_X3 = np.arange(8, dtype=np.float64).reshape(2, 2, 2) * np.array([0.5, 1.0]) - 1.0  # no two axes alike


def _softmax_axis(y: Any) -> str:
    """Which axis a softmax of :data:`_X3` normalised over: ``axis -1`` ... ``axis -3``, or ``all elements``."""
    y = np.asarray(y, dtype=np.float64)
    e = np.exp(_X3 - _X3.max())
    for axis in (-1, -2, -3):
        if np.allclose(y, e / e.sum(axis=axis, keepdims=True), rtol=1e-5, atol=1e-7):
            return f"axis {axis}"
    if np.allclose(y, e / e.sum(), rtol=1e-5, atol=1e-7):
        return "all elements"
    return "other"


_CE_LOGITS = [[0.2, 0.8]]  # read as probabilities: −log 0.8; as logits: −log_softmax(z)[1]


def _ce_input(loss: Any) -> str:
    loss = float(np.asarray(loss, dtype=np.float64))
    as_logits = math.log1p(math.exp(0.2 - 0.8))
    if math.isclose(loss, as_logits, rel_tol=1e-5):
        return "logits"
    return "probabilities" if math.isclose(loss, -math.log(0.8), rel_tol=1e-5) else f"other ({loss:.6g})"


# Two examples with different losses: ln 2 and −ln(3/4).
_CE2_LOGITS, _CE2_TARGET = [[0.0, 0.0], [0.0, math.log(3.0)]], [0, 1]


def _reduction(loss: Any) -> str:
    loss = np.asarray(loss, dtype=np.float64)
    per_example = np.array([math.log(2.0), -math.log(0.75)])
    if loss.shape == (2,):
        return "none" if np.allclose(loss, per_example, rtol=1e-5) else "other"
    if math.isclose(float(loss), per_example.mean(), rel_tol=1e-5):
        return "mean"
    return "sum" if math.isclose(float(loss), per_example.sum(), rel_tol=1e-5) else f"other ({float(loss):.6g})"


def _pad_counted(corner: Any) -> bool:
    """Average of a 2×2 window over an all-ones input padded by 1: 1/4 if the 3 padded cells count, 1 if not."""
    corner = float(np.asarray(corner, dtype=np.float64))
    return bool(math.isclose(corner, 0.25, rel_tol=1e-6))


def _extra_cell_side(first: Any) -> str:
    """A kernel of two ones over [1, 2, 3, 4] with "same" padding: output[0] is 3 (pad at end) or 1 (at start)."""
    first = float(np.asarray(first, dtype=np.float64))
    return "end" if first == 3.0 else "start" if first == 1.0 else f"other ({first:g})"


def _variance(v: Any) -> str:
    """Variance of [1, 2, 3, 4]: 1.25 biased (÷ n), 5/3 unbiased (÷ (n − 1))."""
    v = float(np.asarray(v, dtype=np.float64))
    if math.isclose(v, 1.25, rel_tol=1e-6):
        return "biased (divides by n)"
    return "unbiased (divides by n - 1)" if math.isclose(v, 5 / 3, rel_tol=1e-6) else f"other ({v:g})"


def _tie_rule(grad: Any) -> str:
    """Gradient of a 2×2 max-pool window whose four cells tie (cotangent 1), read in row-major order."""
    g = np.asarray(grad, dtype=np.float64).reshape(-1)
    if np.allclose(g, [1, 0, 0, 0]):
        return "first"
    if np.allclose(g, [0, 0, 0, 1]):
        return "last"
    if np.allclose(g, [0.25] * 4):
        return "split evenly"
    return "all" if np.allclose(g, [1] * 4) else f"other {g.tolist()}"


_SUBNORMAL_X = -100.0  # σ(−100) = e^−100 / (1 + e^−100) ≈ 3.7e−44: a float32 subnormal (< 1.18e−38)


def _subnormal(v: Any) -> str:
    """A positive subnormal result as computed: still there, or 0 (flushed, or lost to an overflowing exp)."""
    return "kept" if float(np.asarray(v, dtype=np.float64)) > 0 else "zero"


_TINY32 = float(np.finfo(np.float32).tiny)  # 2^−126, the smallest normal float32; half of it is subnormal


_XCORR_X = [[[[1.0, 2.0, 3.0]]]]  # (N, C, H, W) = (1, 1, 1, 3)
_XCORR_W = [[[[1.0, 0.0]]]]  # (O, I, kH, kW) = (1, 1, 1, 2): picks the left cell, or the right one if flipped


def _flip(y: Any) -> str:
    first = float(np.asarray(y, dtype=np.float64).reshape(-1)[0])
    return "cross-correlation" if first == 1.0 else "convolution (kernel flipped)" if first == 2.0 else "other"


# --- the conventions, with their canonical value measured on the reference -------------------


@convention("leaky_relu.default_negative_slope", "Slope of leaky ReLU for x < 0 when the function gets no slope.")
def _() -> Value:
    return _num(-reference.leaky_relu(-1.0))


@convention(
    "leaky_relu.layer_default_negative_slope",
    "Slope for x < 0 of the leaky-ReLU layer (module) built with no arguments.",
)
def _() -> Value:
    return _num(-reference.leaky_relu(-1.0))


@convention("relu.derivative_at_zero", "The derivative autodiff gives ReLU at x = 0 (a kink: any of [0, 1] is valid).")
def _() -> Value:
    return _num(reference.relu_vjp(0.0, 1.0))


@convention(
    "leaky_relu.derivative_at_zero",
    "The derivative autodiff gives leaky ReLU (negative_slope=0.25) at x = 0: 0.25 (the left side) or 1.",
)
def _() -> Value:
    return _num(reference.leaky_relu_vjp(0.0, 1.0, negative_slope=0.25))


@convention("relu.sign_of_negative_zero", "relu(−0.0): +0.0 or −0.0 (IEEE max(−0, 0) may return either).")
def _() -> Value:
    return _sign_of_zero(reference.relu(-0.0))


@convention("softmax.default_axis", "The axis softmax normalises over when called with no axis, on a 3-d input.")
def _() -> Value:
    return _softmax_axis(reference.softmax(_X3.tolist()))


@convention("softmax.axis_none", "What softmax(x, axis=None) normalises over, on a 3-d input.")
def _() -> Value:
    try:
        return _softmax_axis(reference.softmax(_X3.tolist(), axis=None))
    except (TypeError, ValueError) as exc:
        return f"rejected ({type(exc).__name__})"


@convention("cross_entropy.default_input", "What the default cross-entropy loss reads: logits or probabilities.")
def _() -> Value:
    return _ce_input(reference.cross_entropy(_CE_LOGITS, [1]))


@convention("cross_entropy.default_reduction", "How the default cross-entropy loss reduces a batch: mean, sum or none.")
def _() -> Value:
    return _reduction(reference.cross_entropy(_CE2_LOGITS, _CE2_TARGET))


@convention(
    "binary_cross_entropy.loss_at_zero_probability",
    "Binary cross-entropy for predicted probability 0 and label 1: 100 with logs clamped at −100, "
    "about 15–16 with probabilities clipped to [1e−7, 1 − 1e−7], inf unclamped.",
)
def _() -> Value:
    return _num(reference.binary_cross_entropy([0.0], [1.0]))


@convention(
    "avg_pool2d.counts_padding",
    "Whether average pooling with padding counts the padded cells in the divisor, by default.",
)
def _() -> Value:
    return _pad_counted(reference.avg_pool2d([[[[1.0, 1.0], [1.0, 1.0]]]], 2, stride=1, padding=1)[0][0][0][0])


@convention(
    "padding.same_extra_cell",
    '"same" padding with an even kernel (2 wide) pads one cell: on which side, start or end.',
)
def _() -> Value:
    return None  # the reference's padding is explicit and symmetric: no "same"


@convention("variance.default_correction", "The default variance: biased (divides by n) or unbiased (by n − 1).")
def _() -> Value:
    return None  # the reference has no variance


@convention(
    "max_pool2d.gradient_on_ties",
    "Where the gradient of a max-pooling window goes when its cells tie: first, last, split evenly or all.",
)
def _() -> Value:
    return _tie_rule(reference.max_pool2d_vjp([[[[1.0, 1.0], [1.0, 1.0]]]], [[[[1.0]]]], 2))


@convention(
    "sigmoid.subnormal_result",
    "sigmoid(−100) in float32, whose exact value 3.7e−44 is subnormal: kept, or zero (flushed, "
    "or 1/(1 + e^100) with e^100 overflowing).",
)
def _() -> Value:
    return _subnormal(np.float32(reference.sigmoid(_SUBNORMAL_X)))


@convention(
    "float32.subnormal_arithmetic",
    "2^−126 × 0.5 in float32 on the default device, a subnormal result: kept, or zero "
    "(flush-to-zero; it also makes ops such as relu read subnormal inputs as 0).",
)
def _() -> Value:
    return _subnormal(np.float32(_TINY32 * 0.5))  # IEEE 754 arithmetic keeps subnormals


@convention(
    "conv2d.flips_kernel",
    "Whether the framework's convolution flips the kernel (true convolution) or not (cross-correlation).",
)
def _() -> Value:
    return _flip(reference.conv2d(_XCORR_X, _XCORR_W))


@convention("rnn.bias_vectors", "Bias vectors of the default one-layer Elman (tanh) RNN: two (b_ih, b_hh) or one.")
def _() -> Value:
    return sum(1 for p in inspect.signature(reference.rnn).parameters if p.startswith("b_"))


# --- NumPy -------------------------------------------------------------------------------------


@probe("relu.sign_of_negative_zero", "numpy", "numpy.maximum(x, 0)")
def _() -> Value:
    return _sign_of_zero(np.maximum(np.float64(-0.0), 0.0))


@probe("padding.same_extra_cell", "numpy", "numpy.convolve(mode='same')")
def _() -> Value:
    return _extra_cell_side(np.convolve([1.0, 2.0, 3.0, 4.0], [1.0, 1.0], mode="same")[0])


@probe("variance.default_correction", "numpy", "numpy.var")
def _() -> Value:
    return _variance(np.var([1.0, 2.0, 3.0, 4.0]))


@probe("float32.subnormal_arithmetic", "numpy", "numpy.float32 *")
def _() -> Value:
    return _subnormal(np.float32(_TINY32) * np.float32(0.5))


@probe("conv2d.flips_kernel", "numpy", "numpy.convolve")
def _() -> Value:
    return _flip(np.convolve(np.asarray(_XCORR_X).reshape(-1), np.asarray(_XCORR_W).reshape(-1), mode="valid"))


# --- PyTorch -----------------------------------------------------------------------------------


def _torch() -> Any:
    import torch

    return torch


def _torch_grad(f: Callable[[Any], Any], x: Any) -> Any:
    torch = _torch()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(t).sum(), t)
    return g.detach().numpy()


@probe("leaky_relu.default_negative_slope", "torch", "torch.nn.functional.leaky_relu")
def _() -> Value:
    torch = _torch()
    return _num(-torch.nn.functional.leaky_relu(torch.tensor(-1.0, dtype=torch.float64)))


@probe("leaky_relu.layer_default_negative_slope", "torch", "torch.nn.LeakyReLU()")
def _() -> Value:
    torch = _torch()
    return _num(-torch.nn.LeakyReLU()(torch.tensor(-1.0, dtype=torch.float64)))


@probe("relu.derivative_at_zero", "torch", "torch.nn.functional.relu + autograd")
def _() -> Value:
    return _num(_torch_grad(_torch().nn.functional.relu, 0.0))


@probe("leaky_relu.derivative_at_zero", "torch", "torch.nn.functional.leaky_relu + autograd")
def _() -> Value:
    return _num(_torch_grad(lambda t: _torch().nn.functional.leaky_relu(t, 0.25), 0.0))


@probe("relu.sign_of_negative_zero", "torch", "torch.nn.functional.relu")
def _() -> Value:
    torch = _torch()
    return _sign_of_zero(torch.nn.functional.relu(torch.tensor(-0.0, dtype=torch.float64)))


@probe("softmax.default_axis", "torch", "torch.nn.functional.softmax (no dim)")
def _() -> Value:
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Implicit dimension choice for softmax has been deprecated"
        return _softmax_axis(torch.nn.functional.softmax(torch.tensor(_X3)))


@probe("softmax.axis_none", "torch", "torch.nn.functional.softmax(dim=None)")
def _() -> Value:
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _softmax_axis(torch.nn.functional.softmax(torch.tensor(_X3), dim=None))


@probe("cross_entropy.default_input", "torch", "torch.nn.functional.cross_entropy")
def _() -> Value:
    torch = _torch()
    return _ce_input(torch.nn.functional.cross_entropy(torch.tensor(_CE_LOGITS), torch.tensor([1])))


@probe("cross_entropy.default_reduction", "torch", "torch.nn.functional.cross_entropy")
def _() -> Value:
    torch = _torch()
    logits = torch.tensor(_CE2_LOGITS, dtype=torch.float64)
    return _reduction(torch.nn.functional.cross_entropy(logits, torch.tensor(_CE2_TARGET)))


@probe("binary_cross_entropy.loss_at_zero_probability", "torch", "torch.nn.functional.binary_cross_entropy")
def _() -> Value:
    torch = _torch()
    return _num(torch.nn.functional.binary_cross_entropy(torch.tensor([0.0]), torch.tensor([1.0])))


@probe("avg_pool2d.counts_padding", "torch", "torch.nn.functional.avg_pool2d(padding=1)")
def _() -> Value:
    torch = _torch()
    return _pad_counted(torch.nn.functional.avg_pool2d(torch.ones(1, 1, 2, 2), 2, stride=1, padding=1)[0, 0, 0, 0])


@probe("padding.same_extra_cell", "torch", "torch.nn.functional.conv2d(padding='same')")
def _() -> Value:
    torch = _torch()
    x = torch.tensor([[[[1.0, 2.0, 3.0, 4.0]]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "padding='same' with even kernel lengths ... may require a copy"
        return _extra_cell_side(torch.nn.functional.conv2d(x, torch.ones(1, 1, 1, 2), padding="same")[0, 0, 0, 0])


@probe("variance.default_correction", "torch", "torch.var")
def _() -> Value:
    torch = _torch()
    return _variance(torch.var(torch.tensor([1.0, 2.0, 3.0, 4.0])))


@probe("max_pool2d.gradient_on_ties", "torch", "torch.nn.functional.max_pool2d + autograd")
def _() -> Value:
    return _tie_rule(_torch_grad(lambda t: _torch().nn.functional.max_pool2d(t, 2), [[[[1.0, 1.0], [1.0, 1.0]]]]))


@probe("sigmoid.subnormal_result", "torch", "torch.sigmoid (float32)")
def _() -> Value:
    torch = _torch()
    return _subnormal(torch.sigmoid(torch.tensor(_SUBNORMAL_X, dtype=torch.float32)))


@probe("float32.subnormal_arithmetic", "torch", "torch.Tensor * (float32, cpu)")
def _() -> Value:
    torch = _torch()
    return _subnormal(torch.tensor(_TINY32, dtype=torch.float32) * torch.tensor(0.5, dtype=torch.float32))


@probe("conv2d.flips_kernel", "torch", "torch.nn.functional.conv2d")
def _() -> Value:
    torch = _torch()
    return _flip(torch.nn.functional.conv2d(torch.tensor(_XCORR_X), torch.tensor(_XCORR_W)))


@probe("rnn.bias_vectors", "torch", "torch.nn.RNN")
def _() -> Value:
    return sum(1 for n, _ in _torch().nn.RNN(1, 1).named_parameters() if n.startswith("bias"))


# --- JAX -----------------------------------------------------------------------------------------


def _jax() -> Any:
    import jax

    return jax


@probe("leaky_relu.default_negative_slope", "jax", "jax.nn.leaky_relu")
def _() -> Value:
    return _num(-_jax().nn.leaky_relu(-1.0))


@probe("relu.derivative_at_zero", "jax", "jax.grad(jax.nn.relu)")
def _() -> Value:
    jax = _jax()
    return _num(jax.grad(jax.nn.relu)(0.0))


@probe("leaky_relu.derivative_at_zero", "jax", "jax.grad(jax.nn.leaky_relu)")
def _() -> Value:
    jax = _jax()
    return _num(jax.grad(lambda x: jax.nn.leaky_relu(x, 0.25))(0.0))


@probe("relu.sign_of_negative_zero", "jax", "jax.nn.relu")
def _() -> Value:
    return _sign_of_zero(_jax().nn.relu(-0.0))


@probe("softmax.default_axis", "jax", "jax.nn.softmax (no axis)")
def _() -> Value:
    return _softmax_axis(_jax().nn.softmax(_X3))


@probe("softmax.axis_none", "jax", "jax.nn.softmax(axis=None)")
def _() -> Value:
    return _softmax_axis(_jax().nn.softmax(_X3, axis=None))


@probe("padding.same_extra_cell", "jax", "jax.lax.conv_general_dilated(padding='SAME')")
def _() -> Value:
    jax = _jax()
    x = np.array([[[[1.0, 2.0, 3.0, 4.0]]]], dtype=np.float32)
    y = jax.lax.conv_general_dilated(x, np.ones((1, 1, 1, 2), np.float32), (1, 1), "SAME")
    return _extra_cell_side(y[0, 0, 0, 0])


@probe("variance.default_correction", "jax", "jax.numpy.var")
def _() -> Value:
    return _variance(_jax().numpy.var(np.array([1.0, 2.0, 3.0, 4.0], np.float32)))


@probe("max_pool2d.gradient_on_ties", "jax", "jax.grad of jax.lax.reduce_window(max)")
def _() -> Value:
    jax = _jax()

    def pool(x: Any) -> Any:
        return jax.lax.reduce_window(x, -np.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID").sum()

    return _tie_rule(jax.grad(pool)(np.ones((1, 1, 2, 2), np.float32)))


@probe("sigmoid.subnormal_result", "jax", "jax.nn.sigmoid (float32)")
def _() -> Value:
    return _subnormal(_jax().nn.sigmoid(np.float32(_SUBNORMAL_X)))


@probe("float32.subnormal_arithmetic", "jax", "jax.numpy.multiply (float32, default device)")
def _() -> Value:
    jnp = _jax().numpy
    return _subnormal(jnp.multiply(jnp.float32(_TINY32), jnp.float32(0.5)))


@probe("conv2d.flips_kernel", "jax", "jax.lax.conv_general_dilated")
def _() -> Value:
    jax = _jax()
    x, w = np.asarray(_XCORR_X, np.float32), np.asarray(_XCORR_W, np.float32)
    return _flip(jax.lax.conv_general_dilated(x, w, (1, 1), "VALID"))


# --- TensorFlow / Keras ------------------------------------------------------------------------


def _tf() -> Any:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _keras() -> Any:
    _tf()
    import keras

    return keras


def _tf_grad(f: Callable[[Any], Any], x: Any) -> Any:
    tf = _tf()
    t = tf.constant(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = tf.reduce_sum(f(t))
    return tape.gradient(y, t).numpy()


@probe("leaky_relu.default_negative_slope", "tensorflow", "tf.nn.leaky_relu")
def _() -> Value:
    tf = _tf()
    return _num(-tf.nn.leaky_relu(tf.constant(-1.0, tf.float64)))


@probe("leaky_relu.layer_default_negative_slope", "tensorflow", "keras.layers.LeakyReLU()")
def _() -> Value:
    return _num(-_keras().layers.LeakyReLU()(np.array([-1.0], np.float32))[0])


@probe("relu.derivative_at_zero", "tensorflow", "tf.nn.relu + tf.GradientTape")
def _() -> Value:
    return _num(_tf_grad(_tf().nn.relu, 0.0))


@probe("leaky_relu.derivative_at_zero", "tensorflow", "tf.nn.leaky_relu + tf.GradientTape")
def _() -> Value:
    return _num(_tf_grad(lambda t: _tf().nn.leaky_relu(t, alpha=0.25), 0.0))


@probe("relu.sign_of_negative_zero", "tensorflow", "tf.nn.relu")
def _() -> Value:
    tf = _tf()
    return _sign_of_zero(tf.nn.relu(tf.constant(-0.0, tf.float64)))


@probe("softmax.default_axis", "tensorflow", "tf.nn.softmax (no axis)")
def _() -> Value:
    return _softmax_axis(_tf().nn.softmax(_X3))


@probe("softmax.axis_none", "tensorflow", "tf.nn.softmax(axis=None)")
def _() -> Value:
    return _softmax_axis(_tf().nn.softmax(_X3, axis=None))


@probe("cross_entropy.default_input", "tensorflow", "keras.losses.SparseCategoricalCrossentropy()")
def _() -> Value:
    return _ce_input(_keras().losses.SparseCategoricalCrossentropy()(np.array([1]), np.array(_CE_LOGITS)))


@probe("cross_entropy.default_reduction", "tensorflow", "keras.losses.SparseCategoricalCrossentropy(from_logits=True)")
def _() -> Value:
    loss = _keras().losses.SparseCategoricalCrossentropy(from_logits=True)
    return _reduction(loss(np.array(_CE2_TARGET), np.array(_CE2_LOGITS)))


@probe("binary_cross_entropy.loss_at_zero_probability", "tensorflow", "keras.losses.BinaryCrossentropy()")
def _() -> Value:
    return _num(_keras().losses.BinaryCrossentropy()(np.array([1.0]), np.array([0.0])))


@probe("avg_pool2d.counts_padding", "tensorflow", "tf.nn.avg_pool2d(padding='SAME')")
def _() -> Value:
    # TF's only padded average pool is "SAME": a 2×2 window, stride 1, on 2×2 ones pads the end by 1.
    y = _tf().nn.avg_pool2d(np.ones((1, 2, 2, 1), np.float32), 2, 1, "SAME")
    return _pad_counted(y[0, -1, -1, 0])


@probe("padding.same_extra_cell", "tensorflow", "tf.nn.conv2d(padding='SAME')")
def _() -> Value:
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32).reshape(1, 1, 4, 1)  # NHWC
    return _extra_cell_side(_tf().nn.conv2d(x, np.ones((1, 2, 1, 1), np.float32), 1, "SAME")[0, 0, 0, 0])


@probe("variance.default_correction", "tensorflow", "tf.math.reduce_variance")
def _() -> Value:
    return _variance(_tf().math.reduce_variance(np.array([1.0, 2.0, 3.0, 4.0], np.float32)))


@probe("max_pool2d.gradient_on_ties", "tensorflow", "tf.nn.max_pool2d + tf.GradientTape")
def _() -> Value:
    return _tie_rule(_tf_grad(lambda t: _tf().nn.max_pool2d(t, 2, 2, "VALID"), np.ones((1, 2, 2, 1))))


@probe("sigmoid.subnormal_result", "tensorflow", "tf.math.sigmoid (float32)")
def _() -> Value:
    tf = _tf()
    return _subnormal(tf.math.sigmoid(tf.constant(_SUBNORMAL_X, tf.float32)))


@probe("float32.subnormal_arithmetic", "tensorflow", "tf.math.multiply (float32, default device)")
def _() -> Value:
    tf = _tf()
    return _subnormal(tf.math.multiply(tf.constant(_TINY32, tf.float32), tf.constant(0.5, tf.float32)))


@probe("conv2d.flips_kernel", "tensorflow", "tf.nn.conv2d")
def _() -> Value:
    x = np.asarray(_XCORR_X, np.float32).transpose(0, 2, 3, 1)  # NHWC
    w = np.asarray(_XCORR_W, np.float32).transpose(2, 3, 1, 0)  # HWIO
    return _flip(_tf().nn.conv2d(x, w, 1, "VALID"))


@probe("rnn.bias_vectors", "tensorflow", "keras.layers.SimpleRNN")
def _() -> Value:
    layer = _keras().layers.SimpleRNN(1)
    layer.build((None, None, 1))
    return sum(1 for v in layer.trainable_variables if "bias" in v.path)


# --- measuring -------------------------------------------------------------------------------------


def installed_frameworks() -> list[str]:
    """The frameworks of :data:`FRAMEWORKS` importable here, in table order."""
    return [fw for fw, (_, mods) in FRAMEWORKS.items() if all(importlib.util.find_spec(m) for m in mods)]


def _safe(fn: Callable[[], Value]) -> Value:
    try:
        return fn()
    except Exception as exc:  # a probe that breaks is reported, never raised
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _matches(value: Value, canonical: Value) -> bool | None:
    if value is None or canonical is None or (isinstance(value, str) and value.startswith("error:")):
        return None
    if isinstance(value, float) and isinstance(canonical, float):
        return math.isclose(value, canonical, rel_tol=1e-6)
    return value == canonical


def measure(framework: str) -> list[dict[str, Any]]:
    """One record per convention for ``framework`` (``reference`` gives the canonical values themselves).

    Raises ValueError for an unknown framework; a framework that is not
    installed gives errors in its values, not an exception.
    """
    if framework not in FRAMEWORKS and framework != "reference":
        raise ValueError(f"conventions: unknown framework {framework!r}; expected one of {', '.join(FRAMEWORKS)}")
    records = []
    for conv in CONVENTIONS.values():
        canonical = _safe(conv.canonical)
        if framework == "reference":
            api, value = "dlterms.reference", canonical
        else:
            api, fn = _PROBES.get((framework, conv.id), (None, None))
            value = None if fn is None else _safe(fn)
        records.append(
            {
                "id": conv.id,
                "description": conv.description,
                "value": json_safe(value),  # ±inf and NaN as strings: the report is strict JSON
                "canonical": json_safe(canonical),
                "matches_canonical": _matches(value, canonical),
                "api": api,
            }
        )
    return records
