"""Tolerances, one table per dtype, with the source of every number.

A comparison passes when ``|actual - expected| <= atol + rtol * |expected|``
elementwise (the rule of ``numpy.isclose`` and ``torch.testing.assert_close``).
Tolerances are never scaled by the size of an array; inputs on which a check
is badly conditioned are filtered out by the strategies instead of met with a
looser tolerance. An invariant that needs a different tolerance names it in
:data:`OVERRIDES` with a written reason.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FD_EPS", "FORWARD", "GRADIENT", "OVERRIDES", "Tolerance", "forward", "gradient"]


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    source: str

    def as_dict(self) -> dict[str, float]:
        return {"rtol": self.rtol, "atol": self.atol}


_TORCH = "torch.testing.assert_close defaults (PyTorch 2.x docs, 'Default tolerances')"

# Forward values compared with the float64 reference.
FORWARD: dict[str, Tolerance] = {
    "float16": Tolerance(1e-3, 1e-5, _TORCH),
    "bfloat16": Tolerance(1.6e-2, 1e-5, _TORCH),
    "float32": Tolerance(1.3e-6, 1e-5, _TORCH),
    "float64": Tolerance(1e-7, 1e-7, _TORCH),
}

# Gradients (a framework's VJP against the reference VJP, and directional
# derivatives against central finite differences in float64).
GRADIENT: dict[str, Tolerance] = {
    "float16": Tolerance(
        1e-2,
        1e-3,
        "jax.test_util.check_grads: default_gradient_tolerance[float16] = 1e-1, tightened: single ops",
    ),
    "bfloat16": Tolerance(1e-1, 1e-2, "jax.test_util.check_grads: default_gradient_tolerance[bfloat16] = 1e-1"),
    "float32": Tolerance(2e-3, 1e-5, "jax.test_util.check_grads: default_gradient_tolerance[float32] = 2e-3"),
    "float64": Tolerance(1e-5, 1e-7, "jax.test_util.check_grads: default_gradient_tolerance[float64] = 1e-5"),
}

# Step of the central difference in float64: truncation error O(eps^2) ~ 1e-12
# against rounding error O(u/eps) ~ 1e-10 (u = 2^-53), both far below 1e-5.
FD_EPS = 1e-6


def _absolute(roundings: int, why: str) -> dict[str, Tolerance]:
    """An absolute bound for a comparison of values of magnitude ≤ 1 that cancel: atol + k·rtol, rtol 0."""
    return {d: Tolerance(0.0, t.atol + roundings * t.rtol, f"{t.source}; {why}") for d, t in FORWARD.items()}


# Per-invariant overrides: invariant id -> (dtype -> Tolerance), each with its reason. An
# invariant whose comparison cancels, or compares a function of a rounded value, gets its own
# bound here, derived from FORWARD; it is never loosened to make a failure go away.
OVERRIDES: dict[str, dict[str, Tolerance]] = {
    # σ(−x) + σ(x) = 1 is a sum of two values in [0, 1], each within FORWARD: absolute, since
    # 1 − σ(x) loses relative accuracy as σ(x) → 1 (two roundings of a value ≤ 1).
    "sigmoid.symmetry": _absolute(2, "absolute: the sum of two values ≤ 1, each rounded once"),
    # 2σ(2x) − 1 cancels near x = 0: absolute, scaled by max |tanh| = 1 (σ rounded, doubled,
    # shifted; tanh rounded: four roundings of values ≤ 2).
    "tanh.sigmoid_identity": _absolute(4, "absolute: 2σ(2x) − 1 cancels near 0 (four roundings of values ≤ 2)"),
    # The sum of a softmax row of logits up to ±1e4 (terms that underflow to 0 are below the
    # smallest normal number): a row holds at most 5 values in [0, 1] (strategies.shapes,
    # max_side=5), each within float32's rtol 1.3e-6, so the sum is within 5·(1.3e-6 + 2⁻²⁴)
    # ≈ 7e-6 of 1. The bound 1e-4 is the seed release's, about 14× that.
    "softmax.finite_for_large_logits": {
        d: Tolerance(0.0, 1e-4, "softmax row sum after underflow: ≤ 5·(rtol + u) ≈ 7e-6 in float32; 1e-4 kept")
        for d in ("float32", "float64")
    },
    # log of a value with relative error r has absolute error ≈ r: the absolute part is
    # 4·rtol (softmax and log_softmax each within FORWARD, the log adds one rounding).
    "log_softmax.equals_log_of_softmax": {
        d: Tolerance(t.rtol, 4 * t.rtol + t.atol, f"{t.source}; log of a value with relative error r is off by ≈ r")
        for d, t in FORWARD.items()
    },
}


def forward(dtype: str, invariant: str = "") -> Tolerance:
    """The forward tolerance for ``dtype``, or the invariant's written override."""
    return OVERRIDES.get(invariant, {}).get(dtype) or FORWARD[dtype]


def gradient(dtype: str, invariant: str = "") -> Tolerance:
    """The gradient tolerance for ``dtype``, or the invariant's written override."""
    return OVERRIDES.get(invariant, {}).get(dtype) or GRADIENT[dtype]
