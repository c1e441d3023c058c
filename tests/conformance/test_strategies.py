"""The conformance strategies: one strategy object per distinct arguments."""

from __future__ import annotations

from dlterms.conformance.strategies import float_arrays, grid_arrays, reused, shapes
from hypothesis import given, settings


def test_same_arguments_give_the_same_strategy_object() -> None:
    """float_arrays, grid_arrays and shapes built twice with equal arguments return one object."""
    assert float_arrays("float32", (2, 3), edges=("signed_zeros",)) is float_arrays(
        "float32", (2, 3), edges=("signed_zeros",)
    )
    assert grid_arrays("float64", (1, 2, 3, 3)) is grid_arrays("float64", (1, 2, 3, 3))
    assert shapes(min_dims=1) is shapes(min_dims=1)
    assert float_arrays("float32", (2, 3)) is not float_arrays("float64", (2, 3))


def test_unhashable_arguments_build_a_new_strategy() -> None:
    """An argument that cannot be hashed (a list) builds afresh instead of raising."""
    calls: list[object] = []

    @reused
    def build(shape: object) -> object:
        calls.append(shape)
        return object()

    assert build((2,)) is build((2,))
    assert build([2]) is not build([2])
    assert calls == [(2,), [2], [2]]


@settings(max_examples=20, database=None)
@given(float_arrays("float32", (3,), edges=("full_range",)))
def test_a_reused_strategy_still_draws_arrays_of_its_shape(x: list[float]) -> None:
    """A cached strategy keeps drawing valid values: three floats each time."""
    assert len(x) == 3 and all(isinstance(v, float) for v in x)
