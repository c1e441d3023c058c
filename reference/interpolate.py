"""Resampling an image to a new size (nearest and bilinear interpolation), and its vector-Jacobian product.

Section: *convolutional networks* (issue 13). ``x`` is NCHW and ``size`` the
output's ``(h, w)`` (an int for both), as ``torch.nn.functional.interpolate``
with ``size``. Each axis is resampled on its own: output position ``d`` of an
axis with ``H`` inputs and ``n`` outputs reads the input at a source
coordinate ``s(d)``, PyTorch's maps:

* ``"nearest"`` (PyTorch's legacy nearest): ``⌊d·H/n⌋``;
* ``"nearest-exact"`` (half-pixel centres, as OpenCV, TensorFlow and JAX): ``⌊(d + ½)·H/n⌋``;
* ``"bilinear"``, ``align_corners=False`` (the default, half-pixel centres):
  ``s = max(0, (d + ½)·H/n − ½)``; ``align_corners=True``: ``s = d·(H − 1)/(n − 1)``
  (0 when ``n = 1``), so the corner pixels' centres map onto each other.

Nearest copies input ``min(⌊s⌋, H − 1)``; bilinear weighs inputs ``⌊s⌋`` and
``⌊s⌋ + 1`` by ``1 − λ`` and ``λ``, ``λ = s − ⌊s⌋`` (past the last input, the
last one alone: the edge is repeated). The 2-d weight of an input is the
product of its row's and its column's. Coordinates and weights are exact
rationals, and each output is the exact weighted sum rounded once (a NaN or
an infinity among the inputs it reads is summed in IEEE arithmetic instead; an
input of weight 0 is not read). ``align_corners`` is refused for the nearest
modes, as PyTorch refuses it. A ``scale_factor`` is not offered: PyTorch's
``scale_factor`` (without ``recompute_scale_factor``) changes the coordinate
map to use ``1/scale_factor`` instead of ``H/n`` (a convention row of the
conformance suite measures it).
"""

from __future__ import annotations

import math
from fractions import Fraction

from ._exact import exact_sum
from ._tensor import Nested, choice, integer, same_shape, tensor, unflatten
from ._windows import Pair, bins, check_spatial, pair, totals

__all__ = ["interpolate", "interpolate_vjp", "interpolation_taps"]

INTERPOLATION_MODES = ("nearest", "nearest-exact", "bilinear")

Taps = list[list[tuple[int, Fraction]]]  # per output position: (input position, weight) with weight > 0


def _align(fn: str, mode: str, align_corners: object) -> bool:
    """The mode's ``align_corners`` as a bool: None is False for bilinear; any value is refused for nearest."""
    choice(fn, "mode", mode, INTERPOLATION_MODES)
    if mode != "bilinear":
        if align_corners is not None:
            raise ValueError(
                f"{fn}: align_corners={align_corners!r} with mode={mode!r}; expected align_corners=None "
                "(it has a meaning for the interpolating mode 'bilinear' only, as in PyTorch)"
            )
        return False
    if align_corners is not None and not isinstance(align_corners, bool):
        raise TypeError(f"{fn}: align_corners={align_corners!r}; expected True, False or None (False)")
    return bool(align_corners)


