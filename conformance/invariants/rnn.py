"""Invariants of the recurrent neural network (seed section: a basic understanding of RNNs).

Cases are small (N ≤ 2, T ≤ 4, in ≤ 3, H ≤ 3) so that the pure-Python
reference stays fast, and weights lie in [−1, 1] so that tanh is not
saturated everywhere: the pre-activation is then at most
3·2 + 1 + 3·1 + 1 = 11 in magnitude, and mostly far less.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_shape, assert_that
from ..registry import invariant, register_ops
from ..strategies import float_arrays
from .activations import TANH_SATURATION

_ARGS = op_records.OPS["rnn"].arg_names  # x, h0, w_ih, w_hh, b_ih, b_hh

# Comparisons of values (with the reference, or between two ways of computing the same step)
# hold in every dtype under the recurrence's bound (tolerances.ACCUMULATION["recurrence"]):
# each step rounds in + H + 2 products and sums and feeds the rounded state into the next, so
# where a pre-activation cancels the error of a small output is set by the size of its terms,
# propagated through |W_hh|, not by the output.


def _sizes(min_steps: int = 1, max_steps: int = 4) -> st.SearchStrategy[tuple[int, int, int, int]]:
    """``(N, T, in, H)``."""
    return st.tuples(st.integers(1, 2), st.integers(min_steps, max_steps), st.integers(1, 3), st.integers(1, 3))


def _network(dtype: str, n: int, steps: int, n_in: int, hidden: int, *, x_max: float = 2.0) -> dict[str, Any]:
    """Strategies for the six arguments of ``rnn`` with the given sizes."""
    return {
        "x": float_arrays(dtype, (n, steps, n_in), min_value=-x_max, max_value=x_max),
        "h0": float_arrays(dtype, (n, hidden), min_value=-1.0, max_value=1.0),  # a state of tanh: in [−1, 1]
        "w_ih": float_arrays(dtype, (hidden, n_in), min_value=-1.0, max_value=1.0),
        "w_hh": float_arrays(dtype, (hidden, hidden), min_value=-1.0, max_value=1.0),
        "b_ih": float_arrays(dtype, (hidden,), min_value=-1.0, max_value=1.0),
        "b_hh": float_arrays(dtype, (hidden,), min_value=-1.0, max_value=1.0),
    }


def rnn_cases(dtype: str, *, min_steps: int = 1, x_max: float = 2.0) -> st.SearchStrategy[dict[str, Any]]:
    """``{x, h0, w_ih, w_hh, b_ih, b_hh}`` of consistent random sizes."""
    return _sizes(min_steps).flatmap(lambda s: st.fixed_dictionaries(_network(dtype, *s, x_max=x_max)))


def _call(bk: Backend, dtype: str, case: dict[str, Any], **replace: Any) -> tuple[np.ndarray, np.ndarray]:
    """``bk.rnn`` on the case (with some arguments replaced), as float64 arrays."""
    args = {k: bk.asarray(replace.get(k, case[k]), dtype) for k in _ARGS}
    outputs, h_n = bk.rnn(**args)
    return as_float64(bk, outputs), as_float64(bk, h_n)


register_ops(op_records.rnn.OPS)


# --- the hidden state ----------------------------------------------------------------------


def _preactivations(case: dict[str, Any]) -> np.ndarray:
    """The exact pre-activations a_t (N, T, H), from the float64 reference's states."""
    outputs, _ = reference.rnn(**{k: case[k] for k in _ARGS})
    h = np.concatenate([np.asarray(case["h0"])[:, None, :], np.asarray(outputs)[:, :-1, :]], axis=1)
    x, w_ih, w_hh = (np.asarray(case[k]) for k in ("x", "w_ih", "w_hh"))
    return x @ w_ih.T + np.asarray(case["b_ih"]) + h @ w_hh.T + np.asarray(case["b_hh"])


@invariant(
    "rnn.hidden_state_range",
    term="hidden-state",
    statement="Every hidden state lies in [−1, 1], and strictly inside (−1, 1) wherever the exact "
    "tanh of its pre-activation is not rounded to ±1 in the dtype (as tanh.range_open_interval).",
    # Inputs up to ±6 so that some pre-activations saturate and some do not.
    cases=lambda d: rnn_cases(d, x_max=6.0),
)
def rnn_hidden_state_range(bk: Backend, dtype: str, **case: Any) -> None:
    outputs, h_n = _call(bk, dtype, case)
    assert_that(np.abs(outputs) <= 1, "a hidden state lies outside [-1, 1]", outputs=outputs)
    assert_that(np.abs(h_n) <= 1, "h_n lies outside [-1, 1]", h_n=h_n)
    inner = np.abs(_preactivations(case)) <= TANH_SATURATION[dtype]
    assert_that(
        ~inner | (np.abs(outputs) < 1),
        "a hidden state hit ±1 for a moderate pre-activation",
        outputs=outputs,
        preactivations=_preactivations(case),
    )


