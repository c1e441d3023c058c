"""The documented defects of the built-in frameworks that a default run can meet, declared once.

Each is written up with its evidence on the site (*How far to trust the reference*, *TensorFlow findings*).
The test suite allows exactly these failures when it runs a framework, and a recorded report
(``recorded-reports/``) may hold no other. Entries are check ids (``<invariant>[<dtype>]``).
"""

from __future__ import annotations

# GELU's tanh form, in PyTorch 2.13, JAX 0.10 and TensorFlow 2.21 alike: ½x(1 + tanh(z/2)) cancels for x ≪ 0
# (1 + tanh rounds to 0 in float32 from x ≈ −4.5, where the value x·σ(z) ≈ −3e−7 is a normal number; the form
# x·σ(z) does not), and its backward is NaN where x³ overflows (x near the largest float, ∞·0), where the
# derivative is 1. A run fails them where its cases reach the left tail or the largest floats.
GELU_TANH_FORM_DEFECTS = (
    "gelu.matches_reference[float32]",
    "gelu.matches_reference[float64]",
    "gelu.vjp_matches_reference[float32]",
    "gelu.vjp_matches_reference[float64]",
)

# torch.nn.functional.gelu's exact form is ½x(1 + erf(x/√2)), which cancels for x ≪ 0 as the tanh form does:
# gelu(−8) is 0 in float32 and −4.885e−15 in float64, where x·Φ(x) = −4.977e−15 (JAX and TensorFlow use erfc).
TORCH_DEFECTS = GELU_TANH_FORM_DEFECTS

# jax.nn.silu's VJP multiplies the cotangent by x before σ'(x): where ḡ·x overflows (|x| near the largest
# float) it is ∞·0 = NaN. Only inputs within a factor |ḡ| of the largest float reach it, so a run may or may not
# draw one.
JAX_DEFECTS = (
    "silu.vjp_matches_reference[float32]",
    "silu.vjp_matches_reference[float64]",
    *GELU_TANH_FORM_DEFECTS,
)

# Found by the relative accuracy model: tf.nn.leaky_relu keeps its alpha attribute in float32, so a float64
# slope such as 0.3 is rounded before it multiplies (−0.30000001192092896 for x = −1).
TENSORFLOW_ACCURACY_DEFECTS = ("leaky_relu.matches_reference[float64]",)

# Found by the definition of max pooling over NaNs: tf.nn.max_pool2d returns −FLT_MAX, its reduction's start
# value, for a window of NaNs only.
TENSORFLOW_DEFINITION_DEFECTS = ("max_pool2d.special_values[float32]", "max_pool2d.special_values[float64]")

# Met where a run's cases reach them: the tanh form's (GELU_TANH_FORM_DEFECTS); tf.nn.gelu in float64 rounds its
# constants 1/√2 and √(2/π) to float32 (gelu(1) = 0.8413447419 where x·Φ(x) = 0.8413447461, 2.6e−8 off
# relative, either form); tf.nn.elu is e^x − 1, not expm1, which cancels near 0 (elu(−1e−10) = 0 in float32).
TENSORFLOW_DRAWN_DEFECTS = (
    *GELU_TANH_FORM_DEFECTS,
    "elu.matches_reference[float32]",
    "elu.matches_reference[float64]",
)

# Every failure a default run of each framework may hold.
DEFAULT_RUN_DEFECTS: dict[str, frozenset[str]] = {
    "torch": frozenset(TORCH_DEFECTS),
    "jax": frozenset(JAX_DEFECTS),
    "tensorflow": frozenset(TENSORFLOW_ACCURACY_DEFECTS + TENSORFLOW_DEFINITION_DEFECTS + TENSORFLOW_DRAWN_DEFECTS),
}