def _taps(size_in: int, size_out: int, mode: str, align_corners: bool) -> Taps:
    found: Taps = []
    for d in range(size_out):
        if mode == "nearest":
            found.append([(min(d * size_in // size_out, size_in - 1), Fraction(1))])
            continue
        if mode == "nearest-exact":
            found.append([(min((2 * d + 1) * size_in // (2 * size_out), size_in - 1), Fraction(1))])
            continue
        if align_corners:
            s = Fraction(d * (size_in - 1), size_out - 1) if size_out > 1 else Fraction(0)
        else:
            s = max(Fraction(0), Fraction((2 * d + 1) * size_in, 2 * size_out) - Fraction(1, 2))
        i0 = math.floor(s)
        lam = s - i0
        if i0 >= size_in - 1:
            found.append([(size_in - 1, Fraction(1))])
        elif lam == 0:
            found.append([(i0, Fraction(1))])
        else:
            found.append([(i0, 1 - lam), (i0 + 1, lam)])
    return found


def interpolation_taps(
    size_in: int, size_out: int, mode: str = "nearest", align_corners: bool | None = None
) -> list[list[tuple[int, Fraction]]]:
    r"""The inputs each of ``size_out`` outputs reads along an axis of ``size_in``, with their exact weights.

    .. math:: s(d) = \max(0, (d + \tfrac12)\tfrac{H}{n} - \tfrac12) \text{ or (corners) } d\,\tfrac{H - 1}{n - 1}

    for ``H`` inputs and ``n`` outputs; nearest reads ``⌊d·H/n⌋`` (legacy) or
    ``⌊(d + ½)·H/n⌋`` (``"nearest-exact"``). Weights of 0 are left out.
    Citation: ``zhang2023dive`` (§13.10, bilinear interpolation).

    >>> interpolation_taps(2, 4, "bilinear")[1]
    [(0, Fraction(3, 4)), (1, Fraction(1, 4))]
    """
    fn = "interpolation_taps"
    h, n = integer(fn, "size_in", size_in, minimum=1), integer(fn, "size_out", size_out, minimum=1)
    return _taps(h, n, mode, _align(fn, mode, align_corners))


def _geometry(
    fn: str, x: Nested, size: object, mode: str, align_corners: object
) -> tuple[Nested, tuple[int, ...], Pair, Taps, Taps]:
    shape, flat = tensor(fn, "x", x)
    check_spatial(fn, "x", shape, "(N, C, H, W)")
    ac = _align(fn, mode, align_corners)
    oh, ow = pair(fn, "size", size, 1)
    return unflatten(flat, shape), shape, (oh, ow), _taps(shape[2], oh, mode, ac), _taps(shape[3], ow, mode, ac)


def _weighted_sum(values: list[float], weights: list[Fraction]) -> float:
    """Σ wₖ·vₖ rounded once; with a NaN or an infinity among the values, in IEEE arithmetic (w rounded first)."""
    if all(math.isfinite(v) for v in values):
        return float(sum((w * Fraction(v) for v, w in zip(values, weights, strict=True)), Fraction(0)))
    return exact_sum([float(w) * v for v, w in zip(values, weights, strict=True)])


def interpolate(x: Nested, size: int | Pair, mode: str = "nearest", align_corners: bool | None = None) -> Nested:
    r"""Resample each example's channels to ``size`` = (h, w): nearest or bilinear, PyTorch's coordinates.

    .. math:: y_{c,i,j} = \sum_{h} \sum_{w} a_{i,h}\, b_{j,w}\, x_{c,h,w}

    where row ``i``'s weights :math:`a_{i,h}` and column ``j``'s :math:`b_{j,w}` are those of
    :func:`interpolation_taps` (one weight 1 for nearest; ``1 − λ`` and ``λ`` on the two inputs
    around the source coordinate for bilinear). Citation: ``zhang2023dive`` (§13.10).

    >>> interpolate([[[[0.0, 1.0], [2.0, 3.0]]]], 4, "bilinear")[0][0][0]
    [0.0, 0.25, 0.75, 1.0]
    """
    xs, (n, c, _, _), _, rows, cols = _geometry("interpolate", x, size, mode, align_corners)
    return [
        [
            [
                [
                    _weighted_sum(
                        [xs[b][ch][r][q] for r, _ in row for q, _ in col], [a * w for _, a in row for _, w in col]
                    )
                    for col in cols
                ]
                for row in rows
            ]
            for ch in range(c)
        ]
        for b in range(n)
    ]


def interpolate_vjp(
    x: Nested, cotangent: Nested, size: int | Pair, mode: str = "nearest", align_corners: bool | None = None
) -> Nested:
    r"""VJP of :func:`interpolate`, its transpose: each output's cotangent times each weight, added to its input.

    .. math:: \bar{x}_{c,h,w} = \sum_{i} \sum_{j} a_{i,h}\, b_{j,w}\, \bar{y}_{c,i,j}

    Each term is rounded once, and each input's terms are summed with one rounding.
    """
    fn = "interpolate_vjp"
    _, shape, (oh, ow), rows, cols = _geometry(fn, x, size, mode, align_corners)
    n, c = shape[:2]
    g_shape, g_flat = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "interpolate(x)", (n, c, oh, ow))
    g = unflatten(g_flat, g_shape)
    dx = bins(shape)
    for b in range(n):
        for ch in range(c):
            for i, row in enumerate(rows):
                for j, col in enumerate(cols):
                    gij = g[b][ch][i][j]
                    for r, a in row:
                        for q, w in col:
                            term = float(a * w * Fraction(gij)) if math.isfinite(gij) else float(a * w) * gij
                            dx[b][ch][r][q].append(term)
    return totals(dx, 4)
