"""Invariants of positions: sinusoidal_positional_encoding and rotary_embedding (section: attention).

The cases strategies here are named by the op records of :mod:`dlterms.ops.positional`. Every
comparison allows each entry the op's own relative bound (the record's accuracy model: an entry
within k·u·(|y| + s) + λ, s the ``sinusoid_angle`` or ``rotation`` sensitivity, which carries the
angle's rounding u·|p·ω_i|) and propagates it through the identity checked, so no invariant has a
tolerance of its own. Positions that are shifted are whole numbers of at most 64, exact in every
dtype, so that p + k is exactly the position the backend is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_that
from ..registry import OPS, invariant, native_args, register_ops
from ..sensitivities import sensitivity
from ..sizes import values
from ..strategies import float_arrays, representable, reused

PE = "sinusoidal_positional_encoding"
ROPE = "rotary_embedding"
PE_TERM = "positional-encoding"
ROPE_TERM = "rotary-position-embedding"
_BASES = (10000.0, 100.0)  # the Transformer's, and one whose slow frequencies turn within the positions drawn
_WIDTHS = (2, 4, 6, 8, 16)


@reused
def _positions(dtype: str, largest: float, whole: bool) -> st.SearchStrategy[list[float]]:
    """1 to 6 positions in [0, largest]: whole numbers (``whole``), or whole numbers and fractions mixed."""
    integers = st.integers(0, int(largest)).map(float)
    number = integers if whole else st.one_of(integers, st.floats(0.0, largest, allow_subnormal=False))
    return st.lists(number, min_size=1, max_size=6).map(lambda p: representable(np.asarray(p), dtype).tolist())


@st.composite
def encoding_cases(draw: Any, dtype: str, *, largest: float = 64.0, whole: bool = False) -> dict[str, Any]:
    """``{"positions", "d_model", "base"}``: 1 to 6 positions in [0, largest], d_model 2 to 16, base 10000 or 100."""
    return {
        "positions": draw(_positions(dtype, largest, whole)),
        "d_model": draw(st.sampled_from(_WIDTHS)),
        "base": draw(st.sampled_from(_BASES)),
    }


@st.composite
def rotary_cases(draw: Any, dtype: str, *, largest: float = 64.0, whole: bool = False) -> dict[str, Any]:
    """``{"x", "positions", "base", "interleaved"}``: x (…, L, D) of 2 to 4 axes in [−2, 2], D 2 to 8 (even),
    L positions in [0, largest], both pairings."""
    positions = draw(_positions(dtype, largest, whole))
    lead = draw(st.lists(st.integers(1, 2), max_size=2))
    d = draw(st.sampled_from((2, 4, 6, 8)))
    x = draw(float_arrays(dtype, (*lead, len(positions), d), min_value=-2.0, max_value=2.0))
    return {
        "x": x,
        "positions": positions,
        "base": draw(st.sampled_from(_BASES)),
        "interleaved": draw(st.booleans()),
    }


def encoding_sizes(
    dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...], widths: tuple[int, ...]
) -> Iterator[dict[str, Any]]:
    """The positions 0 … n − 1 for each length n, in each width (the table a language model adds)."""
    for n in lengths:
        for d in widths:
            yield {"positions": representable(np.arange(n, dtype=np.float64), dtype).tolist(), "d_model": d}


def rotary_sizes(
    dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...], widths: tuple[int, ...]
) -> Iterator[dict[str, Any]]:
    """A (1, 2, n, D) query at positions 0 … n − 1, for each length n and head width D, both pairings."""
    for i, n in enumerate(lengths):
        for d in widths:
            positions = representable(np.arange(n, dtype=np.float64), dtype).tolist()
            yield {"x": values(dtype, rng, (1, 2, n, d), span=1.0).tolist(), "positions": positions,
                   "interleaved": i % 2 == 0}  # fmt: skip


register_ops(op_records.positional.OPS)


def _call(bk: Backend, dtype: str, op: str, case: dict[str, Any]) -> np.ndarray:
    return as_float64(bk, getattr(bk, op)(**native_args(bk, OPS[op], case, dtype)))


def bound(op: str, dtype: str, case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The exact output (the float64 reference) and the record's allowed error of each entry at ``case``."""
    y = np.asarray(getattr(reference, op)(**case), dtype=np.float64)
    accuracy = op_records.OPS[op].accuracy
    (s,) = sensitivity(accuracy.sensitivity, case, [y])
    (a,) = tolerances.accumulation(accuracy.accumulation, case, [y], dtype)
    return y, tolerances.relative(dtype, accuracy.sensitivity).allowed(y, s, a)


