"""Invariants of the gated recurrent layers over a sequence, LSTM and GRU, in both directions.

Cases are small (N ≤ 2, T ≤ 3, in ≤ 2, H ≤ 2) so that the pure-Python
reference stays fast, and weights lie in [−1, 1] as for the cells
(:mod:`.gated_rnn`); ``reverse`` is drawn. Comparisons of two ways of
computing the same layer allow each side the op's bound (the record's
relative model plus its accumulation term, ``tolerances.ACCUMULATION["lstm"]``
or ``["gru"]``): the two sides may differ by the sum of their errors.
The saturation invariants add ±SATURATED to one gate's input bias, as the
cells' do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_shape, assert_that
from ..registry import invariant, register_ops
from ..sizes import values
from ..strategies import float_arrays
from .gated_rnn import SATURATED

register_ops(op_records.recurrent_layers.OPS)


@dataclass(frozen=True)
class Layer:
    """What the invariants need to know of a layer op: its cell, gate count and states."""

    op: str
    cell: str
    gates: int
    states: tuple[str, ...]  # the initial states' argument names: ("h0", "c0") or ("h0",)
    term: str

    @property
    def args(self) -> tuple[str, ...]:
        return op_records.OPS[self.op].arg_names


LSTM = Layer("lstm", "lstm_cell", 4, ("h0", "c0"), "long-short-term-memory")
GRU = Layer("gru", "gru_cell", 3, ("h0",), "gated-recurrent-unit")


# --- cases -----------------------------------------------------------------------------------


def _sizes(min_steps: int = 1) -> st.SearchStrategy[tuple[int, int, int, int]]:
    """``(N, T, in, H)``."""
    return st.tuples(st.integers(1, 2), st.integers(min_steps, 3), st.integers(1, 2), st.integers(1, 2))


def _fields(layer: Layer, dtype: str, n: int, steps: int, n_in: int, hidden: int) -> dict[str, Any]:
    """Strategies for a layer's arguments: x in [−2, 2], h0 in [−1, 1], c0 in [−2, 2], weights in [−1, 1]."""
    g = layer.gates * hidden
    fields = {
        "x": float_arrays(dtype, (n, steps, n_in), min_value=-2.0, max_value=2.0),
        "h0": float_arrays(dtype, (n, hidden), min_value=-1.0, max_value=1.0),
        "c0": float_arrays(dtype, (n, hidden), min_value=-2.0, max_value=2.0),
        "w_ih": float_arrays(dtype, (g, n_in), min_value=-1.0, max_value=1.0),
        "w_hh": float_arrays(dtype, (g, hidden), min_value=-1.0, max_value=1.0),
        "b_ih": float_arrays(dtype, (g,), min_value=-1.0, max_value=1.0),
        "b_hh": float_arrays(dtype, (g,), min_value=-1.0, max_value=1.0),
        "reverse": st.booleans(),
    }
    return {k: v for k, v in fields.items() if k in layer.args}


def _cases(layer: Layer, dtype: str, min_steps: int = 1, **extra: Any) -> st.SearchStrategy[dict[str, Any]]:
    def build(s: tuple[int, int, int, int]) -> st.SearchStrategy[dict[str, Any]]:
        fields = _fields(layer, dtype, *s)
        for name, make in extra.items():
            fields[name] = make(dtype, *s)
        return st.fixed_dictionaries(fields)

    return _sizes(min_steps).flatmap(build)


def lstm_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """``{x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse}`` of consistent random sizes (4H gate rows)."""
    return _cases(LSTM, dtype)


def gru_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """``{x, h0, w_ih, w_hh, b_ih, b_hh, reverse}`` of consistent random sizes (3H gate rows)."""
    return _cases(GRU, dtype)


def layer_sizes(
    dtype: str, rng: np.random.Generator, *, shapes: tuple[tuple[int, int, int, int], ...], gates: int
) -> Iterator[dict[str, Any]]:
    """``lstm`` (``gates=4``) or ``gru`` (``gates=3``) for each ``(batch, steps, inputs, hidden)``, weights scaled
    by 1/√hidden, the first shape forward and the others reversed."""
    for k, (b, t, i, h) in enumerate(shapes):
        scale = 1.0 / np.sqrt(h)
        case = {
            "x": values(dtype, rng, (b, t, i), span=1.0).tolist(),
            "h0": values(dtype, rng, (b, h), span=1.0).tolist(),
            "w_ih": values(dtype, rng, (gates * h, i), span=scale).tolist(),
            "w_hh": values(dtype, rng, (gates * h, h), span=scale).tolist(),
            "b_ih": values(dtype, rng, (gates * h,), span=scale).tolist(),
            "b_hh": values(dtype, rng, (gates * h,), span=scale).tolist(),
            "reverse": k % 2 == 1,
        }
        if gates == 4:
            case["c0"] = values(dtype, rng, (b, h), span=2.0).tolist()
        yield case


