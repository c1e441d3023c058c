"""Gradient clipping by the global norm: every gradient scaled by one factor when their total norm is too large.

Beyond the seed, section *training*. The gradients of a model's parameter tensors are
clipped together: their total (global) Euclidean norm N = √(Σ g²) over every element of
every tensor is computed once and, if it exceeds ``max_norm``, every tensor is multiplied
by ``max_norm/N``, so the update keeps its direction and its norm becomes ``max_norm``
(Pascanu et al. 2013, Algorithm 1; PyTorch's ``clip_grad_norm_``, optax's
``clip_by_global_norm``, TensorFlow's ``clip_by_global_norm``).

The tensors are passed as one tensor ``grads`` whose leading axis indexes them: ``grads[i]``
is the gradient of the i-th parameter tensor (the k tensors then share a shape; the norm
and the factor do not depend on how the elements are grouped). The result is the clipped
``grads``, as optax returns it (PyTorch and TensorFlow also return N; it is not part of the op).

The norm is :func:`math.hypot` of all the elements (correctly rounded in practice and free of
overflow); the factor is one division and each output one product.
"""

from __future__ import annotations

import math

from ._tensor import Nested, finite_scalar, tensor, unflatten

__all__ = ["clip_grad_norm", "clip_grad_norm_vjp"]


def _grads(fn: str, grads: Nested) -> tuple[tuple[int, ...], list[float]]:
    shape, flat = tensor(fn, "grads", grads)
    if len(shape) < 1 or shape[0] < 1:
        raise ValueError(
            f"{fn}: grads has shape {shape}; expected a tensor of rank >= 1 whose leading axis indexes "
            "k >= 1 gradient tensors (grads[i] is the i-th parameter's gradient)"
        )
    return shape, flat


def _max_norm(fn: str, max_norm: object) -> float:
    m = finite_scalar(fn, "max_norm", max_norm)
    if m < 0:
        raise ValueError(f"{fn}: max_norm={m!r}; expected a norm >= 0")
    return m


def _factor(total: float, limit: float) -> float:
    """``min(1, limit/total)``; NaN for a NaN total (IEEE 754's minimum propagates NaN), 1 when not clipped."""
    if math.isnan(total):
        return math.nan
    return limit / total if total > limit else 1.0


def clip_grad_norm(grads: Nested, max_norm: float) -> Nested:
    r"""Clip gradients by their global norm: scale every one by min(1, max_norm/N), N = ‖grads‖₂.

    .. math:: g_i \leftarrow g_i \cdot \min\bigl(1, c / N\bigr),\quad N = \sqrt{\textstyle\sum_i \lVert g_i \rVert_2^2}

    ``grads`` holds the k gradient tensors along its leading axis (rank ≥ 1, k ≥ 1);
    ``max_norm`` c is finite and ≥ 0. Nothing changes when N ≤ c; otherwise the
    clipped gradients have the norm c exactly (PyTorch divides by N + 10⁻⁶ instead of N, a
    convention its adapter translates) and the direction of the update is kept. Returns
    the clipped gradients. A NaN anywhere makes N and every output NaN; an infinite element
    makes N = ∞ and the factor 0. Citation: ``pascanu2013difficulty``.

    >>> clip_grad_norm([[3.0, 0.0], [0.0, 4.0]], max_norm=1.0)
    [[0.6000000000000001, 0.0], [0.0, 0.8]]
    """
    fn = "clip_grad_norm"
    shape, flat = _grads(fn, grads)
    limit = _max_norm(fn, max_norm)
    total = math.hypot(*flat)
    c = _factor(total, limit)
    return unflatten([g * c for g in flat], shape)


def clip_grad_norm_vjp(grads: Nested, cotangent: Nested, max_norm: float) -> Nested:
    r"""VJP of :func:`clip_grad_norm`: the gradient of ``grads`` from the cotangent ȳ of the clipped grads.

    Not clipped (N ≤ c): ḡ = ȳ. Clipped (N > c): y = (c/N)·g, so
    ḡ = (c/N)·ȳ − (c/N³)·⟨g, ȳ⟩·g. Citation: ``pascanu2013difficulty``.
    """
    fn = "clip_grad_norm_vjp"
    shape, flat = _grads(fn, grads)
    limit = _max_norm(fn, max_norm)
    s, cot = tensor(fn, "cotangent", cotangent)
    if s != shape:
        raise ValueError(f"{fn}: cotangent has shape {s}; expected the shape of grads, {shape}")
    total = math.hypot(*flat)
    if not total > limit:
        c = _factor(total, limit)
        return unflatten([c * y for y in cot], shape)
    c = limit / total
    inner = math.fsum(g * y for g, y in zip(flat, cot, strict=True))
    k = c * inner / (total * total)
    return unflatten([c * y - k * g for g, y in zip(flat, cot, strict=True)], shape)
