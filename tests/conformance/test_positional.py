"""Positions (sinusoidal_positional_encoding, rotary_embedding): the adapters pass, broken ones are caught by name."""

from __future__ import annotations

import math

import pytest
import torch
from dlterms.conformance import known_defects

PE, ROPE = "sinusoidal_positional_encoding", "rotary_embedding"
PE_TERM, ROPE_TERM = "positional-encoding", "rotary-position-embedding"


def _omega(d: int, base: float, like: torch.Tensor, *, offset: int = 0) -> torch.Tensor:
    """ω_{i + offset} = base^(−2(i + offset)/d) for i < d/2 (offset 1: the frequency index off by one)."""
    two_i = torch.arange(2 * offset, d + 2 * offset, 2, dtype=like.dtype)
    return torch.exp(two_i * (-math.log(base) / d))


def _encoding(positions, d_model, base=10000.0, *, scale=1.0, cos_offset=0, shift=0.0, clamp=None):  # type: ignore[no-untyped-def]
    p = positions + shift if clamp is None else torch.clamp(positions + shift, max=clamp)
    sin = torch.sin(p[:, None] * _omega(d_model, base, positions))
    cos = torch.cos(p[:, None] * _omega(d_model, base, positions, offset=cos_offset))
    return scale * torch.stack((sin, cos), dim=-1).flatten(-2)


def _scaled_by_root_d(positions, d_model, base=10000.0):  # type: ignore[no-untyped-def]
    return _encoding(positions, d_model, base, scale=math.sqrt(d_model))  # the embedding's √d applied to PE


def _cos_at_the_next_frequency(positions, d_model, base=10000.0):  # type: ignore[no-untyped-def]
    return _encoding(positions, d_model, base, cos_offset=1)  # column 2i + 1 at ω_{i+1}: no longer a pair


def _position_off_by_one(positions, d_model, base=10000.0):  # type: ignore[no-untyped-def]
    return _encoding(positions, d_model, base, shift=1.0)  # positions counted from 1


