"""The relative accuracy model: its constants, its condition numbers, and the broken formulas it catches."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
import torch
from dlterms.conformance import load_backend
from dlterms.conformance.checks import Violation, assert_close
from dlterms.conformance.registry import INVARIANTS, OPS
from dlterms.conformance.runner import run_one
from dlterms.conformance.tolerances import (
    FORWARD,
    LARGEST,
    SMALLEST_NORMAL,
    SMALLEST_SUBNORMAL,
    UNIT_ROUNDOFF,
    accumulation,
    relative,
    sensitivity,
)
from hypothesis import find

mpmath.mp.dps = 50


def test_unit_roundoff_and_smallest_normal_are_the_formats() -> None:
    """u is half the machine epsilon and λ the smallest normal number of each dtype (NumPy's and torch's finfo)."""
    for dtype in ("float16", "float32", "float64"):
        assert UNIT_ROUNDOFF[dtype] == float(np.finfo(dtype).eps) / 2
        assert SMALLEST_NORMAL[dtype] == float(np.finfo(dtype).tiny)
    assert UNIT_ROUNDOFF["bfloat16"] == torch.finfo(torch.bfloat16).eps / 2
    assert SMALLEST_NORMAL["bfloat16"] == torch.finfo(torch.bfloat16).tiny


def test_largest_and_smallest_subnormal_are_the_formats() -> None:
    """The overflow and underflow limits are NumPy's finfo (torch's for bfloat16)."""
    for dtype in ("float16", "float32", "float64"):
        assert LARGEST[dtype] == float(np.finfo(dtype).max)
        assert SMALLEST_SUBNORMAL[dtype] == float(np.finfo(dtype).smallest_subnormal)
    assert LARGEST["bfloat16"] == torch.finfo(torch.bfloat16).max
    assert SMALLEST_SUBNORMAL["bfloat16"] == float(torch.tensor(2.0**-133, dtype=torch.bfloat16)) > 0
    assert float(torch.tensor(2.0**-134, dtype=torch.bfloat16)) == 0.0  # below it, bfloat16 rounds to zero


def _kappa(f: Any, x: float) -> float:
    """|x·f'(x)/f(x)| in 50-digit arithmetic."""
    xm = mpmath.mpf(x)
    return float(abs(xm * mpmath.diff(f, xm) / f(xm)))


@pytest.mark.parametrize(
    ("name", "f"),
    [
        ("sigmoid", lambda t: 1 / (1 + mpmath.exp(-t))),
        ("tanh", mpmath.tanh),
        ("silu", lambda t: t / (1 + mpmath.exp(-t))),
    ],
)
@pytest.mark.parametrize("x", [-80.0, -5.0, -1e-8, 1e-20, 0.5, 3.0])
def test_sensitivity_is_the_condition_number_times_the_value(name: str, f: Any, x: float) -> None:
    """s(x)/|y| is κ(x) = |x·f'(x)/f(x)|, computed independently with mpmath."""
    y = float(f(mpmath.mpf(x)))
    (s,) = sensitivity(name, {"x": [x]}, [np.array([y])])
    assert s[0] / abs(y) == pytest.approx(_kappa(f, x), rel=1e-9, abs=1e-300)


def test_relative_bound_is_k_u_times_value_plus_sensitivity_plus_floor() -> None:
    """allowed = 16·u·(|y| + s) + λ, element by element."""
    tol = relative("float32", "tanh")
    allowed = tol.allowed(np.array([2.0, 0.0]), np.array([1.0, 0.0]))
    assert allowed.tolist() == [16 * 2.0**-24 * 3.0 + 2.0**-126, 2.0**-126]
    assert tol.as_dict()["model"] == "relative" and tol.as_dict()["rtol"] == 16 * 2.0**-24


def test_tanh_of_a_tiny_input_rounded_to_zero_passes_the_absolute_bound_and_fails_the_relative() -> None:
    """tanh(1e−8) = 0 (2σ(2x) − 1 in float32) hides under atol 1e−5; the relative bound reports it in units of u."""
    exact = float(mpmath.tanh(mpmath.mpf(1e-8)))
    assert_close([0.0], [exact], FORWARD["float32"], "tanh")
    scale = sensitivity("tanh", {"x": [1e-8]}, [np.array([exact])])[0]
    with pytest.raises(Violation) as info:
        assert_close([0.0], [exact], relative("float32", "tanh"), "tanh", scale=scale)
    assert info.value.details["tolerance"]["model"] == "relative"
    assert "allowed" in info.value.details and " u, allowed " in str(info.value)


def test_silu_is_held_to_x_times_the_floor_where_its_sigmoid_is_subnormal() -> None:
    """x·σ(x) at −88.8 in float32 (a normal −2.4e−37 whose σ is subnormal) may be −0.0: a(x) = |x|·λ allows it."""
    exact = float(mpmath.mpf(-88.8) / (1 + mpmath.exp(mpmath.mpf(88.8))))
    assert -1.2e-36 < exact < -1.2e-38  # a normal float32, 20 times λ
    (a,) = accumulation("times_x", {"x": [-88.8]}, [np.array([exact])], "float32")
    assert a.tolist() == [88.8 * 2.0**-126]
    (s,) = sensitivity("silu", {"x": [-88.8]}, [np.array([exact])])
    tol = relative("float32", "silu")
    assert abs(0.0 - exact) <= tol.allowed(np.array([exact]), s, a)[0]
    assert abs(0.0 - exact) > tol.allowed(np.array([exact]), s)[0]  # without a(x) it would fail


def _tanh_via_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return 2 * torch.sigmoid(2 * x) - 1  # tinygrad's formula: cancels near 0


