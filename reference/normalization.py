"""Normalization layers: layer normalization, RMS normalization and group normalization, with their VJPs.

Section: *normalization*. Each op splits its input into groups, normalizes
every group to zero mean (except RMS normalization) and unit mean square,
then applies a learned affine map elementwise:

* :func:`layer_norm`: a group is the trailing ``normalized_shape`` dimensions
  of one example; ``weight`` and ``bias`` have the shape ``normalized_shape``;
* :func:`rms_norm`: the same groups, divided by their root mean square
  without subtracting the mean; ``weight`` only;
* :func:`group_norm`: an input ``(N, C, *)`` whose ``C`` channels fall into
  ``num_groups`` consecutive groups, each normalized over its channels and
  every position; ``weight`` and ``bias`` have one value per channel ``(C,)``.

The statistics are exact: the mean and the *biased* variance (divided by
``n``, as every framework does) are computed in rational arithmetic
(:class:`fractions.Fraction` of the float inputs), and each normalized value
``z = (x − μ)/√(σ² + ε)`` is the correctly rounded square root of the
correctly rounded ``(x − μ)²/(σ² + ε)``, with its sign: within 1 ulp. The
affine map ``z·w + b`` adds at most two roundings. A group holding a NaN is
NaN throughout, and so is a centred group holding an infinity (``∞ − ∞`` in
its deviations); in RMS normalization an infinity makes the mean square ∞, so
the group's finite values are ±0 and its infinities NaN (``∞·0``), as IEEE
arithmetic gives. Other groups are unaffected. With ``eps = 0`` a constant group is ``0/0``, NaN.

Each ``<op>_vjp(..., cotangent, ...)`` returns the cotangent of every
tensor argument, ``None`` for a ``weight`` or ``bias`` that is ``None``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from fractions import Fraction

from ._exact import exact_sum
from ._tensor import Nested, Shape, finite_scalar, integer, tensor, unflatten

__all__ = [
    "group_norm",
    "group_norm_vjp",
    "layer_norm",
    "layer_norm_vjp",
    "rms_norm",
    "rms_norm_vjp",
]


# --- the shared core: groups of flat indices, normalized -------------------------------------------


class _Layout:
    """How an op sees its input: consecutive groups of ``size`` flat values, and each value's affine index."""

    def __init__(self, shape: Shape, size: int, affine_of: list[int], affine_shape: Shape) -> None:
        self.shape = shape
        self.size = size  # values per group (the n of the mean)
        self.affine_of = affine_of  # flat index -> index into weight/bias
        self.affine_shape = affine_shape
        total = math.prod(shape)
        self.groups = [range(s, s + size) for s in range(0, total, size)] if size else []


def _check_eps(fn: str, eps: object) -> float:
    value = finite_scalar(fn, "eps", eps)
    if value < 0:
        raise ValueError(f"{fn}: eps={value!r}; expected a finite real number >= 0 (added to the variance)")
    return value


def _affine(fn: str, name: str, value: Nested | None, layout: _Layout) -> list[float] | None:
    if value is None:
        return None
    shape, flat = tensor(fn, name, value)
    if shape != layout.affine_shape:
        per = "channel" if fn.startswith("group_norm") else "normalized position"
        raise ValueError(
            f"{fn}: {name}.shape={shape} but x.shape={layout.shape}; "
            f"expected {name}.shape == {layout.affine_shape} (one value per {per})"
        )
    return flat


def _statistics(values: list[float], centered: bool, eps: float) -> tuple[Fraction, Fraction] | None:
    """The exact mean (0 if not ``centered``) and ``σ² + ε`` of one group; None if it holds a NaN or infinity."""
    if not all(math.isfinite(v) for v in values):
        return None
    exact = [Fraction(v) for v in values]
    n = len(exact)
    mean = sum(exact, Fraction(0)) / n if centered else Fraction(0)
    return mean, sum(((v - mean) ** 2 for v in exact), Fraction(0)) / n + Fraction(eps)


def _sqrt(v: Fraction) -> float:
    """√v of an exact non-negative ``v`` (finite where the result is, even where v itself overflows a float)."""
    if v == 0:
        return 0.0
    k = (v.numerator.bit_length() - v.denominator.bit_length()) // 2  # v ≈ 4^k
    try:
        return math.ldexp(math.sqrt(float(v / Fraction(4) ** k)), k)
    except OverflowError:
        return math.inf


