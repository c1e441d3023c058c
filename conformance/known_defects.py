"""The documented defects of the built-in frameworks that a default run can meet, declared once.

Each is written up with its evidence on the site (*How far to trust the reference*, *TensorFlow findings*).
The test suite allows exactly these failures when it runs a framework, and a recorded report
(``recorded-reports/``) may hold no other. Entries are check ids (``<invariant>[<dtype>]``).
"""

from __future__ import annotations

# jax.nn.silu's VJP multiplies the cotangent by x before σ'(x): where ḡ·x overflows (|x| near the largest
# float) it is ∞·0 = NaN. Only inputs within a factor |ḡ| of the largest float reach it, so a run may or may not
# draw one.
JAX_DEFECTS = ("silu.vjp_matches_reference[float32]", "silu.vjp_matches_reference[float64]")

# Found by the relative accuracy model: tf.nn.leaky_relu keeps its alpha attribute in float32, so a float64
# slope such as 0.3 is rounded before it multiplies (−0.30000001192092896 for x = −1).
TENSORFLOW_ACCURACY_DEFECTS = ("leaky_relu.matches_reference[float64]",)

# Found by the definition of max pooling over NaNs: tf.nn.max_pool2d returns −FLT_MAX, its reduction's start
# value, for a window of NaNs only.
TENSORFLOW_DEFINITION_DEFECTS = ("max_pool2d.special_values[float32]", "max_pool2d.special_values[float64]")

# Every failure a default run of each framework may hold.
DEFAULT_RUN_DEFECTS: dict[str, frozenset[str]] = {
    "jax": frozenset(JAX_DEFECTS),
    "tensorflow": frozenset(TENSORFLOW_ACCURACY_DEFECTS + TENSORFLOW_DEFINITION_DEFECTS),
}