# --- calling a layer and bounding it ------------------------------------------------------------


def _call(bk: Backend, layer: Layer, dtype: str, case: dict[str, Any], **replace: Any) -> list[np.ndarray]:
    """``bk.<op>`` on the case (some arguments replaced), its outputs as float64 arrays."""
    args = {**case, **replace}
    native = {k: args[k] if k == "reverse" else bk.asarray(args[k], dtype) for k in layer.args}
    return [as_float64(bk, o) for o in getattr(bk, layer.op)(**native)]


def _bounds(layer: Layer, dtype: str, case: dict[str, Any]) -> list[np.ndarray]:
    """Twice the record's bound on each output (two computations, each within it, may differ by their sum)."""
    args = {k: case[k] for k in layer.args}
    exact = [np.asarray(v, dtype=np.float64) for v in getattr(reference, layer.op)(**args)]
    acc = tolerances.accumulation(layer.op, args, exact, dtype)
    k_u = tolerances.K * tolerances.UNIT_ROUNDOFF[dtype]
    return [2 * a + k_u * np.abs(y) for a, y in zip(acc, exact, strict=True)]


def _names(layer: Layer) -> tuple[str, ...]:
    return op_records.OPS[layer.op].returns


def _register(layer: Layer) -> None:
    """The hand-written invariants every layer has (the LSTM's and GRU's own follow)."""
    op, names = layer.op, _names(layer)

    @invariant(
        f"{op}.equals_composition_of_cells",
        term=layer.term,
        statement=f"{op} equals {layer.cell} applied step after step with the same weights, each step starting "
        "from the states the step before returned (from the last step to the first with reverse=True), within "
        "the two computations' bounds.",
        ops=(op, layer.cell),
        cases=lambda d: _cases(layer, d),
    )
    def composition(bk: Backend, dtype: str, **case: Any) -> None:
        got = _call(bk, layer, dtype, case)
        steps = len(case["x"][0])
        order = range(steps - 1, -1, -1) if case["reverse"] else range(steps)
        x = np.asarray(case["x"], dtype=np.float64)
        state = [bk.asarray(case[s], dtype) for s in layer.states]
        weights = {k: bk.asarray(case[k], dtype) for k in ("w_ih", "w_hh", "b_ih", "b_hh")}
        outputs: list[Any] = [None] * steps
        for t in order:
            out = getattr(bk, layer.cell)(bk.asarray(x[:, t].tolist(), dtype), *state, **weights)
            state = list(out) if isinstance(out, tuple) else [out]
            outputs[t] = as_float64(bk, state[0])
        composed = [np.stack(outputs, axis=1), *(as_float64(bk, s) for s in state)]
        tol = tolerances.relative(dtype, "rounded")
        for name, g, c, b in zip(names, got, composed, _bounds(layer, dtype, case), strict=True):
            assert_close(g, c, tol, f"{op} {name} vs {layer.cell} step by step", extra=b)

    @invariant(
        f"{op}.causal",
        term=layer.term,
        statement=f"An output of {op} does not depend on the inputs read after it: forward, outputs[:, :s] do not "
        "change when x[:, s:] changes; with reverse=True, outputs[:, s:] do not change when x[:, :s] changes.",
        cases=lambda d: _cases(
            layer,
            d,
            min_steps=2,
            x_other=lambda dt, n, t, i, _h: float_arrays(dt, (n, t, i), min_value=-2.0, max_value=2.0),
            split=lambda _dt, _n, t, _i, _h: st.integers(1, t - 1),
        ),
    )
    def causal(bk: Backend, dtype: str, x_other: Any, split: int, **case: Any) -> None:
        x, other = np.asarray(case["x"], dtype=np.float64), np.asarray(x_other, dtype=np.float64)
        if case["reverse"]:  # read last to first: the outputs from split on are read before x[:, :split]
            mixed, kept = np.concatenate([other[:, :split], x[:, split:]], axis=1), slice(split, None)
        else:
            mixed, kept = np.concatenate([x[:, :split], other[:, split:]], axis=1), slice(0, split)
        outputs = _call(bk, layer, dtype, case)[0]
        changed = _call(bk, layer, dtype, case, x=mixed.tolist())[0]
        where = f"outputs[:, {kept.start or 0}:{kept.stop or ''}] after the inputs read later changed"
        assert_close(changed[:, kept], outputs[:, kept], tolerances.forward(dtype), where)

    @invariant(
        f"{op}.last_output_is_h_n",
        term=layer.term,
        statement=f"h_n, the state {op} returns, is the output of the step read last: outputs[:, −1], or "
        "outputs[:, 0] with reverse=True.",
        cases=lambda d: _cases(layer, d),
    )
    def last_output(bk: Backend, dtype: str, **case: Any) -> None:
        outputs, h_n = _call(bk, layer, dtype, case)[:2]
        last = outputs[:, 0] if case["reverse"] else outputs[:, -1]
        assert_shape(h_n, last.shape, "h_n")
        position = "0" if case["reverse"] else "−1"
        assert_that(h_n == last, f"h_n differs from outputs[:, {position}]", h_n=h_n, last_read=last)

    @invariant(
        f"{op}.reverse_is_flipped_forward",
        term=layer.term,
        statement=f"{op}(x, reverse=True) is the forward layer on the time-reversed sequence with its outputs "
        "reversed back: flip(outputs(flip(x))), with the same final states.",
        cases=lambda d: _cases(layer, d),
    )
    def reverse_is_flipped(bk: Backend, dtype: str, **case: Any) -> None:
        backward = _call(bk, layer, dtype, case, reverse=True)
        flipped = np.asarray(case["x"], dtype=np.float64)[:, ::-1].tolist()
        forward = _call(bk, layer, dtype, case, x=flipped, reverse=False)
        forward[0] = forward[0][:, ::-1]
        bounds = _bounds(layer, dtype, {**case, "reverse": True})
        tol = tolerances.relative(dtype, "rounded")
        for name, b, f, e in zip(names, backward, forward, bounds, strict=True):
            assert_close(b, f, tol, f"{op} {name}: reverse=True vs flipped forward", extra=e)