def _normalized(x: list[float], layout: _Layout, centered: bool, eps: float) -> tuple[list[float], list[float]]:
    """``z`` for every value, and ``√(σ² + ε)`` of every group (NaN for a group with a NaN or infinity)."""
    z = [math.nan] * len(x)
    scales = []
    for group in layout.groups:
        stats = _statistics([x[i] for i in group], centered, eps)
        if stats is None:
            scales.append(math.nan)
            if not centered and not any(math.isnan(x[i]) for i in group):  # x·(1/√∞): ±0, and ∞·0 = NaN
                for i in group:
                    z[i] = math.copysign(0.0, x[i]) if math.isfinite(x[i]) else math.nan
            continue
        mean, denominator = stats
        scales.append(_sqrt(denominator))
        for i in group:
            deviation = Fraction(x[i]) - mean
            if denominator == 0:  # eps = 0 and a constant group: 0/0
                continue
            z[i] = math.copysign(_sqrt(deviation * deviation / denominator), deviation)  # no underflow of z²
    return z, scales


def _forward(
    fn: str, x: Nested, layout_of: object, weight: Nested | None, bias: Nested | None, eps: float, centered: bool
) -> Nested:
    shape, xf = tensor(fn, "x", x)
    layout = layout_of(fn, shape)  # type: ignore[operator]
    w = _affine(fn, "weight", weight, layout)
    b = _affine(fn, "bias", bias, layout)
    z, _ = _normalized(xf, layout, centered, eps)
    out = []
    for i, zi in enumerate(z):
        k = layout.affine_of[i]
        y = zi if w is None else zi * w[k]
        out.append(y if b is None else y + b[k])
    return unflatten(out, shape)


def _backward(
    fn: str,
    x: Nested,
    layout_of: object,
    weight: Nested | None,
    bias: Nested | None,
    eps: float,
    centered: bool,
    cotangent: Nested,
) -> tuple[Nested, Nested | None, Nested | None]:
    r"""``(dx, dweight, dbias)``: with ĝ = g·w, :math:`dx_i = (ĝ_i − \overline{ĝ} − z_i\,\overline{ĝ z}) / s`
    (the mean term only when centered), :math:`dw_k = \sum g\,z`, :math:`db_k = \sum g` over the values of k."""
    shape, xf = tensor(fn, "x", x)
    layout = layout_of(fn, shape)  # type: ignore[operator]
    w = _affine(fn, "weight", weight, layout)
    b = _affine(fn, "bias", bias, layout)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    if g_shape != shape:
        raise ValueError(f"{fn}: cotangent.shape={g_shape} but x.shape={shape}; expected the output's shape")
    z, scales = _normalized(xf, layout, centered, eps)
    g_hat = g if w is None else [gi * w[layout.affine_of[i]] for i, gi in enumerate(g)]
    dx = [math.nan] * len(xf)
    for group, s in zip(layout.groups, scales, strict=True):
        if not s > 0:  # a NaN group, or eps = 0 and a constant group (0/0): NaN, as the forward
            continue
        n = len(group)
        mean_g = exact_sum([g_hat[i] for i in group]) / n if centered else 0.0
        mean_gz = exact_sum([g_hat[i] * z[i] for i in group]) / n
        for i in group:
            dx[i] = exact_sum([g_hat[i], -mean_g, -z[i] * mean_gz]) / s
    n_affine = math.prod(layout.affine_shape)
    by_index: list[list[int]] = [[] for _ in range(n_affine)]
    for i, k in enumerate(layout.affine_of):
        by_index[k].append(i)
    dw = None if w is None else [exact_sum([g[i] * z[i] for i in idx]) for idx in by_index]
    db = None if b is None else [exact_sum([g[i] for i in idx]) for idx in by_index]
    return (
        unflatten(dx, shape),
        None if dw is None else unflatten(dw, layout.affine_shape),
        None if db is None else unflatten(db, layout.affine_shape),
    )


# --- layer normalization and RMS normalization: the trailing dimensions ----------------------------


def _normalized_shape(fn: str, value: object) -> Shape:
    dims = (value,) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(dims, Sequence) or isinstance(dims, str) or not dims:
        raise TypeError(
            f"{fn}: normalized_shape is {value!r}; "
            "expected an int or a non-empty list of ints (the trailing dimensions)"
        )
    return tuple(integer(fn, f"normalized_shape[{i}]", d, minimum=1) for i, d in enumerate(dims))