@invariant(
    "rnn.last_output_is_final_state",
    term="hidden-state",
    statement="h_n, the final hidden state, equals the output at the last time step, outputs[:, −1].",
    cases=rnn_cases,
)
def rnn_last_output(bk: Backend, dtype: str, **case: Any) -> None:
    outputs, h_n = _call(bk, dtype, case)
    assert_shape(h_n, (outputs.shape[0], outputs.shape[2]), "h_n")
    assert_that(h_n == outputs[:, -1], "h_n differs from outputs[:, -1]", h_n=h_n, last_output=outputs[:, -1])


def _memory_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """An rnn case plus ``x_first``, a different first input, that exactly changes the last output by ≥ 0.1."""

    def build(s: tuple[int, int, int, int]) -> st.SearchStrategy[dict[str, Any]]:
        n, steps, n_in, hidden = s
        fields = _network(dtype, n, steps, n_in, hidden, x_max=1.0)
        # Recurrent and input weights away from 0 so that the first input can reach the last step.
        fields["w_hh"] = float_arrays(dtype, (hidden, hidden), min_value=-1.0, max_value=1.0, away_from=0.0, margin=0.3)
        fields["w_ih"] = float_arrays(dtype, (hidden, n_in), min_value=-1.0, max_value=1.0, away_from=0.0, margin=0.3)
        fields["x_first"] = float_arrays(dtype, (n, n_in), min_value=-1.0, max_value=1.0)
        return st.fixed_dictionaries(fields)

    return _sizes(min_steps=2).flatmap(build).filter(lambda c: _exact_memory_effect(c) >= 0.1)


def _with_first(x: Any, x_first: Any) -> list[Any]:
    return [[first, *seq[1:]] for seq, first in zip(x, x_first, strict=True)]


def _exact_memory_effect(case: dict[str, Any]) -> float:
    args = {k: case[k] for k in _ARGS}
    _, h_n = reference.rnn(**args)
    _, h_n_changed = reference.rnn(**{**args, "x": _with_first(case["x"], case["x_first"])})
    return float(np.max(np.abs(np.asarray(h_n) - np.asarray(h_n_changed))))


@invariant(
    "rnn.remembers_earlier_inputs",
    term="hidden-state",
    statement="The hidden state carries memory: with non-zero recurrent weights, changing only the "
    "first input changes the last output (by at least 0.05 where the exact change is at least 0.1).",
    cases=_memory_cases,
)
def rnn_memory(bk: Backend, dtype: str, x_first: Any, **case: Any) -> None:
    outputs, _ = _call(bk, dtype, case)
    changed, _ = _call(bk, dtype, case, x=_with_first(case["x"], x_first))
    change = np.max(np.abs(changed[:, -1] - outputs[:, -1]))
    assert_that(
        change >= 0.05,
        "changing the first input did not change the last output: the network forgets",
        change=float(change),
        exact_change=_exact_memory_effect({**case, "x_first": x_first}),
    )


# --- the recurrent network ------------------------------------------------------------------


def _causal_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """An rnn case plus ``x_future`` (other inputs) and a step ``t`` after which they replace ``x``."""

    def build(s: tuple[int, int, int, int]) -> st.SearchStrategy[dict[str, Any]]:
        n, steps, n_in, hidden = s
        fields = _network(dtype, n, steps, n_in, hidden)
        fields["x_future"] = float_arrays(dtype, (n, steps, n_in), min_value=-2.0, max_value=2.0)
        fields["t"] = st.integers(0, steps - 2)
        return st.fixed_dictionaries(fields)

    return _sizes(min_steps=2).flatmap(build)


@invariant(
    "rnn.causal",
    term="recurrent-neural-network",
    statement="The outputs up to step t do not change when the inputs after step t change "
    "(the network reads the sequence forward in time).",
    cases=_causal_cases,
)
def rnn_causal(bk: Backend, dtype: str, x_future: Any, t: int, **case: Any) -> None:
    x = np.asarray(case["x"])
    mixed = np.concatenate([x[:, : t + 1], np.asarray(x_future)[:, t + 1 :]], axis=1)
    outputs, _ = _call(bk, dtype, case)
    changed, _ = _call(bk, dtype, case, x=mixed.tolist())
    assert_close(
        changed[:, : t + 1],
        outputs[:, : t + 1],
        tolerances.forward(dtype),
        f"outputs[:, :{t + 1}] after x[:, {t + 1}:] changed",
    )