_register(LSTM)
_register(GRU)


def _saturated(b: Any, gates: int, block: int, value: float) -> list[float]:
    """The bias ``b`` (gates·H,) with the H entries of ``block`` set to ``value``."""
    out = np.asarray(b, dtype=np.float64).copy()
    hidden = len(out) // gates
    out[block * hidden : (block + 1) * hidden] = value
    return out.tolist()


@invariant(
    "lstm.saturated_gates_carry_the_cell_state",
    term="long-short-term-memory",
    statement="With the forget gate saturated open (b_f = +40) and the input gate shut (b_i = −40), the cell "
    "state passes the whole sequence unchanged: c_n = c0 (PyTorch's gate order i, f, g, o), in both directions.",
    cases=lstm_cases,
)
def lstm_carries_state(bk: Backend, dtype: str, **case: Any) -> None:
    b_ih = _saturated(_saturated(case["b_ih"], 4, 0, -SATURATED), 4, 1, SATURATED)
    c_n = _call(bk, LSTM, dtype, case, b_ih=b_ih)[2]
    assert_close(c_n, np.asarray(case["c0"], dtype=np.float64), tolerances.forward(dtype), "c_n with f = 1, i = 0")


@invariant(
    "gru.saturated_update_gate_keeps_the_state",
    term="gated-recurrent-unit",
    statement="With the update gate saturated at 1 (b_z = +40), every step keeps the state: every output and "
    "h_n equal h0 (PyTorch's gate order r, z, n), up to each step's rounding of the terms, T·2u·(|h0| + 1).",
    cases=gru_cases,
)
def gru_keeps_state(bk: Backend, dtype: str, **case: Any) -> None:
    outputs, h_n = _call(bk, GRU, dtype, case, b_ih=_saturated(case["b_ih"], 3, 1, SATURATED))
    h0 = np.asarray(case["h0"], dtype=np.float64)
    # Each step may compute n + z·(h − n), which rounds h − n and the sum (the cell's invariant: 2u·(|h| + |n|),
    # |n| < 1), and starts from the state the step before rounded: T such roundings at most.
    rounding = len(case["x"][0]) * 2 * tolerances.UNIT_ROUNDOFF[dtype] * (np.abs(h0) + 1.0)
    tol = tolerances.forward(dtype)
    assert_close(h_n, h0, tol, "h_n with z = 1", extra=rounding)
    kept = np.broadcast_to(h0[:, None, :], outputs.shape)
    assert_close(outputs, kept, tol, "outputs with z = 1", extra=np.broadcast_to(rounding[:, None, :], outputs.shape))
