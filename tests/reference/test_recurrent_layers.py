"""The LSTM and GRU layer references (and their bidirectional joins) against hand values, finite differences
and torch's nn.LSTM and nn.GRU in float64; the layer's accuracy bound against the cell's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from dlterms.conformance import tolerances
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlterms import reference as ref

WEIGHTS = ("w_ih", "w_hh", "b_ih", "b_hh")


def _array(shape: tuple[int, ...], bound: float) -> st.SearchStrategy[Any]:
    values = st.floats(-bound, bound, allow_nan=False, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=values).map(np.ndarray.tolist)


@st.composite
def layers(draw: Any, *, gates: int) -> dict[str, Any]:
    """Keyword arguments of ``lstm`` (gates = 4, with c0) or ``gru`` (gates = 3): N ≤ 2, T ≤ 3, in ≤ 2, H ≤ 2."""
    n, steps, n_in, hidden = (draw(st.integers(1, hi)) for hi in (2, 3, 2, 2))
    case = {
        "x": draw(_array((n, steps, n_in), 2.0)),
        "h0": draw(_array((n, hidden), 1.0)),
        "w_ih": draw(_array((gates * hidden, n_in), 1.0)),
        "w_hh": draw(_array((gates * hidden, hidden), 1.0)),
        "b_ih": draw(_array((gates * hidden,), 1.0)),
        "b_hh": draw(_array((gates * hidden,), 1.0)),
    }
    if gates == 4:
        case["c0"] = draw(_array((n, hidden), 2.0))
    return case


def _t(value: Any) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def _torch_layer(kind: str, case: dict[str, Any], reverse_weights: dict[str, Any] | None = None) -> Any:
    """torch.nn.LSTM or GRU (float64, batch first), bidirectional, the case's weights forward and
    ``reverse_weights`` (default: the same) backward."""
    n_in, hidden = len(case["w_ih"][0]), len(case["h0"][0])
    module = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(
        n_in, hidden, batch_first=True, bidirectional=True, dtype=torch.float64
    )
    back = reverse_weights or {k: case[k] for k in WEIGHTS}
    with torch.no_grad():
        for name in WEIGHTS:
            torch_name = {"w_ih": "weight_ih", "w_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}[name]
            getattr(module, f"{torch_name}_l0").copy_(_t(case[name]))
            getattr(module, f"{torch_name}_l0_reverse").copy_(_t(back[name]))
    return module


def _torch_run(kind: str, case: dict[str, Any], reverse: bool) -> tuple[list[torch.Tensor], torch.Tensor, Any]:
    """The torch layer's outputs in the direction asked (forward half or backward half), and x as a leaf."""
    module = _torch_layer(kind, case)
    x = _t(case["x"]).requires_grad_()
    states = [_t(case[s]).expand(2, -1, -1) for s in (("h0", "c0") if kind == "lstm" else ("h0",))]
    out, final = module(x, tuple(states) if kind == "lstm" else states[0])
    hidden, d = len(case["h0"][0]), int(reverse)
    finals = final if kind == "lstm" else (final,)
    return [out[..., d * hidden : (d + 1) * hidden], *(f[d] for f in finals)], x, module


# --- hand values ----------------------------------------------------------------------------------


def test_lstm_two_steps_by_hand() -> None:
    """Only the candidate reads x = (1, 0): every gate is σ(0) = ½, so c₁ = tanh(1)/2, c₂ = c₁/2 and h_t = tanh(c_t)/2;
    reversed, the zero input comes first and the outputs are (tanh(tanh(1)/2)/2, 0), c_n = tanh(1)/2."""
    w_ih, zeros = [[0.0], [0.0], [1.0], [0.0]], [[0.0]] * 4
    outputs, h_n, c_n = ref.lstm([[[1.0], [0.0]]], [[0.0]], [[0.0]], w_ih, zeros, [0.0] * 4, [0.0] * 4)
    c1 = math.tanh(1.0) / 2
    assert outputs == [[[math.tanh(c1) / 2], [math.tanh(c1 / 2) / 2]]]
    assert (h_n, c_n) == ([[math.tanh(c1 / 2) / 2]], [[c1 / 2]])
    outputs, h_n, c_n = ref.lstm([[[1.0], [0.0]]], [[0.0]], [[0.0]], w_ih, zeros, [0.0] * 4, [0.0] * 4, reverse=True)
    assert outputs == [[[math.tanh(c1) / 2], [0.0]]]
    assert (h_n, c_n) == ([[math.tanh(c1) / 2]], [[c1]])


