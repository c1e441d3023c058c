"""Invariants of resampling: nearest and bilinear interpolation (section: CNNs, issue 13).

The cases strategy and the size tier here are named by the op record of
:mod:`dlterms.ops.interpolate`. Inputs are grid values (multiples of 1/4 in
[−2, 2]). Expected values are written here with NumPy in float64 from the
invariant's own statement (repeats, corners, the ¾ and ¼ of doubling, the
input's range), never from the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms.ops import as_pair

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_shape, assert_that
from ..registry import OPS, invariant, native_args, register_ops
from ..strategies import grid_arrays, representable

OP = "interpolate"
TERM = "interpolation"
Case = dict[str, Any]
# (mode, align_corners) of every call the op takes: the nearest modes refuse align_corners.
SETTINGS: tuple[tuple[str, bool | None], ...] = (
    ("nearest", None),
    ("nearest-exact", None),
    ("bilinear", None),
    ("bilinear", False),
    ("bilinear", True),
)


def _case(x: Any, size: tuple[int, int], mode: str, align_corners: bool | None) -> Case:
    case: Case = {"x": x, "size": size[0] if size[0] == size[1] else list(size), "mode": mode}
    if align_corners is not None:
        case["align_corners"] = align_corners
    return case


@st.composite
def interpolate_params(
    draw: Callable[..., Any],
    dtype: str,
    *,
    modes: tuple[str, ...] = ("nearest", "nearest-exact", "bilinear"),
    size: str = "any",
    align_corners: tuple[bool | None, ...] = (None, False, True),
) -> Case:
    """``{"x", "size", "mode"[, "align_corners"]}``: up to 2 examples and 2 channels of 1 to 5 × 1 to 5.

    ``size``: ``"any"`` (1 to 7 per axis), ``"input"`` (the input's size), ``"double"`` (twice it) or
    ``"integer"`` (2 or 3 times it per axis). ``align_corners`` is drawn for bilinear only.
    """
    mode = draw(st.sampled_from(modes))
    ac = draw(st.sampled_from(align_corners)) if mode == "bilinear" else None
    hw = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    if size == "input":
        out = hw
    elif size == "double":
        out = (2 * hw[0], 2 * hw[1])
    elif size == "integer":
        out = (draw(st.integers(2, 3)) * hw[0], draw(st.integers(2, 3)) * hw[1])
    else:
        out = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *hw)
    return _case(draw(grid_arrays(dtype, shape)), out, mode, ac)


def interpolate_sizes(
    dtype: str, rng: np.random.Generator, *, shapes: tuple[tuple[int, int, int, int], ...]
) -> Iterator[Case]:
    """``interpolate`` of 2 × 4 planes of each ``(H, W, h, w)``, in every mode and align_corners; values on a
    grid of quarters in [−2, 2]."""
    for h, w, oh, ow in shapes:
        x = representable(rng.integers(-8, 9, size=(2, 4, h, w)) * 0.25, dtype).tolist()
        for mode, ac in SETTINGS:
            yield _case(x, (oh, ow), mode, ac)


register_ops(op_records.interpolate.OPS)


def resample(bk: Backend, dtype: str, case: Case) -> np.ndarray:
    """``bk.interpolate`` of a case, as a float64 NumPy array."""
    return as_float64(bk, getattr(bk, OP)(**native_args(bk, OPS[OP], case, dtype)))


def _out_shape(xs: np.ndarray, size: Any) -> tuple[int, ...]:
    return (*xs.shape[:2], *as_pair(size))


def _name(case: Case) -> str:
    options = ", ".join(f"{k}={case[k]!r}" for k in ("size", "mode", "align_corners") if k in case)
    return f"interpolate({options})"


@invariant(
    "interpolate.identity_at_input_size",
    term=TERM,
    statement="Resampling to the input's own size is the identity, in every mode and with either align_corners.",
    cases=lambda d: interpolate_params(d, size="input"),
)
def interpolate_identity(bk: Backend, dtype: str, **case: Any) -> None:
    expected = np.asarray(case["x"], dtype=np.float64)
    got = resample(bk, dtype, case)
    assert_shape(got, expected.shape, f"{_name(case)} of {expected.shape}")
    assert_close(got, expected, tolerances.forward(dtype), f"{_name(case)} at the input's size vs x")


def _constant_cases(dtype: str) -> st.SearchStrategy[Case]:
    grid = st.integers(-8, 8).map(lambda k: k * 0.25)
    return st.tuples(interpolate_params(dtype), grid).map(
        lambda t: {**t[0], "x": np.full(np.shape(t[0]["x"]), t[1]).tolist()}
    )


@invariant(
    "interpolate.constant_stays_constant",
    term=TERM,
    statement="A constant image stays that constant at any size: nearest copies it, and bilinear weights sum to 1 "
    "(the edges repeated, not padded with zeros).",
    cases=_constant_cases,
)
def interpolate_constant(bk: Backend, dtype: str, **case: Any) -> None:
    xs = np.asarray(case["x"], dtype=np.float64)
    expected = np.full(_out_shape(xs, case["size"]), xs.flat[0])
    got = resample(bk, dtype, case)
    assert_shape(got, expected.shape, _name(case))
    assert_close(got, expected, tolerances.forward(dtype), f"{_name(case)} of the constant {xs.flat[0]}")


@invariant(
    "interpolate.align_corners_keeps_the_corners",
    term=TERM,
    statement="Bilinear with align_corners=True maps corner onto corner: the output's first and last rows and "
    "columns meet the input's, so its four corner values are the input's (the first pixel where an axis has "
    "one output).",
    cases=lambda d: interpolate_params(d, modes=("bilinear",), align_corners=(True,)),
)
def interpolate_corners(bk: Backend, dtype: str, **case: Any) -> None:
    xs = np.asarray(case["x"], dtype=np.float64)
    oh, ow = as_pair(case["size"])
    got = resample(bk, dtype, case)
    assert_shape(got, _out_shape(xs, case["size"]), _name(case))
    rows = [(0, 0), (oh - 1, xs.shape[2] - 1 if oh > 1 else 0)]
    cols = [(0, 0), (ow - 1, xs.shape[3] - 1 if ow > 1 else 0)]
    for i, r in rows:
        for j, q in cols:
            assert_close(
                got[:, :, i, j], xs[:, :, r, q], tolerances.forward(dtype), f"{_name(case)}[{i}, {j}] vs x[{r}, {q}]"
            )


@invariant(
    "interpolate.bilinear_within_the_input_range",
    term=TERM,
    statement="Bilinear outputs are convex combinations of inputs: each lies between the minimum and the maximum "
    "of its example's channel (no extrapolation at the edges).",
    cases=lambda d: interpolate_params(d, modes=("bilinear",)),
)
def interpolate_within_range(bk: Backend, dtype: str, **case: Any) -> None:
    xs = np.asarray(case["x"], dtype=np.float64)
    got = resample(bk, dtype, case)
    assert_shape(got, _out_shape(xs, case["size"]), _name(case))
    tol = tolerances.forward(dtype)
    lo, hi = xs.min(axis=(2, 3), keepdims=True), xs.max(axis=(2, 3), keepdims=True)
    # Above the minimum and below the maximum, each within the forward tolerance.
    assert_close(np.maximum(got, lo), got, tol, f"{_name(case)} vs the channel's minimum")
    assert_close(np.minimum(got, hi), got, tol, f"{_name(case)} vs the channel's maximum")


@invariant(
    "interpolate.nearest_copies_input_values",
    term=TERM,
    statement="Nearest resampling (either rounding) only copies: every output is one of its channel's inputs.",
    cases=lambda d: interpolate_params(d, modes=("nearest", "nearest-exact")),
)
def interpolate_nearest_copies(bk: Backend, dtype: str, **case: Any) -> None:
    xs = np.asarray(case["x"], dtype=np.float64)
    got = resample(bk, dtype, case)
    assert_shape(got, _out_shape(xs, case["size"]), _name(case))
    copied = np.stack([np.isin(got[n, c], xs[n, c]) for n, c in np.ndindex(*xs.shape[:2])]).reshape(got.shape)
    assert_that(copied, f"every output of {_name(case)} is one of its channel's inputs", got=got, x=xs)


@invariant(
    "interpolate.nearest_integer_factor_repeats",
    term=TERM,
    statement="Nearest resampling by integer factors (k, l) repeats each pixel into a k × l block "
    "(⌊d/k⌋ and ⌊(d + ½)/k⌋ agree).",
    cases=lambda d: interpolate_params(d, modes=("nearest", "nearest-exact"), size="integer"),
)
def interpolate_repeats(bk: Backend, dtype: str, **case: Any) -> None:
    xs = np.asarray(case["x"], dtype=np.float64)
    oh, ow = as_pair(case["size"])
    expected = np.repeat(np.repeat(xs, oh // xs.shape[2], axis=2), ow // xs.shape[3], axis=3)
    got = resample(bk, dtype, case)
    assert_shape(got, expected.shape, _name(case))
    assert_close(got, expected, tolerances.forward(dtype), f"{_name(case)} vs each pixel repeated")


def _doubled(x: np.ndarray, axis: int) -> np.ndarray:
    """Half-pixel doubling along ``axis``: output 2k is ¾·x[k] + ¼·x[k − 1], 2k + 1 is ¾·x[k] + ¼·x[k + 1]
    (a neighbour past the edge is the edge)."""
    x = np.moveaxis(x, axis, -1)
    before = np.concatenate([x[..., :1], x[..., :-1]], axis=-1)
    after = np.concatenate([x[..., 1:], x[..., -1:]], axis=-1)
    out = np.stack([0.75 * x + 0.25 * before, 0.75 * x + 0.25 * after], axis=-1).reshape(*x.shape[:-1], -1)
    return np.moveaxis(out, -1, axis)


@invariant(
    "interpolate.bilinear_doubling_weights",
    term=TERM,
    statement="Bilinear doubling with half-pixel centres (align_corners=False) gives output 2k ¾ of input k and ¼ "
    "of input k − 1, and output 2k + 1 ¾ of input k and ¼ of input k + 1, along each axis (the edges repeated).",
    cases=lambda d: interpolate_params(d, modes=("bilinear",), size="double", align_corners=(None, False)),
)
def interpolate_doubling(bk: Backend, dtype: str, **case: Any) -> None:
    xs = np.asarray(case["x"], dtype=np.float64)
    expected = _doubled(_doubled(xs, 2), 3)
    got = resample(bk, dtype, case)
    assert_shape(got, expected.shape, _name(case))
    assert_close(got, expected, tolerances.forward(dtype), f"{_name(case)} vs ¾ and ¼ of the neighbours")