def _single_step_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    return _sizes(min_steps=1, max_steps=1).flatmap(lambda s: st.fixed_dictionaries(_network(dtype, *s)))


@invariant(
    "rnn.single_step_is_dense_tanh",
    term="recurrent-neural-network",
    statement="With one time step the RNN is a dense layer with tanh on the concatenated input: "
    "h₁ = tanh(linear([x₁, h₀, 1], [W_ih W_hh b_hh], b_ih)).",
    ops=("rnn", "linear", "tanh"),
    cases=_single_step_cases,
)
def rnn_single_step(bk: Backend, dtype: str, **case: Any) -> None:
    outputs, _ = _call(bk, dtype, case)
    x1, h0 = np.asarray(case["x"])[:, 0], np.asarray(case["h0"])
    # b_hh rides on a constant input of 1, so no sum of two biases is rounded to the dtype.
    xh = np.concatenate([x1, h0, np.ones((len(h0), 1))], axis=1)
    w = np.concatenate([np.asarray(case["w_ih"]), np.asarray(case["w_hh"]), np.asarray(case["b_hh"])[:, None]], axis=1)
    dense = bk.tanh(
        bk.linear(bk.asarray(xh.tolist(), dtype), bk.asarray(w.tolist(), dtype), bk.asarray(case["b_ih"], dtype))
    )
    # Both sides compute h₁ = tanh(a₁): each within the step's bound of the exact value (the
    # recurrence's first step; the dense layer's dot product plus tanh's rounding, tanh' ≤ 1).
    ref_outputs, ref_h_n = (np.asarray(v, dtype=np.float64) for v in reference.rnn(**{k: case[k] for k in _ARGS}))
    (e_rnn, _) = tolerances.accumulation("recurrence", case, [ref_outputs, ref_h_n], dtype)
    layer = {"x": xh, "weight": w, "bias": case["b_ih"]}
    (e_dense,) = tolerances.accumulation("dot_product", layer, [ref_outputs[:, 0]], dtype)
    bound = e_rnn[:, 0] + e_dense + tolerances.K * tolerances.UNIT_ROUNDOFF[dtype] * np.abs(ref_outputs[:, 0])
    assert_close(
        outputs[:, 0],
        as_float64(bk, dense),
        tolerances.relative(dtype, "rounded"),
        "rnn step 1 vs tanh(dense layer)",
        extra=bound,
    )


# --- the four modes of the seed -------------------------------------------------------------


def _mode_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """An rnn case plus a readout ``w_out`` (out, H), ``b_out`` (out,) and ``steps`` for one-to-many."""

    def build(s: tuple[int, int, int, int, int]) -> st.SearchStrategy[dict[str, Any]]:
        n, steps, n_in, hidden, n_out = s
        fields = _network(dtype, n, steps, n_in, hidden)
        fields["w_out"] = float_arrays(dtype, (n_out, hidden), min_value=-1.0, max_value=1.0)
        fields["b_out"] = float_arrays(dtype, (n_out,), min_value=-1.0, max_value=1.0)
        fields["steps"] = st.integers(1, 4)
        return st.fixed_dictionaries(fields)

    return st.tuples(*(st.integers(lo, hi) for lo, hi in ((1, 2), (1, 4), (1, 3), (1, 3), (1, 3)))).flatmap(build)


def _readout(bk: Backend, dtype: str, h: np.ndarray, case: dict[str, Any]) -> np.ndarray:
    w_out, b_out = bk.asarray(case["w_out"], dtype), bk.asarray(case["b_out"], dtype)
    return as_float64(bk, bk.linear(bk.asarray(h.tolist(), dtype), w_out, b_out))


def _readout_bound(dtype: str, case: dict[str, Any], sequence: Any, states: str, expected: Any) -> np.ndarray:
    """What the recurrence (over ``sequence``) and the readout of its ``states`` may add to a mode's output.

    The states' bound (``tolerances.ACCUMULATION["recurrence"]``) passed through |W_out|, plus the
    readout's own dot product (``"dot_product"``) on the reference's states.
    """
    net = {**{k: case[k] for k in _ARGS}, "x": sequence}
    outputs, h_n = (np.asarray(v, dtype=np.float64) for v in reference.rnn(**net))
    e_outputs, e_h_n = tolerances.accumulation("recurrence", net, [outputs, h_n], dtype)
    h, e = (outputs, e_outputs) if states == "outputs" else (h_n, e_h_n)
    y = np.asarray(expected, dtype=np.float64)
    readout = {"x": h, "weight": case["w_out"], "bias": case["b_out"]}
    (dot,) = tolerances.accumulation("dot_product", readout, [y], dtype)
    return e @ np.abs(np.asarray(case["w_out"], dtype=np.float64)).T + dot


