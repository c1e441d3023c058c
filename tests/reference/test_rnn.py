"""The RNN reference against a 50-digit mpmath oracle and torch.nn.RNN, plus its modes, golden values and errors."""

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
rnn_module = importlib.import_module("dlterms.reference.rnn")  # `ref.rnn` is the function of the same name

ARGS = ("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh")


def _array(shape: tuple[int, ...], bound: float) -> st.SearchStrategy[Any]:
    values = st.floats(-bound, bound, allow_nan=False, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=values).map(np.ndarray.tolist)


@st.composite
def networks(draw: Any, *, readout: bool = False) -> dict[str, Any]:
    """Keyword arguments of ``rnn`` (N ≤ 2, T ≤ 4, in ≤ 3, H ≤ 3; weights in [−1, 1]), optionally a readout."""
    n, steps, n_in, hidden = (draw(st.integers(1, hi)) for hi in (2, 4, 3, 3))
    case = {
        "x": draw(_array((n, steps, n_in), 3.0)),
        "h0": draw(_array((n, hidden), 1.0)),
        "w_ih": draw(_array((hidden, n_in), 1.0)),
        "w_hh": draw(_array((hidden, hidden), 1.0)),
        "b_ih": draw(_array((hidden,), 1.0)),
        "b_hh": draw(_array((hidden,), 1.0)),
    }
    if readout:
        n_out = draw(st.integers(1, 3))
        case["w_out"] = draw(_array((n_out, hidden), 1.0))
        case["b_out"] = draw(_array((n_out,), 1.0))
    return case


# --- an independent oracle: the recurrence in 50-digit arithmetic ----------------------------


