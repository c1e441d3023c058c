"""Gradient checking: a backend's VJP against central finite differences.

The check is the random-direction test of ``jax.test_util.check_grads``: with
a random cotangent ``v`` and a random unit direction ``u`` per input,

.. math:: v^\\top J u \\approx \\frac{\\phi(\\varepsilon) - \\phi(-\\varepsilon)}{2\\varepsilon},
          \\qquad \\phi(t) = \\langle v, f(x + t u) \\rangle

costs one VJP and two forward evaluations per direction whatever the size of
``x``; :data:`DIRECTIONS` directions share the one VJP. Only when it fails is
the full gradient of ``⟨v, f⟩`` computed by finite differences (two
evaluations per input element) to name the worst entry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .backends import Backend, OpCall
from .checks import Violation
from .tolerances import FD_EPS, Tolerance

__all__ = ["DIRECTIONS", "as_arrays", "directional_check"]

DIRECTIONS = 3
"""Random directions ``u`` per check, all with the same ``v`` and VJP. One direction misses a single
wrong element of a gradient (off by 1 % of its largest entry) in up to 8 % of random inputs; three
missed none of the wrong gradients of ``benchmarks/gradcheck_compare.py`` (docs/reference-accuracy.md),
for 1 VJP + 7 forward evaluations, no more than ``torch.autograd.gradcheck(fast_mode=True)``."""


def as_arrays(bk: Backend, out: Any) -> list[np.ndarray]:
    """A backend output (one array or a tuple of arrays) as a list of float64 NumPy arrays."""
    items = out if isinstance(out, tuple) else (out,)  # multi-output ops return tuples
    return [np.asarray(bk.to_numpy(o), dtype=np.float64) for o in items]


def _phi(bk: Backend, fn: OpCall, primals: Sequence[np.ndarray], v: Sequence[np.ndarray], dtype: str) -> float:
    out = as_arrays(bk, fn(*[bk.asarray(p.tolist(), dtype) for p in primals]))
    return float(sum(np.sum(vi * oi) for vi, oi in zip(v, out, strict=True)))


def directional_check(
    bk: Backend,
    fn: OpCall,
    primals: Sequence[np.ndarray],
    rng: np.random.Generator,
    tol: Tolerance,
    dtype: str = "float64",
    eps: float = FD_EPS,
) -> None:
    """Raise :class:`Violation` unless ``bk.vjp`` agrees with central differences of ``fn``."""
    native = [bk.asarray(p.tolist(), dtype) for p in primals]
    outs = as_arrays(bk, fn(*native))
    v = [rng.standard_normal(o.shape) for o in outs]
    cot = [bk.asarray(vi.tolist(), dtype) for vi in v]
    grads = [
        np.asarray(bk.to_numpy(g), dtype=np.float64)
        for g in bk.vjp(fn, tuple(native), cot[0] if len(cot) == 1 else tuple(cot))
    ]
    for _ in range(DIRECTIONS):  # the first direction is the one a single-direction check would draw
        u = [rng.standard_normal(p.shape) for p in primals]
        norm = np.sqrt(sum(float(np.sum(ui * ui)) for ui in u)) or 1.0
        u = [ui / norm for ui in u]
        analytic = float(sum(np.sum(g * ui) for g, ui in zip(grads, u, strict=True)))
        scale = float(sum(np.sum(np.abs(g * ui)) for g, ui in zip(grads, u, strict=True)))
        plus = _phi(bk, fn, [p + eps * ui for p, ui in zip(primals, u, strict=True)], v, dtype)
        minus = _phi(bk, fn, [p - eps * ui for p, ui in zip(primals, u, strict=True)], v, dtype)
        numeric = (plus - minus) / (2 * eps)
        err = abs(analytic - numeric)
        if not err <= tol.atol + tol.rtol * max(scale, abs(numeric)):  # a NaN on either side is a violation
            break
    else:
        return
    details: dict[str, Any] = {
        "directional_vjp": analytic,
        "directional_finite_difference": numeric,
        "max_abs_err": err,
        "max_rel_err": err / abs(numeric) if numeric else None,
        "tolerance": tol.as_dict(),
        "eps": eps,
    }
    details.update(_worst_entry(bk, fn, primals, v, grads, dtype, eps))
    raise Violation(
        f"vᵀJu from vjp = {analytic:.10g} but central differences give {numeric:.10g} "
        f"(|diff| = {err:.3g}); worst entry: d⟨v,f⟩/d{fn.diff_args[details['argument']]}"
        f"{tuple(details['index'])} is {details['got']:.10g} by vjp, {details['expected']:.10g} by finite differences",
        details,
    )


def _worst_entry(
    bk: Backend,
    fn: OpCall,
    primals: Sequence[np.ndarray],
    v: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    dtype: str,
    eps: float,
) -> dict[str, Any]:
    worst: dict[str, Any] = {"score": -1.0}
    for k, (p, g) in enumerate(zip(primals, grads, strict=True)):
        for idx in np.ndindex(p.shape):
            shifted = [q.copy() for q in primals]
            shifted[k][idx] += eps
            plus = _phi(bk, fn, shifted, v, dtype)
            shifted[k][idx] -= 2 * eps
            minus = _phi(bk, fn, shifted, v, dtype)
            fd = (plus - minus) / (2 * eps)
            score = abs(fd - float(g[idx]))
            score = math.inf if math.isnan(score) else score  # a NaN entry is the worst
            if score > worst["score"]:
                worst = {
                    "score": score,
                    "argument": k,
                    "index": [int(i) for i in idx],
                    "expected": fd,
                    "got": float(g[idx]),
                }
    worst.pop("score")
    return worst
