"""The LSTM and GRU cell references against a 50-digit mpmath oracle, mpmath finite differences and torch."""

from __future__ import annotations

import doctest
import importlib
import math
from typing import Any

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlterms import reference as ref

mpmath.mp.dps = 50
U = 2.0**-53
LSTM_ARGS = ("x", "h", "c", "w_ih", "w_hh", "b_ih", "b_hh")
GRU_ARGS = ("x", "h", "w_ih", "w_hh", "b_ih", "b_hh")


def _array(shape: tuple[int, ...], bound: float) -> st.SearchStrategy[Any]:
    values = st.floats(-bound, bound, allow_nan=False, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=values).map(np.ndarray.tolist)


@st.composite
def cells(draw: Any, *, gates: int) -> dict[str, Any]:
    """Keyword arguments of ``lstm_cell`` (gates = 4, with c) or ``gru_cell`` (gates = 3): N ≤ 2, in ≤ 3, H ≤ 3."""
    n, n_in, hidden = (draw(st.integers(1, hi)) for hi in (2, 3, 3))
    case = {
        "x": draw(_array((n, n_in), 3.0)),
        "h": draw(_array((n, hidden), 1.0)),
        "w_ih": draw(_array((gates * hidden, n_in), 1.0)),
        "w_hh": draw(_array((gates * hidden, hidden), 1.0)),
        "b_ih": draw(_array((gates * hidden,), 1.0)),
        "b_hh": draw(_array((gates * hidden,), 1.0)),
    }
    if gates == 4:
        case["c"] = draw(_array((n, hidden), 2.0))
    return case


# --- an independent oracle: the textbook formulas in 50-digit arithmetic ------------------------------


def _mp_sigmoid(a: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-a))


def _mp_affine(v: list[Any], w: list[list[Any]], b: list[Any]) -> list[mpmath.mpf]:
    return [
        mpmath.fsum(mpmath.mpf(vk) * mpmath.mpf(wk) for vk, wk in zip(v, row, strict=True)) + b_j
        for row, b_j in zip(w, b, strict=True)
    ]


