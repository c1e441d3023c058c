"""Hypothesis strategies for the conformance suite, named after what they generate.

Every array strategy yields *nested lists of Python floats* whose values are
exactly representable in the requested dtype, so the framework and the
float64 reference see the same numbers. Generation goes through NumPy
(``hypothesis.extra.numpy``) for speed and good shrinking.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlterms.ops import as_pair

from .edges import ARRAY_EDGES, OFFSET_SPREAD, check_names, edge_values, offset

__all__ = [
    "conv_params",
    "distinct_grid_arrays",
    "float_arrays",
    "grid_arrays",
    "logits_with_axis",
    "pool_params",
    "representable",
    "reused",
    "shapes",
]

S = TypeVar("S", bound=Callable[..., Any])


def reused(build: S) -> S:
    """Build a strategy once per distinct (hashable) arguments and hand out that one object again.

    Strategies are immutable values, and most cases draw a shape first and then build their arrays'
    strategy for it inside ``draw``: Hypothesis then validated and analysed a new strategy object for
    every example (a tenth of a PyTorch run's time: 36.5 s against 32.7 s for 331 checks, every row's
    status, largest error and example count identical). The same object draws the same values, so a run's
    cases are unchanged. Arguments that cannot be hashed (a list) build a new strategy, as before.
    """
    cached = functools.lru_cache(maxsize=4096)(build)

    @functools.wraps(build)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            hash((args, tuple(kwargs.items())))
        except TypeError:
            return build(*args, **kwargs)
        return cached(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


_WIDTH = {"float16": 16, "bfloat16": 32, "float32": 32, "float64": 64}


def representable(values: np.ndarray, dtype: str) -> np.ndarray:
    """Round float64 ``values`` to the nearest ``dtype`` value, returned as float64."""
    a = np.asarray(values, dtype=np.float64)
    if dtype == "bfloat16":
        # Round float32 bits to the upper 16 (round half to even), as torch does.
        bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return bits.astype(np.uint32).view(np.float32).astype(np.float64)
    return a.astype(np.dtype(dtype)).astype(np.float64)


@reused
def shapes(
    *, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes; sides default to 1..5 so that pure-Python references stay fast."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@reused
def float_arrays(
    dtype: str,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    *,
    min_value: float = -20.0,
    max_value: float = 20.0,
    away_from: float | None = None,
    margin: float = 1e-3,
    magnitudes: tuple[float, float] | None = None,
    edges: tuple[str, ...] = (),
    **shape_kwargs: Any,
) -> st.SearchStrategy[Any]:
    """Arrays (as nested lists, a float when 0-d) of finite values in ``[min_value, max_value]``.

    ``away_from=c`` keeps every value at least ``margin`` from ``c`` (a kink
    such as ReLU's at 0, where a finite difference is meaningless).
    ``magnitudes=(lo, hi)`` mixes in values ``±10^e`` with ``e`` uniform in
    ``[log10 lo, log10 hi]`` (clipped to the dtype's normal range), outside
    ``[min_value, max_value]`` too: the tails and the tiny inputs where a
    relative accuracy check matters (sigmoid at −80, tanh at 1e−20, logits
    spread by 10⁴). Subnormals are excluded: frameworks may flush them to
    zero, a documented and separately probed convention.

    ``edges`` names edges of the dtype's range (:data:`dlterms.conformance.edges.EDGES`:
    ``"exp_overflow"``, ``"full_range"``, ``"signed_zeros"``, ...) whose values are mixed in
    too; ``"large_offsets"`` instead makes some arrays ``c`` plus a small spread.
    """
    elements = st.floats(
        min_value=min_value,
        max_value=max_value,
        width=_WIDTH[dtype],
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )
    if magnitudes is not None:
        elements = st.one_of(elements, _magnitudes(dtype, *magnitudes))
    check_names(edges)
    if set(edges) - set(ARRAY_EDGES):
        elements = st.one_of(elements, edge_values(dtype, edges))
    if away_from is not None:
        c = away_from
        elements = elements.filter(lambda v: abs(v - c) >= margin)
    if shape is None:
        shape = shapes(**shape_kwargs)
    arrays = hnp.arrays(np.float64, shape, elements=elements).map(lambda a: representable(a, dtype).tolist())
    if "large_offsets" in edges:
        arrays = arrays | _offset_arrays(dtype, shape)
    return arrays


@reused
def _offset_arrays(dtype: str, shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]]) -> st.SearchStrategy[Any]:
    """Arrays ``c + spread``: one large offset ``c`` for the whole array, the spread in ``[−8, 8]``."""
    spread = st.floats(-OFFSET_SPREAD, OFFSET_SPREAD, width=_WIDTH[dtype], allow_subnormal=False)
    return st.tuples(hnp.arrays(np.float64, shape, elements=spread), offset(dtype)).map(
        lambda t: representable(t[0] + t[1], dtype).tolist()
    )


@reused
def _magnitudes(dtype: str, lo: float, hi: float) -> st.SearchStrategy[float]:
    """Values ``±10^e``, ``e`` uniform in ``[log10 lo, log10 hi]``, rounded to normal numbers of ``dtype``."""
    smallest, largest = _NORMAL_RANGE[dtype]
    a, b = np.log10(max(lo, smallest)), np.log10(min(hi, largest))
    return (
        st.tuples(st.booleans(), st.floats(float(a), float(b)))
        .map(
            lambda t: float(
                np.clip(representable(np.array((-1.0 if t[0] else 1.0) * 10.0 ** t[1]), dtype), -largest, largest)
            )
        )
        .filter(lambda v: v == 0 or abs(v) >= smallest)
    )


# The smallest normal number and a magnitude bound (well inside the largest finite) of each dtype.
_NORMAL_RANGE = {
    "float16": (2.0**-14, 6e4),
    "bfloat16": (2.0**-126, 1e38),
    "float32": (2.0**-126, 1e38),
    "float64": (2.0**-1022, 1e308),
}


def logits_with_axis(dtype: str, **kwargs: Any) -> st.SearchStrategy[dict[str, Any]]:
    """``{"x": logits of rank >= 1, "axis": a valid axis, negative or not}``."""
    kwargs.setdefault("min_dims", 1)

    def with_axis(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
        nd = len(shape)
        return st.fixed_dictionaries(
            {
                "x": float_arrays(dtype, shape, **{k: v for k, v in kwargs.items() if k not in _SHAPE_KW}),
                "axis": st.integers(-nd, nd - 1),
            }
        )

    shape_kw = {k: v for k, v in kwargs.items() if k in _SHAPE_KW}
    return shapes(**shape_kw).flatmap(with_axis)


_SHAPE_KW = {"min_dims", "max_dims", "min_side", "max_side"}


# --- convolution and pooling ------------------------------------------------------
# Sizes stay small (N ≤ 2, C ≤ 3, H, W ≤ 6, kernel ≤ 3): the pure-Python reference runs every case.


@reused
def grid_arrays(
    dtype: str, shape: tuple[int, ...], *, step: float = 0.25, bound: float = 2.0
) -> st.SearchStrategy[Any]:
    """Arrays (nested lists) of multiples of ``step`` in ``[-bound, bound]``.

    With the defaults every product of two values is a multiple of 1/16 of
    size ≤ 4, so a convolution sum of up to 27 of them (plus a bias) is exact
    in float16 and wider: comparisons then check what an op computes, not the
    order in which it sums, and no tolerance has to absorb cancellation.
    """
    n = round(bound / step)
    return hnp.arrays(np.int64, shape, elements=st.integers(-n, n)).map(
        lambda a: representable(a * step, dtype).tolist()
    )


@reused
def distinct_grid_arrays(dtype: str, shape: tuple[int, ...], *, step: float = 0.25) -> st.SearchStrategy[Any]:
    """Arrays (nested lists) whose values are all different: a shuffled, centred ``step``-spaced grid.

    For max pooling without ties: each window then has one maximum (so the
    gradient is unique), and a finite-difference step of 1e-6 never swaps two
    values that differ by at least ``step``. Exact in every dtype for the
    small shapes used here (at most 216 values, so |value| ≤ 27 with step 1/4).
    """
    size = int(np.prod(shape))
    return st.permutations(range(size)).map(
        lambda p: representable((np.array(p, dtype=np.float64).reshape(shape) - size // 2) * step, dtype).tolist()
    )


def _compact(draw: Callable[..., Any], h: int, w: int) -> int | list[int]:
    # Hyper-parameters come as an int or an [h, w] pair, both accepted by PyTorch and the reference.
    return h if h == w and draw(st.booleans()) else [h, w]


@st.composite
def conv_params(
    draw: Callable[..., Any],
    dtype: str,
    *,
    bias: bool | None = None,
    stride: int | None = None,
    padding: int | None = None,
    dilation: int | None = None,
    groups: int | None = None,
    many_channels: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of one ``conv2d`` call whose kernel fits the padded input.

    ``{"x", "weight", "bias", "stride", "padding", "dilation", "groups"}`` with
    random hyper-parameters (stride 1-3, padding 0-2 on each axis, dilation 1-2,
    groups dividing both channel counts) unless fixed by the keyword arguments;
    ``bias=None`` sometimes omits the bias. Values are :func:`grid_arrays`.
    ``many_channels=True`` makes one call in four a layout where kernels switch
    code paths: 16 or 32 output channels, groups of 1 to 16 with 1 or 2 input
    channels each (depthwise with a multiplier among them), or 8 or 16 input
    channels in one group; the images stay small (one, at most 4×4).
    """
    if many_channels and groups is None and draw(st.integers(0, 3)) == 0:
        return draw(_many_channels(dtype, bias))
    g = groups if groups is not None else draw(st.sampled_from([1, 1, 2, 3]))
    c_in, c_out = g * draw(st.integers(1, max(1, 3 // g))), g * draw(st.integers(1, max(1, 3 // g)))
    k = [draw(st.integers(1, 3)) for _ in range(2)]
    s = as_pair(stride) if stride is not None else tuple(draw(st.integers(1, 3)) for _ in range(2))
    p = as_pair(padding) if padding is not None else tuple(draw(st.integers(0, 2)) for _ in range(2))
    d = as_pair(dilation) if dilation is not None else tuple(draw(st.integers(1, 2)) for _ in range(2))
    # The smallest input the dilated kernel fits in once padded: d·(k − 1) + 1 − 2p.
    size = [draw(st.integers(max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a]), 6)) for a in range(2)]
    with_bias = bias if bias is not None else draw(st.booleans())
    return {
        "x": draw(grid_arrays(dtype, (draw(st.integers(1, 2)), c_in, *size))),
        "weight": draw(grid_arrays(dtype, (c_out, c_in // g, *k))),
        "bias": draw(grid_arrays(dtype, (c_out,))) if with_bias else None,
        "stride": _compact(draw, *s),
        "padding": _compact(draw, *p),
        "dilation": _compact(draw, *d),
        "groups": g,
    }


@st.composite
def _many_channels(draw: Callable[..., Any], dtype: str, bias: bool | None) -> dict[str, Any]:
    g = draw(st.sampled_from([1, 2, 4, 8, 16]))
    c_in = draw(st.sampled_from([8, 16])) if g == 1 else g * draw(st.integers(1, 2))
    c_out = draw(st.sampled_from([16, 32]))
    k = [draw(st.integers(1, 3)) for _ in range(2)]
    p = [draw(st.integers(0, 1)) for _ in range(2)]
    size = [draw(st.integers(max(1, k[a] - 2 * p[a]), 4)) for a in range(2)]
    with_bias = bias if bias is not None else draw(st.booleans())
    return {
        "x": draw(grid_arrays(dtype, (1, c_in, *size))),
        "weight": draw(grid_arrays(dtype, (c_out, c_in // g, *k))),
        "bias": draw(grid_arrays(dtype, (c_out,))) if with_bias else None,
        "stride": [draw(st.integers(1, 2)) for _ in range(2)],
        "padding": p,
        "dilation": 1,
        "groups": g,
    }


# A pooling stride: omitted (the kernel size) or 1 to 3 on each axis; built once, not per example.
_POOL_STRIDES = st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3))


@st.composite
def pool_params(
    draw: Callable[..., Any],
    dtype: str,
    *,
    op: str = "max",
    distinct: bool = False,
    padding: int | None = None,
    count_include_pad: bool | None = None,
) -> dict[str, Any]:
    """Keyword arguments of one ``max_pool2d`` (``op="max"``) or ``avg_pool2d`` (``op="avg"``) call.

    Kernel 1-3, stride 1-3 or omitted (then it defaults to the kernel size),
    padding at most half the kernel (PyTorch's rule) unless fixed by
    ``padding``; ``count_include_pad`` random for ``op="avg"`` unless fixed.
    ``distinct=True`` gives inputs without ties (:func:`distinct_grid_arrays`).
    """
    k = [draw(st.integers(1, 3)) for _ in range(2)]
    p = as_pair(padding) if padding is not None else tuple(draw(st.integers(0, k[a] // 2)) for a in range(2))
    size = [draw(st.integers(max(1, k[a] - 2 * p[a]), 6)) for a in range(2)]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size)
    stride = draw(_POOL_STRIDES)
    case = {
        "x": draw(distinct_grid_arrays(dtype, shape) if distinct else grid_arrays(dtype, shape)),
        "kernel_size": _compact(draw, *k),
        "stride": None if stride is None else _compact(draw, *stride),
        "padding": _compact(draw, *p),
    }
    if op == "avg":
        case["count_include_pad"] = draw(st.booleans()) if count_include_pad is None else count_include_pad
    return case