def test_gru_two_steps_by_hand() -> None:
    """Only the candidate reads x = (1, 1) from h0 = ½: z = ½ and n = tanh(1), so h_t = (tanh(1) + h_{t−1})/2."""
    outputs, h_n = ref.gru([[[1.0], [1.0]]], [[0.5]], [[0.0], [0.0], [1.0]], [[0.0]] * 3, [0.0] * 3, [0.0] * 3)
    h1 = (math.tanh(1.0) + 0.5) / 2
    h2 = (math.tanh(1.0) + h1) / 2
    assert outputs[0][0][0] == pytest.approx(h1, rel=4e-16)
    assert outputs[0][1][0] == pytest.approx(h2, rel=4e-16)
    assert h_n == [outputs[0][1]]


# --- against torch in float64 ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "gates"), [("lstm", 4), ("gru", 3)])
@pytest.mark.parametrize("reverse", [False, True])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_layer_and_its_vjp_match_torch_in_float64(kind: str, gates: int, reverse: bool, data: st.DataObject) -> None:
    """The layer equals torch's nn.LSTM/nn.GRU (reverse: the backward half of a bidirectional layer), and its VJP
    equals torch's autograd for a random cotangent of every output, within 1e-12."""
    case = data.draw(layers(gates=gates))
    got = getattr(ref, kind)(**case, reverse=reverse)
    expected, x, module = _torch_run(kind, case, reverse)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(g), e.detach().numpy(), rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(len(str(case)))
    cot = [rng.standard_normal(e.shape) for e in expected]
    sum((e * _t(c)).sum() for e, c in zip(expected, cot, strict=True)).backward()  # type: ignore[union-attr]
    grads = getattr(ref, f"{kind}_vjp")(**case, cotangent=tuple(c.tolist() for c in cot), reverse=reverse)
    suffix = "_reverse" if reverse else ""
    torch_w = [getattr(module, f"{n}_l0{suffix}").grad for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    np.testing.assert_allclose(np.asarray(grads[0]), x.grad.numpy(), rtol=1e-12, atol=1e-12)
    for g, t in zip(grads[-4:], torch_w, strict=True):
        np.testing.assert_allclose(np.asarray(g), t.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("kind", "gates"), [("lstm", 4), ("gru", 3)])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_bidirectional_layer_matches_torch(kind: str, gates: int, data: st.DataObject) -> None:
    """bidirectional_lstm/gru equal torch's bidirectional layer with other weights per direction: outputs
    [forward, backward] on the feature axis, final states stacked (2, N, H), forward first."""
    case = data.draw(layers(gates=gates))
    back = {k: data.draw(_array(np.shape(case[k]), 1.0)) for k in WEIGHTS}  # the backward direction's own
    states = ("h0", "c0") if kind == "lstm" else ("h0",)
    stacked = {s: [case[s], [[-v for v in row] for row in case[s]]] for s in states}
    module = _torch_layer(kind, case, back)
    torch_states = tuple(_t(stacked[s]) for s in states)
    out, final = module(_t(case["x"]), torch_states if kind == "lstm" else torch_states[0])
    got = getattr(ref, f"bidirectional_{kind}")(
        x=case["x"], **stacked, **{k: case[k] for k in WEIGHTS}, **{f"{k}_reverse": v for k, v in back.items()}
    )
    expected = [out, *(final if kind == "lstm" else (final,))]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(g), e.detach().numpy(), rtol=1e-12, atol=1e-12)