def _pairs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sin and cos columns of an encoding (…, d): columns 0, 2, … and 1, 3, …"""
    return a[..., 0::2], a[..., 1::2]


# --- the sinusoidal positional encoding -------------------------------------------------------------------


@invariant(
    f"{PE}.values_in_minus_one_one",
    term=PE_TERM,
    statement="Every entry is a sine or a cosine: it lies in [−1, 1].",
    cases=lambda d: encoding_cases(d),
)
def values_in_range(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, PE, case)
    assert_that(np.abs(got) <= 1.0, "an entry of the encoding lies outside [−1, 1]", encoding=got)


@invariant(
    f"{PE}.sin_squared_plus_cos_squared_is_one",
    term=PE_TERM,
    statement="Columns 2i and 2i + 1 are the sine and cosine of one angle: PE[p, 2i]² + PE[p, 2i + 1]² = 1.",
    cases=lambda d: encoding_cases(d),
)
def sin_squared_plus_cos_squared(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, PE, case)
    y, allowed = bound(PE, dtype, case)
    (s, c), (ds, dc) = _pairs(got), _pairs(allowed)
    # |ŝ² + ĉ² − 1| ≤ (2|s| + δs)·δs + (2|c| + δc)·δc with the exact s and c (s² + c² = 1 exactly).
    sy, cy = _pairs(y)
    slack = (2 * np.abs(sy) + ds) * ds + (2 * np.abs(cy) + dc) * dc
    assert_that(np.abs(s * s + c * c - 1.0) <= slack, "a pair's sin² + cos² is not 1", sum_of_squares=s * s + c * c)


@st.composite
def _shifted(draw: Any, dtype: str, *, rotary: bool = False) -> dict[str, Any]:
    """Cases with whole positions in [0, 48] and a whole shift ``k`` in [1, 16] (p + k ≤ 64: exact in every dtype)."""
    cases = rotary_cases if rotary else encoding_cases
    case = draw(cases(dtype, largest=48.0, whole=True))
    return {**case, "shift": float(draw(st.integers(1, 16)))}


def _rotated(pe_p: np.ndarray, pe_k: np.ndarray) -> np.ndarray:
    """PE(p) turned by the angles of PE(k) pair by pair: (s_p·c_k + c_p·s_k, c_p·c_k − s_p·s_k)."""
    (sp, cp), (sk, ck) = _pairs(pe_p), _pairs(pe_k)
    out = np.empty_like(pe_p)
    out[..., 0::2], out[..., 1::2] = sp * ck + cp * sk, cp * ck - sp * sk
    return out


@invariant(
    f"{PE}.shift_is_a_rotation",
    term=PE_TERM,
    statement="PE(p + k) is PE(p) turned pair by pair by the angles of PE(k): a linear map that depends on the "
    "shift k only (sin(a + b) = sin a cos b + cos a sin b, cos(a + b) = cos a cos b − sin a sin b).",
    cases=lambda d: _shifted(d),
)
def shift_is_a_rotation(bk: Backend, dtype: str, shift: float, **case: Any) -> None:
    p = np.asarray(case["positions"])
    moved = {**case, "positions": (p + shift).tolist()}
    at_k = {**case, "positions": [shift]}
    got_p, got_moved, got_k = (_call(bk, dtype, PE, c) for c in (case, moved, at_k))
    (_, d_p), (_, d_moved), (_, d_k) = (bound(PE, dtype, c) for c in (case, moved, at_k))
    # Each rotated entry is two products a·b of entries within δ of their exact values, each ≤ 1.
    pair_sum = lambda d: np.repeat(d[..., 0::2] + d[..., 1::2], 2, axis=-1)  # noqa: E731
    allowed = d_moved + 2 * (pair_sum(d_p) + pair_sum(d_k)) + pair_sum(d_p) * pair_sum(d_k)
    want = _rotated(got_p, got_k)
    assert_that(
        np.abs(got_moved - want) <= allowed,
        f"PE(p + {shift:g}) is not PE(p) turned by the angles of PE({shift:g})",
        shifted=got_moved,
        rotated=want,
        allowed=allowed,
    )


@invariant(
    f"{PE}.dot_product_depends_only_on_offset",
    term=PE_TERM,
    statement="PE(p)·PE(q) = Σ_i cos((p − q)·ω_i) depends on p − q only: shifting every position by k leaves "
    "each pair's dot product unchanged.",
    cases=lambda d: _shifted(d),
)
def dot_product_depends_only_on_offset(bk: Backend, dtype: str, shift: float, **case: Any) -> None:
    moved = {**case, "positions": (np.asarray(case["positions"]) + shift).tolist()}
    dots, slack = [], []
    for c in (case, moved):
        got = _call(bk, dtype, PE, c)
        _, d = bound(PE, dtype, c)
        dots.append(got @ got.T)
        # |Δ(a·b)| ≤ Σ (|a|·δb + |b|·δa + δa·δb), |a|, |b| ≤ 1 per entry.
        slack.append(d.sum(axis=1)[:, None] + d.sum(axis=1)[None, :] + d @ d.T)
    allowed = slack[0] + slack[1]
    assert_that(
        np.abs(dots[0] - dots[1]) <= allowed,
        f"shifting every position by {shift:g} changed a dot product PE(p)·PE(q)",
        dots=dots[0],
        shifted_dots=dots[1],
        allowed=allowed,
    )


# --- rotary position embedding ----------------------------------------------------------------------------


def pair_columns(d: int, interleaved: bool) -> tuple[np.ndarray, np.ndarray]:
    """The columns (a, b) of each frequency's pair: (2i, 2i + 1) interleaved, (i, i + d/2) otherwise."""
    i = np.arange(d // 2)
    return (2 * i, 2 * i + 1) if interleaved else (i, i + d // 2)


@invariant(
    f"{ROPE}.preserves_each_pair_norm",
    term=ROPE_TERM,
    statement="Each pair (x_a, x_b) of a frequency is turned, not stretched: y_a² + y_b² = x_a² + x_b².",
    cases=lambda d: rotary_cases(d),
)
def preserves_each_pair_norm(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, ROPE, case)
    y, allowed = bound(ROPE, dtype, case)
    x = np.asarray(case["x"], dtype=np.float64)
    a, b = pair_columns(x.shape[-1], case["interleaved"])
    norm_x = x[..., a] ** 2 + x[..., b] ** 2
    norm_y = got[..., a] ** 2 + got[..., b] ** 2
    slack = (2 * np.abs(y[..., a]) + allowed[..., a]) * allowed[..., a]
    slack = slack + (2 * np.abs(y[..., b]) + allowed[..., b]) * allowed[..., b]
    assert_that(np.abs(norm_y - norm_x) <= slack, "a pair's norm changed", x_norms=norm_x, y_norms=norm_y)


@st.composite
def _scored(draw: Any, dtype: str) -> dict[str, Any]:
    """A query q and a key k (…, 1, D) at whole positions m and n in [0, 48], and a whole shift in [1, 16]."""
    case = draw(_shifted(dtype, rotary=True))
    x = np.asarray(case["x"])
    q, k = x[..., :1, :], draw(float_arrays(dtype, (*x.shape[:-2], 1, x.shape[-1]), min_value=-2.0, max_value=2.0))
    m, n = (float(draw(st.integers(0, 48))) for _ in range(2))
    return {"x": q.tolist(), "key": k, "positions": [m], "key_position": n, **_options(case)}


def _options(case: dict[str, Any]) -> dict[str, Any]:
    return {"base": case["base"], "interleaved": case["interleaved"], "shift": case["shift"]}


@invariant(
    f"{ROPE}.score_depends_only_on_offset",
    term=ROPE_TERM,
    statement="⟨RoPE(q, m), RoPE(k, n)⟩ depends on the positions through m − n only: shifting both by the same "
    "amount leaves the score unchanged (RoFormer, eq. 16).",
    cases=lambda d: _scored(d),
)
def score_depends_only_on_offset(
    bk: Backend, dtype: str, key: Any, key_position: float, shift: float, **case: Any
) -> None:
    m, n = case["positions"][0], key_position
    scores, slack = [], []
    for dm in (0.0, shift):
        q_case = {**case, "positions": [m + dm]}
        k_case = {**case, "x": key, "positions": [n + dm]}
        q, k = _call(bk, dtype, ROPE, q_case), _call(bk, dtype, ROPE, k_case)
        (yq, dq), (yk, dk) = bound(ROPE, dtype, q_case), bound(ROPE, dtype, k_case)
        scores.append(np.sum(q * k, axis=-1))
        slack.append(np.sum(np.abs(yq) * dk + np.abs(yk) * dq + dq * dk, axis=-1))
    allowed = slack[0] + slack[1]
    assert_that(
        np.abs(scores[0] - scores[1]) <= allowed,
        f"shifting both positions by {shift:g} changed a rotated query·key score",
        scores=scores[0],
        shifted_scores=scores[1],
        allowed=allowed,
    )


@invariant(
    f"{ROPE}.position_zero_is_the_identity",
    term=ROPE_TERM,
    statement="At position 0 every angle is 0: RoPE(x, 0) = x exactly (cos 0 = 1, sin 0 = 0).",
    cases=lambda d: rotary_cases(d),
)
def position_zero_is_the_identity(bk: Backend, dtype: str, **case: Any) -> None:
    at_zero = {**case, "positions": [0.0] * len(case["positions"])}
    got = _call(bk, dtype, ROPE, at_zero)
    x = np.asarray(case["x"], dtype=np.float64)
    assert_that(got == x, "the rotation at position 0 changed x", x=x, y=got)


@invariant(
    f"{ROPE}.pairings_are_a_permutation",
    term=ROPE_TERM,
    statement="The split-halves pairing is the interleaved one under a permutation of the features: putting "
    "x[i] and x[i + D/2] side by side, turning interleaved, and putting them back gives interleaved=False.",
    cases=lambda d: rotary_cases(d),
)
def pairings_are_a_permutation(bk: Backend, dtype: str, **case: Any) -> None:
    x = np.asarray(case["x"], dtype=np.float64)
    a, b = pair_columns(x.shape[-1], False)
    order = np.stack([a, b], axis=-1).reshape(-1)  # interleaved column 2i ← i, 2i + 1 ← i + D/2
    halves = _call(bk, dtype, ROPE, {**case, "interleaved": False})
    interleaved = _call(bk, dtype, ROPE, {**case, "x": x[..., order].tolist(), "interleaved": True})
    back = np.empty_like(interleaved)
    back[..., order] = interleaved
    _, allowed = bound(ROPE, dtype, {**case, "interleaved": False})
    assert_that(
        np.abs(halves - back) <= 2 * allowed,
        "interleaved=False is not the interleaved rotation of the permuted features",
        halves=halves,
        permuted=back,
        allowed=2 * allowed,
    )


# --- readers of the conventions rotary_embedding.pairing and sinusoidal_positional_encoding.layout ---------------

PAIRING_INTERLEAVED = "interleaved (x[2i], x[2i + 1])"
PAIRING_HALVES = "split halves (x[i], x[i + D/2])"
LAYOUT_INTERLEAVED = "sin, cos interleaved per pair (columns 2i, 2i + 1)"
LAYOUT_CONCATENATED = "concatenated (every sin, then every cos)"


def rope_pairing_read(rotate: Any) -> str:
    """Which feature x[0] is paired with: ``rotate(x, positions)`` of x = (1, 0, 0, 0) at position 1 moves sin 1 into
    feature 1 (interleaved) or feature 2 (split halves)."""
    y = np.asarray(rotate([[1.0, 0.0, 0.0, 0.0]], [1.0]), dtype=np.float64).reshape(4)
    partner = {i for i in (1, 2, 3) if abs(y[i] - np.sin(1.0)) < 1e-3}
    if partner == {1}:
        return PAIRING_INTERLEAVED
    if partner == {2}:
        return PAIRING_HALVES
    return f"x[0] at position 1 gives {np.round(y, 4).tolist()}"


def encoding_layout_read(encode: Any) -> str:
    """Where cos(p·ω_0) is written: ``encode(positions, d_model)`` at position 1 of 4 columns has cos 1 in column 1
    (interleaved) or column 2 (every sin, then every cos)."""
    row = np.asarray(encode([1.0], 4), dtype=np.float64).reshape(4)
    at = {i for i in (1, 2, 3) if abs(row[i] - np.cos(1.0)) < 1e-3}
    if abs(row[0] - np.sin(1.0)) < 1e-3 and at == {1}:
        return LAYOUT_INTERLEAVED
    if abs(row[0] - np.sin(1.0)) < 1e-3 and at == {2}:
        return LAYOUT_CONCATENATED
    return f"position 1 gives {np.round(row, 4).tolist()}"