def mp_states(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> list[list[list[mpmath.mpf]]]:
    """``[h_1, …, h_T]``, each (N, H), by the textbook loop in mpmath."""
    mpf = mpmath.mpf
    states = []
    h = [[mpf(v) for v in row] for row in h0]
    for t in range(len(x[0])):
        h = [
            [
                mpmath.tanh(
                    mpmath.fsum(mpf(xk) * mpf(wk) for xk, wk in zip(x[i][t], w_ih[j], strict=True))
                    + mpf(b_ih[j])
                    + mpmath.fsum(hk * mpf(wk) for hk, wk in zip(h[i], w_hh[j], strict=True))
                    + mpf(b_hh[j])
                )
                for j in range(len(w_hh))
            ]
            for i in range(len(x))
        ]
        states.append(h)
    return states


def mp_readout(h: list[mpmath.mpf], w_out: Any, b_out: Any) -> list[mpmath.mpf]:
    return [
        mpmath.fsum(hk * mpmath.mpf(wk) for hk, wk in zip(h, row, strict=True)) + b
        for row, b in zip(w_out, b_out, strict=True)
    ]


def assert_near(got: Any, exact: Any, atol: float) -> None:
    """Same shape and elementwise |got − exact| ≤ atol (``exact`` may hold mpmath numbers)."""
    got_a, exact_a = np.asarray(got, dtype=np.float64), np.asarray(exact, dtype=object).astype(np.float64)
    assert got_a.shape == exact_a.shape
    assert np.max(np.abs(got_a - exact_a), initial=0.0) <= atol


# The products and sums of one step are exact to about one rounding each (fsum), tanh to one
# ulp; with |w| ≤ 1 and H ≤ 3 an error grows at most 4× per step over T ≤ 4 steps.
ATOL = 1e-13


@settings(max_examples=40)
@given(networks())
def test_rnn_matches_50_digit_recurrence(case: dict[str, Any]) -> None:
    """Every hidden state of rnn is within 1e-13 of the 50-digit recurrence, and h_n is the last."""
    outputs, h_n = ref.rnn(**case)
    states = mp_states(**case)
    n, steps = len(case["x"]), len(case["x"][0])
    exact = [[[float(v) for v in states[t][i]] for t in range(steps)] for i in range(n)]
    assert_near(outputs, exact, ATOL)
    assert h_n == [row[-1] for row in outputs]


@settings(max_examples=30)
@given(networks())
def test_rnn_cell_is_one_step_of_the_recurrence(case: dict[str, Any]) -> None:
    """rnn_cell(x_1, h0, …) is the 50-digit first step (within 1e-15) and rnn's first output."""
    x1 = [seq[0] for seq in case["x"]]
    weights = {k: case[k] for k in ARGS[2:]}
    h1 = ref.rnn_cell(x1, case["h0"], **weights)
    exact = mp_states([[row] for row in x1], case["h0"], **weights)[0]
    assert_near(h1, [[float(v) for v in row] for row in exact], 1e-15)
    assert h1 == [seq[0] for seq in ref.rnn(**case)[0]]


# --- gradients: backpropagation through time against 50-digit finite differences ----------------


def mp_objective(case: dict[str, Any], v_out: Any, v_hn: Any) -> mpmath.mpf:
    """⟨v_out, outputs⟩ + ⟨v_hn, h_n⟩ in 50 digits."""
    states = mp_states(**case)
    total = mpmath.mpf(0)
    for i in range(len(case["x"])):
        for t, h_t in enumerate(states):
            total += mpmath.fsum(mpmath.mpf(g) * h for g, h in zip(v_out[i][t], h_t[i], strict=True))
        total += mpmath.fsum(mpmath.mpf(g) * h for g, h in zip(v_hn[i], states[-1][i], strict=True))
    return total


def mp_gradient(case: dict[str, Any], name: str, v_out: Any, v_hn: Any) -> np.ndarray:
    """d⟨v, rnn⟩/d``name`` by central differences with step 1e-20 at 50 digits (error ~1e-40)."""
    flat = np.asarray(case[name], dtype=object).ravel()
    step = mpmath.mpf("1e-20")
    grad = []
    for k in range(flat.size):
        plus, minus = flat.copy(), flat.copy()
        plus[k] = mpmath.mpf(flat[k]) + step
        minus[k] = mpmath.mpf(flat[k]) - step
        shape = np.shape(case[name])
        f_plus = mp_objective({**case, name: plus.reshape(shape).tolist()}, v_out, v_hn)
        f_minus = mp_objective({**case, name: minus.reshape(shape).tolist()}, v_out, v_hn)
        grad.append(float((f_plus - f_minus) / (2 * step)))
    return np.asarray(grad).reshape(np.shape(case[name]))


@settings(max_examples=10)
@given(networks(), st.integers(0, 2**32 - 1))
def test_rnn_vjp_matches_50_digit_finite_differences(case: dict[str, Any], seed: int) -> None:
    """Each of the six gradients of rnn_vjp is within 1e-12 of 50-digit central differences."""
    rng = np.random.default_rng(seed)
    n, steps, hidden = len(case["x"]), len(case["x"][0]), len(case["h0"][0])
    v_out, v_hn = rng.standard_normal((n, steps, hidden)).tolist(), rng.standard_normal((n, hidden)).tolist()
    grads = ref.rnn_vjp(**case, cotangent=(v_out, v_hn))
    assert len(grads) == 6
    for name, g in zip(ARGS, grads, strict=True):
        np.testing.assert_allclose(
            np.asarray(g), mp_gradient(case, name, v_out, v_hn), rtol=0, atol=1e-12, err_msg=name
        )


@settings(max_examples=10)
@given(networks(), st.integers(0, 2**32 - 1))
def test_rnn_cell_vjp_matches_rnn_vjp_for_one_step(case: dict[str, Any], seed: int) -> None:
    """For T = 1, rnn_cell_vjp and rnn_vjp give the same six gradients (d_outputs and d_h_n add up)."""
    one = {**case, "x": [seq[:1] for seq in case["x"]]}
    rng = np.random.default_rng(seed)
    n, hidden = len(case["x"]), len(case["h0"][0])
    g_out, g_hn = rng.standard_normal((n, 1, hidden)), rng.standard_normal((n, hidden))
    through_time = ref.rnn_vjp(**one, cotangent=(g_out.tolist(), g_hn.tolist()))
    x1 = [seq[0] for seq in one["x"]]
    cell = ref.rnn_cell_vjp(x1, case["h0"], *(case[k] for k in ARGS[2:]), cotangent=(g_out[:, 0] + g_hn).tolist())
    np.testing.assert_allclose(np.asarray(through_time[0])[:, 0], cell[0], rtol=0, atol=1e-15)
    for a, b in zip(through_time[1:], cell[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_rnn_vjp_none_cotangent_stands_for_zeros() -> None:
    """A None in the cotangent pair gives exactly the gradients of an all-zero cotangent."""
    case = {"x": [[[1.0], [-0.5], [2.0]]], "h0": [[0.25, -0.5]], "w_ih": [[0.5], [-1.0]]}
    case |= {"w_hh": [[0.5, -0.25], [0.75, 0.5]], "b_ih": [0.1, -0.2], "b_hh": [0.0, 0.3]}
    g_hn = [[1.0, -2.0]]
    assert ref.rnn_vjp(**case, cotangent=(None, g_hn)) == ref.rnn_vjp(**case, cotangent=([[[0.0, 0.0]] * 3], g_hn))
    g_out = [[[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]]
    assert ref.rnn_vjp(**case, cotangent=(g_out, None)) == ref.rnn_vjp(**case, cotangent=(g_out, [[0.0, 0.0]]))


# --- torch.nn.RNN(batch_first=True) given the same weights ------------------------------------------


@settings(max_examples=25)
@given(networks(), st.integers(0, 2**32 - 1))
def test_rnn_agrees_with_torch_nn_rnn(case: dict[str, Any], seed: int) -> None:
    """torch.nn.RNN(batch_first=True, tanh) loaded with the same weights gives the same outputs, h_n and gradients."""
    n_in, hidden = len(case["x"][0][0]), len(case["h0"][0])
    module = torch.nn.RNN(n_in, hidden, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    state = {"weight_ih_l0": "w_ih", "weight_hh_l0": "w_hh", "bias_ih_l0": "b_ih", "bias_hh_l0": "b_hh"}
    module.load_state_dict({k: torch.tensor(case[v], dtype=torch.float64) for k, v in state.items()})
    x = torch.tensor(case["x"], dtype=torch.float64, requires_grad=True)
    h0 = torch.tensor(case["h0"], dtype=torch.float64, requires_grad=True)
    outputs, h_n = module(x, h0.unsqueeze(0))

    got_outputs, got_h_n = ref.rnn(**case)
    np.testing.assert_allclose(got_outputs, outputs.detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(got_h_n, h_n[0].detach().numpy(), rtol=0, atol=1e-13)

    rng = np.random.default_rng(seed)
    g_out, g_hn = rng.standard_normal(tuple(outputs.shape)), rng.standard_normal(tuple(h_n.shape[1:]))
    params = [x, h0, *(dict(module.named_parameters())[k] for k in state)]
    expected = torch.autograd.grad((outputs, h_n[0]), params, (torch.tensor(g_out), torch.tensor(g_hn)))
    got = ref.rnn_vjp(**case, cotangent=(g_out.tolist(), g_hn.tolist()))
    for name, g, e in zip(ARGS, got, expected, strict=True):
        np.testing.assert_allclose(g, e.numpy(), rtol=0, atol=1e-12, err_msg=name)


# --- the four modes ------------------------------------------------------------------------


@settings(max_examples=20)
@given(networks(readout=True))
def test_many_to_many_reads_out_every_step(case: dict[str, Any]) -> None:
    """rnn_many_to_many is the 50-digit readout of every hidden state: shape (N, T, out)."""
    states = mp_states(**{k: case[k] for k in ARGS})
    got = ref.rnn_many_to_many(**case)
    n, steps = len(case["x"]), len(case["x"][0])
    exact = [
        [[float(v) for v in mp_readout(states[t][i], case["w_out"], case["b_out"])] for t in range(steps)]
        for i in range(n)
    ]
    assert_near(got, exact, ATOL)


@settings(max_examples=20)
@given(networks(readout=True))
def test_many_to_one_reads_out_the_last_state(case: dict[str, Any]) -> None:
    """rnn_many_to_one is the 50-digit readout of h_T: shape (N, out)."""
    states = mp_states(**{k: case[k] for k in ARGS})
    got = ref.rnn_many_to_one(**case)
    exact = [[float(v) for v in mp_readout(h, case["w_out"], case["b_out"])] for h in states[-1]]
    assert_near(got, exact, ATOL)


@settings(max_examples=20)
@given(networks(readout=True))
def test_one_to_one_is_a_single_step_and_readout(case: dict[str, Any]) -> None:
    """rnn_one_to_one(x) is the 50-digit readout of one step from x (N, in): shape (N, out)."""
    x1 = [seq[0] for seq in case["x"]]
    states = mp_states(**{**{k: case[k] for k in ARGS}, "x": [[row] for row in x1]})
    got = ref.rnn_one_to_one(**{**case, "x": x1})
    exact = [[float(v) for v in mp_readout(h, case["w_out"], case["b_out"])] for h in states[0]]
    assert_near(got, exact, ATOL)


@settings(max_examples=20)
@given(networks(readout=True), st.integers(1, 4))
def test_one_to_many_feeds_the_input_then_zeros(case: dict[str, Any], steps: int) -> None:
    """rnn_one_to_many(x, S) reads out the S states of the sequence (x, 0, …, 0): shape (N, S, out)."""
    x1 = [seq[0] for seq in case["x"]]
    sequence = [[row] + [[0.0] * len(row)] * (steps - 1) for row in x1]
    states = mp_states(**{**{k: case[k] for k in ARGS}, "x": sequence})
    got = ref.rnn_one_to_many(**{**case, "x": x1, "steps": steps})
    exact = [
        [[float(v) for v in mp_readout(states[t][i], case["w_out"], case["b_out"])] for t in range(steps)]
        for i in range(len(x1))
    ]
    assert_near(got, exact, ATOL)


def test_modes_without_readout_bias_use_none() -> None:
    """b_out=None means no readout bias (as linear's bias=None)."""
    net = {"h0": [[0.0]], "w_ih": [[0.5]], "w_hh": [[1.0]], "b_ih": [0.0], "b_hh": [0.0], "w_out": [[2.0]]}
    assert ref.rnn_many_to_one(x=[[[1.0]]], **net) == ref.rnn_many_to_one(x=[[[1.0]]], **net, b_out=[0.0])


# --- golden values (hand-checked) ---------------------------------------------------------------


def test_golden_two_steps_of_a_scalar_network() -> None:
    """x = (1, 0), w_ih = 0.5, w_hh = 1, no bias: h = (tanh 0.5, tanh(tanh 0.5)), the second from memory alone."""
    outputs, h_n = ref.rnn([[[1.0], [0.0]]], [[0.0]], [[0.5]], [[1.0]], [0.0], [0.0])
    assert outputs == [[[math.tanh(0.5)], [math.tanh(math.tanh(0.5))]]]
    assert h_n == [[math.tanh(math.tanh(0.5))]]


def test_golden_biases_only_matter_through_their_sum() -> None:
    """b_ih = 0.3, b_hh = −0.3 cancel exactly: the network is then bias-free."""
    a = ref.rnn([[[0.7], [-1.2]]], [[0.1]], [[0.9]], [[-0.4]], [0.3], [-0.3])
    b = ref.rnn([[[0.7], [-1.2]]], [[0.1]], [[0.9]], [[-0.4]], [0.0], [0.0])
    assert a == b


def test_golden_gradient_of_one_step() -> None:
    """One step h = tanh(w·x): dL/dw = g·x·(1 − h²), dL/dx = g·w·(1 − h²), dL/dh0 = g·w_hh·(1 − h²)."""
    h = math.tanh(0.5 * 2.0)
    dx, dh0, dw_ih, dw_hh, db_ih, db_hh = ref.rnn_vjp(
        [[[2.0]]], [[0.0]], [[0.5]], [[3.0]], [0.0], [0.0], ([[[1.0]]], None)
    )
    d = 1.0 - h * h
    assert dx == [[[0.5 * d]]] and dh0 == [[3.0 * d]]
    assert dw_ih == [[2.0 * d]] and dw_hh == [[0.0]]  # h0 = 0 contributes nothing to dW_hh
    assert db_ih == db_hh == [d]


@pytest.mark.parametrize(
    ("x", "b_ih", "expected"),
    [
        ([[[math.inf], [0.0]]], 0.0, [[[1.0], [math.tanh(0.5)]]]),  # tanh(+inf) = 1, remembered at half weight
        ([[[-math.inf], [math.inf]]], 0.0, [[[-1.0], [1.0]]]),  # -inf and +inf never meet in one sum here
        ([[[1e308], [1e308]]], 1e308, [[[1.0], [1.0]]]),  # 1e308 + 1e308 overflows to inf: IEEE, no exception
    ],
)
def test_golden_infinite_and_huge_inputs_saturate(x: Any, b_ih: float, expected: Any) -> None:
    """Infinite or overflowing pre-activations saturate tanh to ±1, as torch.nn.RNN does, instead of raising."""
    outputs, _ = ref.rnn(x, [[0.0]], [[1.0]], [[0.5]], [b_ih], [0.0])
    assert outputs == expected


def test_golden_nan_propagates_through_time() -> None:
    """A NaN input makes its step and every later state NaN (the memory carries it)."""
    outputs, h_n = ref.rnn([[[math.nan], [0.0], [1.0]]], [[0.0]], [[1.0]], [[0.5]], [0.0], [0.0])
    assert all(math.isnan(v[0]) for v in outputs[0]) and math.isnan(h_n[0][0])


def test_docstring_examples_run() -> None:
    """Every example in the module's docstrings gives the printed result."""
    failures, tried = doctest.testmod(rnn_module)
    assert tried >= 8 and failures == 0


# --- bad input ------------------------------------------------------------------------------

GOOD = {
    "x": [[[1.0, 2.0], [0.0, 1.0], [0.5, 0.5]]],  # N=1, T=3, in=2
    "h0": [[0.0, 0.0, 0.0]],  # H=3
    "w_ih": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
    "w_hh": [[0.1, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, 0.0, 0.1]],
    "b_ih": [0.0, 0.0, 0.0],
    "b_hh": [0.0, 0.0, 0.0],
}


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"x": [[1.0, 2.0]]}, ValueError, ["rnn: x.shape=(1, 2)", "(N, T, in)"]),
        ({"x": [[]]}, ValueError, ["rnn: x.shape=(1, 0)", "T >= 1"]),
        ({"h0": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]}, ValueError, ["h0.shape=(2, 3)", "(N, H) = (1, H)"]),
        ({"h0": [0.0, 0.0, 0.0]}, ValueError, ["h0.shape=(3,)", "(N, H)"]),
        ({"w_ih": [[0.1, 0.2, 0.3]] * 3}, ValueError, ["w_ih.shape=(3, 3)", "(H, in) = (3, 2)", "in = 2 from x"]),
        ({"w_hh": [[0.1, 0.0]] * 3}, ValueError, ["w_hh.shape=(3, 2)", "(H, H) = (3, 3)", "H = 3 from h0"]),
        ({"b_ih": [0.0, 0.0]}, ValueError, ["b_ih.shape=(2,)", "(H,) = (3,)"]),
        ({"b_hh": [[0.0, 0.0, 0.0]]}, ValueError, ["b_hh.shape=(1, 3)", "(H,) = (3,)"]),
        ({"x": [[[1.0, 2.0], [0.0], [0.5, 0.5]]]}, ValueError, ["rnn: x[0][1] has length 1", "ragged"]),
        ({"b_hh": [0.0, "0", 0.0]}, TypeError, ["rnn: b_hh[1] is str", "real number"]),
        ({"w_hh": None}, TypeError, ["rnn: w_hh is NoneType"]),
    ],
)
def test_bad_input_names_function_argument_and_expectation(
    change: dict[str, Any], error: type, words: list[str]
) -> None:
    """rnn refuses a wrong shape or value with a message naming the function, the argument and what was expected."""
    with pytest.raises(error) as info:
        ref.rnn(**{**GOOD, **change})
    for w in words:
        assert w in str(info.value)


def test_rnn_cell_checks_its_own_shapes() -> None:
    """rnn_cell wants x (N, in) and h (N, H), and says so by name."""
    with pytest.raises(ValueError, match=r"rnn_cell: x\.shape=\(1, 3, 2\).*\(N, in\)"):
        ref.rnn_cell(GOOD["x"], **{k: GOOD[k] for k in ARGS[2:]}, h=GOOD["h0"])
    with pytest.raises(ValueError, match=r"rnn_cell: h\.shape=\(2, 3\); expected \(N, H\) = \(1, H\)"):
        ref.rnn_cell([[1.0, 2.0]], [[0.0] * 3] * 2, *(GOOD[k] for k in ARGS[2:]))
    with pytest.raises(ValueError, match=r"rnn_cell: w_ih\.shape=\(3, 2\); expected \(H, in\) = \(2, 2\)"):
        ref.rnn_cell([[1.0, 2.0]], [[0.0, 0.0]], *(GOOD[k] for k in ARGS[2:]))
    with pytest.raises(ValueError, match=r"rnn_cell_vjp: cotangent\.shape=\(1, 2\).*\(N, H\) = \(1, 3\)"):
        ref.rnn_cell_vjp([[1.0, 2.0]], GOOD["h0"], *(GOOD[k] for k in ARGS[2:]), cotangent=[[1.0, 1.0]])


def test_rnn_vjp_checks_the_cotangent_pair() -> None:
    """The cotangent of rnn is a pair (d_outputs, d_h_n) of the output shapes."""
    with pytest.raises(TypeError, match=r"rnn_vjp: cotangent is list; expected a pair \(d_outputs, d_h_n\)"):
        ref.rnn_vjp(**GOOD, cotangent=[[[0.0] * 3] * 3])
    with pytest.raises(ValueError, match=r"rnn_vjp: cotangent\[0\] \(d_outputs\)\.shape=\(1, 2, 3\).*\(1, 3, 3\)"):
        ref.rnn_vjp(**GOOD, cotangent=([[[0.0] * 3] * 2], None))
    with pytest.raises(ValueError, match=r"rnn_vjp: cotangent\[1\] \(d_h_n\)\.shape=\(3,\)"):
        ref.rnn_vjp(**GOOD, cotangent=(None, [0.0, 0.0, 0.0]))


def test_modes_check_steps_and_readout() -> None:
    """steps is an int >= 1; w_out must be (out, H) and b_out (out,), named in the message."""
    x1 = [[1.0, 2.0]]
    net = {k: GOOD[k] for k in ARGS[1:]}
    w_out = [[1.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match=r"rnn_one_to_many: steps=0; expected an int >= 1"):
        ref.rnn_one_to_many(x1, 0, **net, w_out=w_out)
    with pytest.raises(TypeError, match=r"rnn_one_to_many: steps is bool"):
        ref.rnn_one_to_many(x1, True, **net, w_out=w_out)
    with pytest.raises(ValueError, match=r"rnn_many_to_one: w_out\.shape=\(1, 2\); expected \(out, H\) with H = 3"):
        ref.rnn_many_to_one(GOOD["x"], **net, w_out=[[1.0, 0.0]])
    with pytest.raises(ValueError, match=r"rnn_many_to_many: b_out\.shape=\(2,\); expected \(out,\) = \(1,\)"):
        ref.rnn_many_to_many(GOOD["x"], **net, w_out=w_out, b_out=[0.0, 0.0])
    with pytest.raises(ValueError, match=r"rnn_one_to_one: x\.shape=\(1, 3, 2\)"):
        ref.rnn_one_to_one(GOOD["x"], **net, w_out=w_out)