# --- identities -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "gates"), [("lstm", 4), ("gru", 3)])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_reverse_is_the_forward_layer_on_the_flipped_sequence_exactly(
    kind: str, gates: int, data: st.DataObject
) -> None:
    """reverse=True gives, bit for bit, the forward layer's results on x flipped in time, its outputs flipped back."""
    case = data.draw(layers(gates=gates))
    backward = getattr(ref, kind)(**case, reverse=True)
    forward = getattr(ref, kind)(**{**case, "x": [seq[::-1] for seq in case["x"]]})
    assert backward[0] == [seq[::-1] for seq in forward[0]]
    assert backward[1:] == forward[1:]


@pytest.mark.parametrize(("kind", "gates"), [("lstm", 4), ("gru", 3)])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_vjp_matches_central_differences(kind: str, gates: int, data: st.DataObject) -> None:
    """vᵀJu of the VJP (backpropagation through time) equals the central difference of vᵀ·layer along u (step 1e-6)."""
    case = data.draw(layers(gates=gates))
    reverse = data.draw(st.booleans())
    names = ("x", *(("h0", "c0") if kind == "lstm" else ("h0",)), *WEIGHTS)
    rng = np.random.default_rng(7)
    u = {k: rng.standard_normal(np.shape(case[k])) for k in names}
    outs = getattr(ref, kind)(**case, reverse=reverse)
    v = [rng.standard_normal(np.shape(o)) for o in outs]

    def phi(t: float) -> float:
        moved = {k: (np.asarray(case[k]) + t * u[k]).tolist() for k in names}
        return float(
            sum(
                np.sum(np.asarray(o) * vi)
                for o, vi in zip(getattr(ref, kind)(**moved, reverse=reverse), v, strict=True)
            )
        )

    eps = 1e-6
    fd = (phi(eps) - phi(-eps)) / (2 * eps)
    grads = getattr(ref, f"{kind}_vjp")(**case, cotangent=tuple(vi.tolist() for vi in v), reverse=reverse)
    analytic = sum(float(np.sum(np.asarray(g) * u[k])) for g, k in zip(grads, names, strict=True))
    assert analytic == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_a_missing_cotangent_is_zeros() -> None:
    """None for an output's cotangent gives the same gradients as zeros of its shape."""
    case = {"x": [[[1.0], [-0.5]]], "h0": [[0.25]], "w_ih": [[0.5], [-1.0], [1.0]], "w_hh": [[0.5], [0.25], [-0.5]]}
    case |= {"b_ih": [0.1, 0.0, -0.1], "b_hh": [0.0, 0.2, 0.3]}
    with_none = ref.gru_vjp(**case, cotangent=(None, [[1.0]]))
    with_zeros = ref.gru_vjp(**case, cotangent=([[[0.0], [0.0]]], [[1.0]]))
    assert with_none == with_zeros


# --- the accuracy bound ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "gates"), [("lstm", 4), ("gru", 3)])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_the_layer_bound_of_one_step_is_the_cell_bound(kind: str, gates: int, dtype: str, data: st.DataObject) -> None:
    """With T = 1 the layer's accumulation bound (tolerances "lstm"/"gru") is exactly its cell's: a layer's step is
    the cell's bound, and nothing is carried in at the first step."""
    case = data.draw(layers(gates=gates))
    case["x"] = [seq[:1] for seq in case["x"]]
    outs = [np.asarray(o) for o in getattr(ref, kind)(**case)]
    layer = tolerances.accumulation(kind, case, outs, dtype)
    cell_case = {**{k: case[k] for k in WEIGHTS}, "x": [seq[0] for seq in case["x"]], "h": case["h0"]}
    if kind == "lstm":
        cell_case["c"] = case["c0"]
    cell_outs = (
        [np.asarray(o) for o in ref.lstm_cell(**cell_case)]
        if kind == "lstm"
        else [np.asarray(ref.gru_cell(**cell_case))]
    )
    cell = tolerances.accumulation(f"{kind}_cell", cell_case, cell_outs, dtype)
    np.testing.assert_allclose(layer[0][:, 0], cell[0], rtol=1e-12)
    np.testing.assert_allclose(layer[1], cell[0], rtol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(layer[2], cell[1], rtol=1e-12)
