"""The comparison helpers every invariant relies on: they catch what they must and explain it."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from dlterms.conformance.checks import Violation, assert_close, assert_that, measure_errors
from dlterms.conformance.tolerances import FORWARD, GRADIENT, Tolerance, relative

TOL = Tolerance(1e-6, 1e-9, "test")


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        ([1.0, math.inf], [1.0, 2.0]),
        ([math.nan], [1.0]),
        ([1.0], [math.nan]),
        ([math.inf], [-math.inf]),
        ([1.0 + 1e-3], [1.0]),
        ([[1.0, 2.0]], [1.0, 2.0]),
    ],
)
def test_assert_close_refuses_mismatches(got: list, expected: list) -> None:
    """A wrong value, a misplaced NaN or infinity, or a wrong shape is a Violation."""
    with pytest.raises(Violation):
        assert_close(got, expected, TOL, "x")


def test_assert_close_accepts_matching_special_values_and_close_values() -> None:
    """NaN matches NaN, inf matches the same inf, and values within atol + rtol·|e| pass."""
    assert_close([math.nan, math.inf, -math.inf, 1.0 + 5e-7], [math.nan, math.inf, -math.inf, 1.0], TOL, "x")


def test_overflow_to_infinity_passes_only_beyond_the_largest_number() -> None:
    """inf is the float32 rounding of 4e38 (past 3.4e38) and of the largest number within its bound, not of 1e38."""
    largest = float(np.finfo(np.float32).max)
    tol = relative("float32", "value")
    assert_close([math.inf, -math.inf], [4e38, -4e38], tol, "x", scale=[4e38, 4e38], largest=largest)
    assert_close([math.inf], [largest * (1 - 2**-24)], tol, "x", scale=[largest], largest=largest)
    with pytest.raises(Violation):  # 1e38 is finite in float32
        assert_close([math.inf], [1e38], tol, "x", scale=[1e38], largest=largest)
    with pytest.raises(Violation):  # the wrong sign
        assert_close([-math.inf], [4e38], tol, "x", scale=[4e38], largest=largest)
    with pytest.raises(Violation):  # without a largest number, inf is never a finite value's rounding
        assert_close([math.inf], [4e38], tol, "x", scale=[4e38])


def test_an_overflowing_error_ratio_is_recorded_as_the_largest_finite_number() -> None:
    """An error of 1e305 where the smallest normal number is allowed records a finite ratio (the schema's number)."""
    errors = measure_errors()
    with pytest.raises(Violation):
        assert_close([-1e305], [0.0], relative("float64", "value"), "x", scale=[0.0])
    assert errors["error_ratio"] == sys.float_info.max


def test_violation_names_the_worst_element() -> None:
    """The details give the worst index, expected and got values, and the tolerance."""
    with pytest.raises(Violation) as info:
        assert_close([1.0, 2.5, 3.0], [1.0, 2.0, 3.0], TOL, "y")
    d = info.value.details
    assert d["index"] == [1] and d["expected"] == 2.0 and d["got"] == 2.5
    assert d["tolerance"] == {"rtol": 1e-6, "atol": 1e-9}
    assert "index (1,)" in str(info.value)


def test_measured_errors_record_the_largest_error_of_passing_comparisons() -> None:
    """measure_errors() collects the largest absolute and relative error across comparisons."""
    acc = measure_errors()
    assert_close([1.0 + 4e-7], [1.0], TOL, "a")
    assert_close([2.0], [2.0], TOL, "b")
    assert acc["max_abs_err"] == pytest.approx(4e-7, rel=1e-6)
    assert acc["max_rel_err"] == pytest.approx(4e-7, rel=1e-6)


def test_assert_that_reports_the_first_failing_index() -> None:
    """A boolean-array property names where it first fails."""
    with pytest.raises(Violation) as info:
        assert_that(np.array([True, False, True]), "must hold")
    assert info.value.details["index"] == [1]


def test_tolerance_table_cites_a_source_for_every_number() -> None:
    """Every dtype has a forward and a gradient tolerance, each with its source."""
    for table in (FORWARD, GRADIENT):
        assert set(table) == {"float16", "bfloat16", "float32", "float64"}
        assert all(t.source and t.rtol > 0 and t.atol > 0 for t in table.values())