def _check_mode(got: np.ndarray, expected: Any, shape: tuple[int, ...], dtype: str, inv: str, bound: Any) -> None:
    """The mode's output within the relative bound of the dtype plus what the recurrence and readout add."""
    assert_shape(got, shape, inv)
    assert_close(got, expected, tolerances.relative(dtype, "rounded"), inv, extra=bound)


def _net(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case[k] for k in (*_ARGS, "w_out", "b_out")}


@invariant(
    "rnn.one_to_one_output",
    term="rnn-one-to-one",
    statement="One-to-one: one input x (N, in) through one step and a readout gives one output of "
    "shape (N, out), equal to the reference rnn_one_to_one.",
    ops=("rnn", "linear"),
    cases=_mode_cases,
)
def rnn_one_to_one(bk: Backend, dtype: str, steps: int, **case: Any) -> None:
    x = np.asarray(case["x"])[:, 0]  # one input per example
    _, h_1 = _call(bk, dtype, case, x=x[:, None, :].tolist())
    y = _readout(bk, dtype, h_1, case)
    expected = reference.rnn_one_to_one(**{**_net(case), "x": x.tolist()})
    bound = _readout_bound(dtype, case, x[:, None, :].tolist(), "last", expected)
    _check_mode(y, expected, (x.shape[0], len(case["w_out"])), dtype, "rnn.one_to_one_output", bound)


@invariant(
    "rnn.one_to_many_output",
    term="rnn-one-to-many",
    statement="One-to-many: one input x (N, in), fed at the first step and zeros after, gives "
    "`steps` outputs of shape (N, steps, out), equal to the reference rnn_one_to_many.",
    ops=("rnn", "linear"),
    cases=_mode_cases,
)
def rnn_one_to_many(bk: Backend, dtype: str, steps: int, **case: Any) -> None:
    x = np.asarray(case["x"])[:, 0]
    sequence = np.zeros((x.shape[0], steps, x.shape[1]))
    sequence[:, 0] = x
    outputs, _ = _call(bk, dtype, case, x=sequence.tolist())
    y = _readout(bk, dtype, outputs, case)
    expected = reference.rnn_one_to_many(**{**_net(case), "x": x.tolist(), "steps": steps})
    bound = _readout_bound(dtype, case, sequence.tolist(), "outputs", expected)
    _check_mode(y, expected, (x.shape[0], steps, len(case["w_out"])), dtype, "rnn.one_to_many_output", bound)


@invariant(
    "rnn.many_to_one_output",
    term="rnn-many-to-one",
    statement="Many-to-one: a sequence x (N, T, in) read out from the last hidden state gives one "
    "output of shape (N, out), equal to the reference rnn_many_to_one.",
    ops=("rnn", "linear"),
    cases=_mode_cases,
)
def rnn_many_to_one(bk: Backend, dtype: str, steps: int, **case: Any) -> None:
    _, h_n = _call(bk, dtype, case)
    y = _readout(bk, dtype, h_n, case)
    expected = reference.rnn_many_to_one(**_net(case))
    bound = _readout_bound(dtype, case, case["x"], "last", expected)
    _check_mode(y, expected, (h_n.shape[0], len(case["w_out"])), dtype, "rnn.many_to_one_output", bound)


@invariant(
    "rnn.many_to_many_output",
    term="rnn-many-to-many",
    statement="Many-to-many: a sequence x (N, T, in) read out at every step gives a sequence of "
    "shape (N, T, out), equal to the reference rnn_many_to_many.",
    ops=("rnn", "linear"),
    cases=_mode_cases,
)
def rnn_many_to_many(bk: Backend, dtype: str, steps: int, **case: Any) -> None:
    outputs, _ = _call(bk, dtype, case)
    y = _readout(bk, dtype, outputs, case)
    expected = reference.rnn_many_to_many(**_net(case))
    bound = _readout_bound(dtype, case, case["x"], "outputs", expected)
    _check_mode(y, expected, (*outputs.shape[:2], len(case["w_out"])), dtype, "rnn.many_to_many_output", bound)
