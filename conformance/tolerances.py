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

# Per-invariant overrides: invariant id -> (dtype -> Tolerance), each with a reason.
OVERRIDES: dict[str, dict[str, Tolerance]] = {}


def forward(dtype: str, invariant: str = "") -> Tolerance:
    """The forward tolerance for ``dtype``, or the invariant's written override."""
    return OVERRIDES.get(invariant, {}).get(dtype) or FORWARD[dtype]


def gradient(dtype: str, invariant: str = "") -> Tolerance:
    """The gradient tolerance for ``dtype``, or the invariant's written override."""
    return OVERRIDES.get(invariant, {}).get(dtype) or GRADIENT[dtype]