def _sigmoid_via_tanh(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + torch.tanh(x / 2))  # no relative accuracy in the left tail


def _sigmoid_in_float32(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x.float()).to(x.dtype)  # float64 in name only


def _silu_via_tanh(x: torch.Tensor) -> torch.Tensor:
    return x * 0.5 * (1 + torch.tanh(x / 2))  # σ with no relative accuracy in the left tail


def _silu_zero_below_minus_20(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x < -20, torch.zeros_like(x), torch.nn.functional.silu(x))  # flushed far above λ


def _softmax_in_float32(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.softmax(x.float(), dim=axis).to(x.dtype)


def _log_softmax_in_float32(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.log_softmax(x.float(), dim=axis).to(x.dtype)


@pytest.mark.parametrize(
    ("op", "impl", "dtype"),
    [
        ("tanh", _tanh_via_sigmoid, "float32"),
        ("tanh", _tanh_via_sigmoid, "float64"),
        ("sigmoid", _sigmoid_via_tanh, "float32"),
        ("sigmoid", _sigmoid_via_tanh, "float64"),
        ("sigmoid", _sigmoid_in_float32, "float64"),
        ("silu", _silu_via_tanh, "float32"),
        ("silu", _silu_via_tanh, "float64"),
        ("silu", _silu_zero_below_minus_20, "float32"),
        ("softmax", _softmax_in_float32, "float64"),
        ("log_softmax", _log_softmax_in_float32, "float64"),
    ],
)
def test_an_inaccurate_formula_fails_matches_reference(broken_backend, op: str, impl: Any, dtype: str) -> None:
    """Each formula that the absolute tolerance let pass now fails <op>.matches_reference, with the relative bound."""
    bk = load_backend(broken_backend("torch", **{op: impl}))
    row = run_one(bk, INVARIANTS[f"{op}.matches_reference"], dtype)
    assert row.status == "fail", row.message
    assert row.tolerance is not None and row.tolerance["rtol"] == 16 * UNIT_ROUNDOFF[dtype]
    assert row.counterexample is not None and "error_in_u" in row.details


@pytest.mark.parametrize("op", ["sigmoid", "tanh", "silu", "relu", "leaky_relu", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_passes_the_relative_model(op: str, dtype: str) -> None:
    """PyTorch's own ops meet the relative bound on the default seed, and the row records the model."""
    row = run_one(load_backend("torch"), INVARIANTS[f"{op}.matches_reference"], dtype)
    assert row.status == "pass", row.message
    assert row.tolerance is not None and row.tolerance["model"] == "relative"


@pytest.mark.parametrize(
    ("op", "what", "reached"),
    [
        ("sigmoid", "the far left tail", lambda x: np.min(x) <= -60.0),
        ("sigmoid", "tiny inputs", lambda x: 0 < np.min(np.abs(x)) <= 1e-20),
        ("silu", "the far left tail", lambda x: np.min(x) <= -60.0),
        ("tanh", "tiny inputs", lambda x: 0 < np.min(np.abs(x)) <= 1e-20),
        ("log_softmax", "large spreads", lambda x: np.ptp(x) >= 1e3),
    ],
)
def test_the_strategies_reach_tails_and_tiny_inputs(op: str, what: str, reached: Any) -> None:
    """The forward cases of the relative ops draw the inputs where only a relative bound sees an error."""
    find(OPS[op].cases("float64"), lambda case: np.size(case["x"]) > 0 and bool(reached(np.asarray(case["x"]))))


def test_a_dot_product_of_flushed_products_is_held_to_n_times_the_floor() -> None:
    """TensorFlow's linear of 0.5 by three weights of λ (float32) is 0, each product flushed; the value 1.5·λ is
    normal. a(x) holds n·λ for the n products that may flush, and without it the comparison would fail."""
    lam = SMALLEST_NORMAL["float32"]
    case = {"x": [0.5, 0.5, 0.5], "weight": [[lam, lam, lam]], "bias": None}
    exact = 1.5 * lam
    (a,) = accumulation("dot_product", case, [np.array([exact])], "float32")
    assert a[0] >= 3 * lam
    tol = relative("float32", "rounded")
    assert 1.5 * lam <= tol.allowed(np.array([exact]), None, a)[0]
    assert 1.5 * lam > tol.allowed(np.array([exact]))[0]
    assert a[0] < 4 * lam + 1e-6 * lam  # only the flushed products: an error of 4λ is still caught


def test_a_flushed_softplus_is_held_to_its_weight_times_the_floor() -> None:
    """JAX's binary cross-entropy with logits (seed 5): at x = 88.35 (float32), target 1 and pos_weight 3.97 the
    term p·log1p(e^−x) = 1.7e-38 is normal, but e^−x is subnormal and XLA flushes it, giving 0. a(x) holds p·λ for
    that term; without it the comparison fails, and an error of twice p·λ is still caught."""
    lam = SMALLEST_NORMAL["float32"]
    x, p = 88.35452270507812, 3.9683752059936523
    exact = float(p * mpmath.log1p(mpmath.exp(-x)))
    assert lam < exact < 2 * lam
    case = {"input": [x], "target": [1.0], "pos_weight": [p], "reduction": "none"}
    (a,) = accumulation("weighted_softplus", case, [np.array([exact])], "float32")
    tol = relative("float32", "sum_of_terms")
    assert exact <= tol.allowed(np.array([exact]), None, a)[0]  # 0, the flushed value, passes
    assert exact > tol.allowed(np.array([exact]))[0]  # without the term it would fail
    assert 2 * p * lam > tol.allowed(np.array([exact]), None, a)[0]