def _trailing(normalized_shape: object) -> object:
    def layout_of(fn: str, shape: Shape) -> _Layout:
        dims = _normalized_shape(fn, normalized_shape)
        if shape[len(shape) - len(dims) :] != dims or len(shape) < len(dims):
            raise ValueError(
                f"{fn}: x.shape={shape} but normalized_shape={list(dims)}; expected x.shape to end with "
                f"{dims} (the dimensions each example is normalized over)"
            )
        m = math.prod(dims)
        return _Layout(shape, m, [i % m for i in range(math.prod(shape))], dims)

    return layout_of


def layer_norm(
    x: Nested,
    normalized_shape: int | Sequence[int],
    weight: Nested | None = None,
    bias: Nested | None = None,
    eps: float = 1e-5,
) -> Nested:
    r"""Layer normalization over the trailing ``normalized_shape`` dimensions, then ``·weight + bias``.

    .. math:: y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}\, w + b,\quad
              \mu = \frac{1}{n}\sum_{j} x_j,\quad \sigma^2 = \frac{1}{n}\sum_j (x_j - \mu)^2

    over the ``n`` values of each example's trailing dimensions (the biased
    variance). ``x`` has shape ``(..., *normalized_shape)``; ``weight`` and
    ``bias`` the shape ``normalized_shape`` or ``None`` (1 and 0). ``eps``
    (ε ≥ 0) defaults to PyTorch's 1e-5. The signature is
    ``torch.nn.functional.layer_norm``'s. Citation: ``ba2016layer``.

    Accuracy: z within 1 ulp (exact statistics), the affine map two more roundings.

    >>> layer_norm([1.0, 3.0], 2, eps=0.0)
    [-1.0, 1.0]
    """
    fn = "layer_norm"
    return _forward(fn, x, _trailing(normalized_shape), weight, bias, _check_eps(fn, eps), centered=True)


def layer_norm_vjp(
    x: Nested,
    normalized_shape: int | Sequence[int],
    cotangent: Nested,
    weight: Nested | None = None,
    bias: Nested | None = None,
    eps: float = 1e-5,
) -> tuple[Nested, Nested | None, Nested | None]:
    r"""VJP of :func:`layer_norm`: ``(dx, dweight, dbias)``, ``None`` for an absent weight or bias.

    With :math:`\hat g = g\,w` and :math:`s = \sqrt{\sigma^2 + \epsilon}`, over each group:

    .. math:: \frac{\partial L}{\partial x_i} = \frac{1}{s}\Bigl(\hat g_i - \frac{1}{n}\sum_j \hat g_j
              - z_i\,\frac{1}{n}\sum_j \hat g_j z_j\Bigr),\quad
              \frac{\partial L}{\partial w} = \sum g\,z,\quad \frac{\partial L}{\partial b} = \sum g

    the last two summed over the leading (batch) dimensions.

    >>> layer_norm_vjp([1.0, 3.0], 2, [1.0, 0.0], eps=0.0)
    ([0.0, 0.0], None, None)
    """
    fn = "layer_norm_vjp"
    layout = _trailing(normalized_shape)
    return _backward(fn, x, layout, weight, bias, _check_eps(fn, eps), True, cotangent)


def _rms_eps(fn: str, eps: object) -> float:
    # None: the machine epsilon of the input's dtype, as torch.nn.functional.rms_norm; the reference
    # computes in float64, so float64's 2^−52 (a float32 framework uses 2^−23: pass eps to compare).
    return sys.float_info.epsilon if eps is None else _check_eps(fn, eps)


def rms_norm(
    x: Nested, normalized_shape: int | Sequence[int], weight: Nested | None = None, eps: float | None = None
) -> Nested:
    r"""Root-mean-square normalization over the trailing ``normalized_shape`` dimensions, then ``·weight``.

    .. math:: y = \frac{x}{\sqrt{\frac{1}{n}\sum_j x_j^2 + \epsilon}}\, w

    No mean is subtracted and there is no bias. ``eps=None`` is the machine
    epsilon of the input's dtype, as in ``torch.nn.functional.rms_norm``
    (PyTorch ≥ 2.4): the reference computes in float64, so 2⁻⁵² ≈ 2.2e−16.
    Citation: ``zhang2019root``.

    Accuracy: x/rms within 1 ulp (exact mean square), the weight one more rounding.

    >>> rms_norm([3.0, 4.0], 2, eps=0.0)
    [0.848528137423857, 1.131370849898476]
    """
    fn = "rms_norm"
    return _forward(fn, x, _trailing(normalized_shape), weight, None, _rms_eps(fn, eps), centered=False)