def _table_clamped_at_32(positions, d_model, base=10000.0):  # type: ignore[no-untyped-def]
    return _encoding(positions, d_model, base, clamp=32.0)  # a precomputed table of 33 rows, indices clamped


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_scaled_by_root_d, f"{PE}.values_in_minus_one_one"),
        (_cos_at_the_next_frequency, f"{PE}.sin_squared_plus_cos_squared_is_one"),
        (_position_off_by_one, f"{PE}.shift_is_a_rotation"),
        (_table_clamped_at_32, f"{PE}.dot_product_depends_only_on_offset"),
    ],
)
def test_broken_encoding_exits_1_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A deliberately broken positional encoding (scaled by √d, cos at the wrong frequency, positions from 1, a
    clamped table) makes `dlterms conform` exit 1, naming the violated invariant with a counterexample."""
    spec = broken_backend("torch", **{PE: impl})
    run = conform(spec, "--terms", PE_TERM, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


def _rope(x, positions, base=10000.0, interleaved=True, *, sign=1.0, offset=0, shift=0.0, clamp=None, mixed=False):  # type: ignore[no-untyped-def]
    d = x.shape[-1]
    p = positions + shift if clamp is None else torch.clamp(positions + shift, max=clamp)
    angles = p[:, None] * _omega(d, base, x, offset=offset)
    cos, sin = torch.cos(angles), sign * torch.sin(angles)
    if mixed:  # tables laid out interleaved (θ0, θ0, θ1, θ1, …) applied with rotate_half: a conversion bug
        cos2, sin2 = cos.repeat_interleave(2, dim=-1), sin.repeat_interleave(2, dim=-1)
        return x * cos2 + torch.cat((-x[..., d // 2 :], x[..., : d // 2]), dim=-1) * sin2
    if interleaved:
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)
    a, b = x[..., : d // 2], x[..., d // 2 :]
    return torch.cat((a * cos - b * sin, a * sin + b * cos), dim=-1)


def _mixed_tables(x, positions, base=10000.0, interleaved=True):  # type: ignore[no-untyped-def]
    return _rope(x, positions, base, interleaved, mixed=True)


def _table_clamped(x, positions, base=10000.0, interleaved=True):  # type: ignore[no-untyped-def]
    return _rope(x, positions, base, interleaved, clamp=32.0)


def _positions_from_one(x, positions, base=10000.0, interleaved=True):  # type: ignore[no-untyped-def]
    return _rope(x, positions, base, interleaved, shift=1.0)


def _always_interleaved(x, positions, base=10000.0, interleaved=True):  # type: ignore[no-untyped-def]
    return _rope(x, positions, base, True)  # the pairing option ignored


def _frequency_off_by_one(x, positions, base=10000.0, interleaved=True):  # type: ignore[no-untyped-def]
    return _rope(x, positions, base, interleaved, offset=1)  # θ_i = base^(−2(i + 1)/D)


def _sign_flipped(x, positions, base=10000.0, interleaved=True):  # type: ignore[no-untyped-def]
    return _rope(x, positions, base, interleaved, sign=-1.0)  # turned clockwise


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_mixed_tables, f"{ROPE}.preserves_each_pair_norm"),
        (_table_clamped, f"{ROPE}.score_depends_only_on_offset"),
        (_positions_from_one, f"{ROPE}.position_zero_is_the_identity"),
        (_always_interleaved, f"{ROPE}.pairings_are_a_permutation"),
        (_frequency_off_by_one, f"{ROPE}.matches_reference"),
        (_sign_flipped, f"{ROPE}.matches_reference"),
    ],
)
def test_broken_rotary_embedding_exits_1_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A deliberately broken RoPE (cos/sin tables of one pairing applied with the other's rotation, a clamped
    table, positions from 1, the pairing option ignored, θ_i's index off by one, the rotation's sign flipped) makes
    `dlterms conform` exit 1, naming the violated invariant with a counterexample."""
    spec = broken_backend("torch", **{ROPE: impl})
    run = conform(spec, "--terms", ROPE_TERM, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch", "jax", "tensorflow"])
def test_positions_pass_on_every_backend(conform, backend: str) -> None:
    """Every positional invariant passes on the reference and the four frameworks' compositions."""
    if backend in ("jax", "tensorflow"):
        pytest.importorskip(backend)
    run = conform(backend, "--terms", f"{PE_TERM},{ROPE_TERM}", "--max-examples", "15")
    allowed = known_defects.DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    failed = {f"{r['invariant']}[{r['dtype']}]" for r in run.rows() if r["status"] in ("fail", "error")}
    assert failed <= allowed, failed - allowed
    passed = {r["invariant"] for r in run.rows("pass")}
    assert {f"{PE}.shift_is_a_rotation", f"{ROPE}.score_depends_only_on_offset"} <= passed


def _halves_rotation(x, positions):  # type: ignore[no-untyped-def]
    """Hand-written split-halves RoPE of one row of 4 features at positions[0] (ω = 1, 0.01)."""
    (a0, a1, b0, b1), p = x[0], positions[0]
    c0, s0, c1, s1 = math.cos(p), math.sin(p), math.cos(p / 100), math.sin(p / 100)
    return [[a0 * c0 - b0 * s0, a1 * c1 - b1 * s1, a0 * s0 + b0 * c0, a1 * s1 + b1 * c1]]


def _concatenated_encoding(positions, d_model):  # type: ignore[no-untyped-def]
    """tensor2tensor's layout by hand for d_model = 4: sin(p), sin(p/100), then cos(p), cos(p/100)."""
    p = positions[0]
    return [[math.sin(p), math.sin(p / 100), math.cos(p), math.cos(p / 100)]]


def test_the_pairing_and_layout_readers_tell_the_conventions_apart() -> None:
    """The readers name the reference's interleaved pairing and layout, and a hand-written split-halves RoPE and
    concatenated encoding by theirs; the reference column of the conventions matrix reports the interleaved ones."""
    from dlterms.conformance import conventions as cv
    from dlterms.conformance.invariants import positional as pos

    from dlterms import reference

    assert pos.rope_pairing_read(reference.rotary_embedding) == pos.PAIRING_INTERLEAVED
    assert pos.rope_pairing_read(_halves_rotation) == pos.PAIRING_HALVES
    assert pos.encoding_layout_read(reference.sinusoidal_positional_encoding) == pos.LAYOUT_INTERLEAVED
    assert pos.encoding_layout_read(_concatenated_encoding) == pos.LAYOUT_CONCATENATED
    canonical = {r["id"]: r["value"] for r in cv.measure("reference")}
    assert canonical[f"{ROPE}.pairing"] == pos.PAIRING_INTERLEAVED
    assert canonical[f"{PE}.layout"] == pos.LAYOUT_INTERLEAVED
