"""Hypothesis strategies for the conformance suite, named after what they generate.

Every array strategy yields *nested lists of Python floats* whose values are
exactly representable in the requested dtype, so the framework and the
float64 reference see the same numbers. Generation goes through NumPy
(``hypothesis.extra.numpy``) for speed and good shrinking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "float_arrays",
    "logits_with_axis",
    "representable",
    "shapes",
    "unit_direction",
]

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


def shapes(
    *, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes; sides default to 1..5 so that pure-Python references stay fast."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def float_arrays(
    dtype: str,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    *,
    min_value: float = -20.0,
    max_value: float = 20.0,
    away_from: float | None = None,
    margin: float = 1e-3,
    **shape_kwargs: Any,
) -> st.SearchStrategy[Any]:
    """Arrays (as nested lists, a float when 0-d) of finite values in ``[min_value, max_value]``.

    ``away_from=c`` keeps every value at least ``margin`` from ``c`` (a kink
    such as ReLU's at 0, where a finite difference is meaningless).
    Subnormals are excluded: frameworks may flush them to zero, a documented
    and separately probed convention.
    """
    elements = st.floats(
        min_value=min_value,
        max_value=max_value,
        width=_WIDTH[dtype],
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )
    if away_from is not None:
        c = away_from
        elements = elements.filter(lambda v: abs(v - c) >= margin)
    if shape is None:
        shape = shapes(**shape_kwargs)
    return hnp.arrays(np.float64, shape, elements=elements).map(lambda a: representable(a, dtype).tolist())


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


def unit_direction(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A random direction of unit Euclidean norm (for directional derivatives)."""
    u = rng.standard_normal(shape)
    n = np.linalg.norm(u)
    return u / n if n > 0 else u


def cases(**fields: st.SearchStrategy[Any] | Callable[..., Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dictionary strategy: the keyword arguments of one call of an op."""
    return st.fixed_dictionaries(fields)