def rms_norm_vjp(
    x: Nested,
    normalized_shape: int | Sequence[int],
    cotangent: Nested,
    weight: Nested | None = None,
    eps: float | None = None,
) -> tuple[Nested, Nested | None]:
    r"""VJP of :func:`rms_norm`: ``(dx, dweight)``, ``dweight`` ``None`` when ``weight`` is.

    With :math:`\hat g = g\,w`, :math:`s = \sqrt{\overline{x^2} + \epsilon}` and :math:`z = x/s`:
    :math:`\partial L/\partial x_i = (\hat g_i - z_i\,\frac{1}{n}\sum_j \hat g_j z_j)/s`,
    :math:`\partial L/\partial w = \sum g\,z`.

    >>> rms_norm_vjp([3.0, 4.0], 2, [4.0, -3.0], eps=0.0)
    ([1.131370849898476, -0.848528137423857], None)
    """
    fn = "rms_norm_vjp"
    dx, dw, _ = _backward(fn, x, _trailing(normalized_shape), weight, None, _rms_eps(fn, eps), False, cotangent)
    return dx, dw


# --- group normalization: groups of channels -------------------------------------------------------


def _channel_groups(num_groups: object) -> object:
    def layout_of(fn: str, shape: Shape) -> _Layout:
        groups = integer(fn, "num_groups", num_groups, minimum=1)
        if len(shape) < 2:
            raise ValueError(f"{fn}: x.shape={shape}; expected (N, C, *): a batch of examples with channels")
        c = shape[1]
        if c % groups:
            raise ValueError(
                f"{fn}: num_groups={groups} does not divide the {c} channels of x.shape={shape}; "
                f"expected C % num_groups == 0"
            )
        spatial = math.prod(shape[2:])
        return _Layout(shape, (c // groups) * spatial, [(i // spatial) % c for i in range(math.prod(shape))], (c,))

    return layout_of


def group_norm(
    x: Nested, num_groups: int, weight: Nested | None = None, bias: Nested | None = None, eps: float = 1e-5
) -> Nested:
    r"""Group normalization: each example's channels in ``num_groups`` groups, each normalized, then ``·w + b``.

    .. math:: y_{nc\ldots} = \frac{x_{nc\ldots} - \mu_{ng}}{\sqrt{\sigma^2_{ng} + \epsilon}}\, w_c + b_c

    with :math:`\mu_{ng}`, :math:`\sigma^2_{ng}` the mean and biased variance
    of the ``C/num_groups`` channels of group ``g`` (channel ``c`` is in group
    ``c // (C/num_groups)``) over every position of example ``n``. ``x`` has
    shape ``(N, C, *)``; ``weight`` and ``bias`` ``(C,)`` or ``None``. One
    group is layer normalization over ``(C, *)``; ``C`` groups is instance
    normalization. The signature is ``torch.nn.functional.group_norm``'s.
    Citation: ``wu2018group``.

    Accuracy: z within 1 ulp (exact statistics), the affine map two more roundings.

    >>> group_norm([[1.0, 3.0]], 1, eps=0.0)
    [[-1.0, 1.0]]
    """
    fn = "group_norm"
    return _forward(fn, x, _channel_groups(num_groups), weight, bias, _check_eps(fn, eps), centered=True)


def group_norm_vjp(
    x: Nested,
    num_groups: int,
    cotangent: Nested,
    weight: Nested | None = None,
    bias: Nested | None = None,
    eps: float = 1e-5,
) -> tuple[Nested, Nested | None, Nested | None]:
    r"""VJP of :func:`group_norm`: ``(dx, dweight, dbias)``, as :func:`layer_norm_vjp` within each group.

    :math:`\partial L/\partial w_c = \sum g\,z` and :math:`\partial L/\partial b_c = \sum g` over the
    batch and the positions of channel c.

    >>> group_norm_vjp([[1.0, 3.0]], 1, [[0.0, 1.0]], eps=0.0)
    ([[0.0, 0.0]], None, None)
    """
    fn = "group_norm_vjp"
    return _backward(fn, x, _channel_groups(num_groups), weight, bias, _check_eps(fn, eps), True, cotangent)


# Public for batch normalization (reference/batch_norm.py), which normalizes with the same exact arithmetic.
check_eps = _check_eps
sqrt_exact = _sqrt