def mp_lstm(x: Any, h: Any, c: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple[list[Any], list[Any]]:
    """``(h′, c′)`` in mpmath: gates i, f, g, o from one affine map of x and one of h."""
    hs, cs = [], []
    for xi, hi, ci in zip(x, h, c, strict=True):
        a = [p + q for p, q in zip(_mp_affine(xi, w_ih, b_ih), _mp_affine(hi, w_hh, b_hh), strict=True)]
        hid = len(hi)
        i, f, o = ([_mp_sigmoid(v) for v in a[k * hid : (k + 1) * hid]] for k in (0, 1, 3))
        g = [mpmath.tanh(v) for v in a[2 * hid : 3 * hid]]
        c1 = [f[k] * mpmath.mpf(ci[k]) + i[k] * g[k] for k in range(hid)]
        hs.append([o[k] * mpmath.tanh(c1[k]) for k in range(hid)])
        cs.append(c1)
    return hs, cs


def mp_gru(x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> list[Any]:
    """``h′`` in mpmath: r and z from both sides, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))."""
    out = []
    for xi, hi in zip(x, h, strict=True):
        gi, gh, hid = _mp_affine(xi, w_ih, b_ih), _mp_affine(hi, w_hh, b_hh), len(hi)
        r = [_mp_sigmoid(gi[k] + gh[k]) for k in range(hid)]
        z = [_mp_sigmoid(gi[hid + k] + gh[hid + k]) for k in range(hid)]
        n = [mpmath.tanh(gi[2 * hid + k] + r[k] * gh[2 * hid + k]) for k in range(hid)]
        out.append([(1 - z[k]) * n[k] + z[k] * mpmath.mpf(hi[k]) for k in range(hid)])
    return out


def _flat(v: Any) -> list[Any]:
    return [u for item in v for u in _flat(item)] if isinstance(v, list | tuple) else [v]


@settings(max_examples=40, deadline=None)
@given(cells(gates=4))
def test_lstm_cell_within_a_few_units_of_the_50_digit_value(case: dict[str, Any]) -> None:
    """h′ and c′ are within 8u of mpmath's, relative to their largest terms (|f·c| + |i·g| ≤ |c| + 1)."""
    got, exact = ref.lstm_cell(**case), mp_lstm(**case)
    scale = max(_flat(np.abs(case["c"]).tolist())) + 1.0
    for g, e in zip(got, exact, strict=True):
        assert max(abs(a - float(b)) for a, b in zip(_flat(g), _flat(e), strict=True)) <= 8 * U * scale


@settings(max_examples=40, deadline=None)
@given(cells(gates=3))
def test_gru_cell_within_a_few_units_of_the_50_digit_value(case: dict[str, Any]) -> None:
    """h′ is within 8u of mpmath's, relative to the size of its terms (|n| < 1, |h| ≤ 1)."""
    got, exact = ref.gru_cell(**case), mp_gru(**case)
    assert max(abs(a - float(b)) for a, b in zip(_flat(got), _flat(exact), strict=True)) <= 8 * U * 2.0


def _mp_loss(fn: Any, case: dict[str, Any], name: str, k: int, delta: Any, cotangents: list[Any]) -> Any:
    """Σ v·fn(case) in mpmath, with entry ``k`` of the argument ``name`` moved by ``delta``."""
    moved = [mpmath.mpf(v) for v in _flat(case[name])]
    moved[k] += delta
    shaped = np.asarray(moved, dtype=object).reshape(np.shape(case[name])).tolist()
    ys = fn(**{**case, name: shaped})
    ys = ys if isinstance(ys, tuple) else (ys,)
    return mpmath.fsum(
        a * b for y, v in zip(ys, cotangents, strict=True) for a, b in zip(_flat(y), _flat(v), strict=True)
    )


def _mp_vjp(fn: Any, case: dict[str, Any], names: tuple[str, ...], cotangents: list[Any]) -> list[list[float]]:
    """vᵀJ by central differences in 50-digit arithmetic (step 10⁻²⁰: an error far below float64's)."""
    step = mpmath.mpf(10) ** -20
    return [
        [
            float(
                (_mp_loss(fn, case, name, k, step, cotangents) - _mp_loss(fn, case, name, k, -step, cotangents))
                / (2 * step)
            )
            for k in range(len(_flat(case[name])))
        ]
        for name in names
    ]


@settings(max_examples=8, deadline=None)
@given(cells(gates=4), st.integers(0, 2**32 - 1))
def test_lstm_cell_vjp_matches_50_digit_finite_differences(case: dict[str, Any], seed: int) -> None:
    """Each of lstm_cell_vjp's seven gradients agrees with mpmath's central differences to 1e-13."""
    rng = np.random.default_rng(seed)
    cot = tuple(rng.standard_normal(np.shape(case["h"])).tolist() for _ in range(2))
    got = ref.lstm_cell_vjp(**case, cotangent=cot)
    for g, e in zip(got, _mp_vjp(mp_lstm, case, LSTM_ARGS, list(cot)), strict=True):
        assert np.allclose(_flat(g), e, rtol=0, atol=1e-13)


@settings(max_examples=8, deadline=None)
@given(cells(gates=3), st.integers(0, 2**32 - 1))
def test_gru_cell_vjp_matches_50_digit_finite_differences(case: dict[str, Any], seed: int) -> None:
    """Each of gru_cell_vjp's six gradients agrees with mpmath's central differences to 1e-13."""
    cot = np.random.default_rng(seed).standard_normal(np.shape(case["h"])).tolist()
    got = ref.gru_cell_vjp(**case, cotangent=cot)
    for g, e in zip(got, _mp_vjp(mp_gru, case, GRU_ARGS, [cot]), strict=True):
        assert np.allclose(_flat(g), e, rtol=0, atol=1e-13)


# --- the layout: PyTorch's modules, an independent implementation of the same layout -------------------


def test_lstm_cell_and_its_vjp_equal_torch_lstmcell_in_float64() -> None:
    """torch.nn.LSTMCell in float64, with the same weights, agrees with lstm_cell and lstm_cell_vjp to 1e-14."""
    torch.manual_seed(0)
    module = torch.nn.LSTMCell(3, 4).double()
    x, h, c = (torch.randn(2, k, dtype=torch.float64, requires_grad=True) for k in (3, 4, 4))
    weights = [module.weight_ih, module.weight_hh, module.bias_ih, module.bias_hh]
    h1, c1 = module(x, (h, c))
    args = [t.tolist() for t in (x, h, c, *weights)]
    ref_h, ref_c = ref.lstm_cell(*args)
    assert np.allclose(ref_h, h1.detach().numpy(), rtol=0, atol=1e-14)
    assert np.allclose(ref_c, c1.detach().numpy(), rtol=0, atol=1e-14)
    gh, gc = torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    grads = torch.autograd.grad((h1, c1), (x, h, c, *weights), (gh, gc))
    expected = ref.lstm_cell_vjp(*args, cotangent=(gh.tolist(), gc.tolist()))
    for g, e in zip(grads, expected, strict=True):
        assert np.allclose(g.numpy(), e, rtol=0, atol=1e-14)


def test_gru_cell_and_its_vjp_equal_torch_grucell_in_float64() -> None:
    """torch.nn.GRUCell in float64 (linear before reset) agrees with gru_cell and gru_cell_vjp to 1e-14."""
    torch.manual_seed(1)
    module = torch.nn.GRUCell(3, 4).double()
    x, h = (torch.randn(2, k, dtype=torch.float64, requires_grad=True) for k in (3, 4))
    weights = [module.weight_ih, module.weight_hh, module.bias_ih, module.bias_hh]
    h1 = module(x, h)
    args = [t.tolist() for t in (x, h, *weights)]
    assert np.allclose(ref.gru_cell(*args), h1.detach().numpy(), rtol=0, atol=1e-14)
    g = torch.randn(2, 4, dtype=torch.float64)
    grads = torch.autograd.grad(h1, (x, h, *weights), g)
    for got, e in zip(grads, ref.gru_cell_vjp(*args, cotangent=g.tolist()), strict=True):
        assert np.allclose(got.numpy(), e, rtol=0, atol=1e-14)


# --- hand-computed values ------------------------------------------------------------------------------


def test_lstm_gates_at_zero_give_half_of_each_share() -> None:
    """With every pre-activation 0 but the candidate's a_g = 1: i = f = o = 1/2, c′ = c/2 + tanh(1)/2 and
    h′ = tanh(c′)/2 (by hand)."""
    h1, c1 = ref.lstm_cell([[1.0]], [[0.0]], [[0.5]], [[0.0], [0.0], [1.0], [0.0]], [[0.0]] * 4, [0.0] * 4, [0.0] * 4)
    assert c1[0][0] == pytest.approx(0.25 + 0.5 * math.tanh(1.0), rel=2 * U)
    assert h1[0][0] == pytest.approx(0.5 * math.tanh(0.25 + 0.5 * math.tanh(1.0)), rel=4 * U)


def test_lstm_saturated_forget_and_input_gates_carry_the_cell_state() -> None:
    """b_f = +40 and b_i = −40: σ(40) rounds to 1 and σ(−40)·g ≈ 4e-18 is below c's last bit, so c′ = c exactly."""
    b = [-40.0, 40.0, 0.0, 0.0]
    _, c1 = ref.lstm_cell([[2.0]], [[0.5]], [[0.75]], [[1.0]] * 4, [[1.0]] * 4, b, [0.0] * 4)
    assert c1 == [[0.75]]


def test_gru_update_gate_at_one_keeps_and_at_zero_replaces_the_state() -> None:
    """b_z = +40 keeps h (h′ = h); b_z = −40 gives the candidate alone, tanh(x) with zero hidden weights."""
    w_ih, w_hh = [[0.0], [0.0], [1.0]], [[0.0]] * 3
    assert ref.gru_cell([[0.3]], [[-0.5]], w_ih, w_hh, [0.0, 40.0, 0.0], [0.0] * 3) == [[-0.5]]
    assert ref.gru_cell([[0.3]], [[-0.5]], w_ih, w_hh, [0.0, -40.0, 0.0], [0.0] * 3) == [[math.tanh(0.3)]]


def test_gru_reset_gate_scales_the_hidden_bias_too() -> None:
    """r = σ(0) = 1/2 multiplies W_hn·h + b_hn: with h = 0, b_hn = 1 and z shut, h′ = tanh(1/2), not tanh(1)
    (the paper's reset-before-matmul form would give tanh(1) here)."""
    got = ref.gru_cell([[0.0]], [[0.0]], [[0.0]] * 3, [[0.0]] * 3, [0.0, -40.0, 0.0], [0.0, 0.0, 1.0])
    assert got == [[pytest.approx(math.tanh(0.5), rel=2 * U)]]


# --- the module's examples and errors ------------------------------------------------------------------


def test_docstring_examples_run() -> None:
    """The examples in gated_rnn's docstrings give the printed values."""
    module = importlib.import_module("dlterms.reference.gated_rnn")
    failed, attempted = doctest.testmod(module, raise_on_error=False)
    assert attempted >= 2 and failed == 0


def test_a_weight_of_the_wrong_gate_count_is_refused_naming_the_layout() -> None:
    """An RNN-sized w_ih (H, in) given to lstm_cell is refused, the message naming (4H, in) and where H comes from."""
    with pytest.raises(ValueError, match=r"lstm_cell: w_ih.shape=\(1, 1\); expected \(4H, in\) = \(4, 1\)"):
        ref.lstm_cell([[1.0]], [[0.0]], [[0.0]], [[1.0]], [[1.0]] * 4, [0.0] * 4, [0.0] * 4)
    with pytest.raises(TypeError, match=r"lstm_cell_vjp: cotangent is list; expected a pair \(d_h, d_c\)"):
        ref.lstm_cell_vjp([[1.0]], [[0.0]], [[0.0]], [[1.0]] * 4, [[1.0]] * 4, [0.0] * 4, [0.0] * 4, cotangent=[[1.0]])
