"""The embedding reference against hand-computed lookups and gradients, and the identity of a linear map."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

W = [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]


def test_embedding_looks_up_rows_in_the_shape_of_the_indices() -> None:
    """Indices (2, 2) give (2, 2, D); a bare int gives one row (D,); a repeated index repeats its row."""
    assert ref.embedding(W, [[2, 0], [2, 1]]) == [[[4.0, 5.0], [0.0, 1.0]], [[4.0, 5.0], [2.0, 3.0]]]
    assert ref.embedding(W, 1) == [2.0, 3.0]


def test_embedding_padding_index_leaves_the_lookup_unchanged() -> None:
    """padding_idx changes the gradient only: its row is looked up as it is (PyTorch's F.embedding)."""
    assert ref.embedding(W, [0, 2], padding_idx=0) == [[0.0, 1.0], [4.0, 5.0]]


def test_embedding_vjp_sums_the_cotangents_of_repeated_indices() -> None:
    """Index 2 looked up twice gets [1, 1] + [3, 3]; row 1, never looked up, gets 0."""
    got = ref.embedding_vjp(W, [2, 0, 2], [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    assert got == [[2.0, 2.0], [0.0, 0.0], [4.0, 4.0]]


def test_embedding_vjp_gives_the_padding_row_no_gradient() -> None:
    """padding_idx = 0 (or −3, the same row counted from the end) zeroes row 0's gradient only."""
    g = [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    expected = [[0.0, 0.0], [0.0, 0.0], [4.0, 4.0]]
    assert ref.embedding_vjp(W, [2, 0, 2], g, padding_idx=0) == expected
    assert ref.embedding_vjp(W, [2, 0, 2], g, padding_idx=-3) == expected


def test_embedding_vjp_sums_are_correctly_rounded() -> None:
    """Cotangents 10¹⁶, 1, −10¹⁶ on one row sum to 1 exactly (a left-to-right float sum gives 0)."""
    assert ref.embedding_vjp([[0.0]], [0, 0, 0], [[1e16], [1.0], [-1e16]]) == [[1.0]]


@settings(max_examples=60)
@given(
    data=st.data(),
    v=st.integers(1, 4),
    d=st.integers(1, 3),
)
def test_embedding_vjp_is_the_transpose_of_the_lookup(data: st.DataObject, v: int, d: int) -> None:
    """The lookup is linear in W, so ⟨ḡ, embedding(U, i)⟩ = ⟨embedding_vjp(ḡ), U⟩ for any U, ḡ and indices."""
    values = st.floats(-1e3, 1e3, allow_nan=False)
    u = data.draw(st.lists(st.lists(values, min_size=d, max_size=d), min_size=v, max_size=v))
    idx = data.draw(st.lists(st.integers(0, v - 1), min_size=1, max_size=6))
    g = data.draw(st.lists(st.lists(values, min_size=d, max_size=d), min_size=len(idx), max_size=len(idx)))
    y = ref.embedding(u, idx)
    dw = ref.embedding_vjp(u, idx, g)
    forward = math.fsum(a * b for ga, ya in zip(g, y, strict=True) for a, b in zip(ga, ya, strict=True))
    backward = math.fsum(a * b for da, ua in zip(dw, u, strict=True) for a, b in zip(da, ua, strict=True))
    scale = math.fsum(abs(a * b) for ga, ya in zip(g, y, strict=True) for a, b in zip(ga, ya, strict=True))
    assert abs(forward - backward) <= 4e-16 * scale + 1e-300


@pytest.mark.parametrize(
    ("indices", "message"),
    [
        ([3], r"embedding: indices\[0\]=3 is out of range for weight with V=3 rows; expected 0 <= index < 3"),
        ([[0], [-1]], r"embedding: indices\[1\]\[0\]=-1 is out of range"),
    ],
)
def test_embedding_refuses_an_index_out_of_range(indices: list, message: str) -> None:
    """An index outside [0, V) is refused, naming its position, its value and the range (no wrapping)."""
    with pytest.raises(ValueError, match=message):
        ref.embedding(W, indices)


def test_embedding_refuses_a_padding_index_out_of_range() -> None:
    """padding_idx = 3 for V = 3 rows is refused with the range −3 <= padding_idx < 3."""
    with pytest.raises(ValueError, match=r"embedding: padding_idx=3 .* expected None or -3 <= padding_idx < 3"):
        ref.embedding(W, [0], padding_idx=3)
