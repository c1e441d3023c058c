"""The recurrent neural network (Elman RNN, tanh), its backward pass through time, and its four modes.

Seed section: *a basic understanding of RNNs*. Layout as in
``torch.nn.RNN(batch_first=True)``: a sequence ``x`` has shape ``(N, T, in)``
(batch, time steps, input features), the hidden state ``h`` has shape
``(N, H)``, ``w_ih`` is ``(H, in)``, ``w_hh`` is ``(H, H)`` and the two biases
are ``(H,)``. One step of the cell is

.. math:: h_t = \\tanh(x_t W_{ih}^\\top + b_{ih} + h_{t-1} W_{hh}^\\top + b_{hh})

and :func:`rnn` applies it for ``t = 1 … T`` with the *same* weights. Its
backward pass, :func:`rnn_vjp`, is backpropagation through time: the chain of
the cell's VJPs (:func:`rnn_cell_vjp`) from the last step to the first, the
gradient of the hidden state carried from one step to the one before.

The four input/output modes of the seed (one-to-one, one-to-many,
many-to-one, many-to-many) are thin compositions of :func:`rnn_cell` /
:func:`rnn` with a linear readout ``y = h W_outᵀ + b_out``
(:func:`dlterms.reference.layers.linear`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ._exact import exact_sum
from ._tensor import Nested, Shape, integer, tensor, unflatten
from .layers import linear

__all__ = [
    "rnn",
    "rnn_cell",
    "rnn_cell_vjp",
    "rnn_many_to_many",
    "rnn_many_to_one",
    "rnn_one_to_many",
    "rnn_one_to_one",
    "rnn_vjp",
]

Matrix = list[list[float]]  # rows


# --- checking the arguments ------------------------------------------------------


def _rows(flat: list[float], n_rows: int, n_cols: int) -> Matrix:
    return [flat[i * n_cols : (i + 1) * n_cols] for i in range(n_rows)]


def _input(fn: str, name: str, value: object, dims: str) -> tuple[Shape, list[float]]:
    """A tensor of shape ``dims`` ("(N, in)" or "(N, T, in)") whose batch and time sizes are >= 1."""
    shape, flat = tensor(fn, name, value)
    rank = dims.count(",") + 1
    if len(shape) != rank or 0 in shape[: rank - 1]:
        sizes = "N >= 1 and T >= 1" if rank == 3 else "N >= 1"
        raise ValueError(f"{fn}: {name}.shape={shape}; expected a tensor of rank {rank}, shape {dims} with {sizes}")
    return shape, flat


def _param(fn: str, name: str, value: object, expected: Shape, dims: str, why: str) -> list[float]:
    shape, flat = tensor(fn, name, value)
    if shape != expected:
        raise ValueError(f"{fn}: {name}.shape={shape}; expected {dims} = {expected} ({why})")
    return flat


@dataclass(frozen=True)
class _Weights:
    """The cell's parameters, checked: ``w_ih`` (H, in), ``w_hh`` (H, H), biases (H,)."""

    w_ih: Matrix
    w_hh: Matrix
    b_ih: list[float]
    b_hh: list[float]

    @property
    def hidden(self) -> int:
        return len(self.w_hh)


def _weights(
    fn: str, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested, n_in: int, hidden: int, why: str
) -> _Weights:
    why_ih = f"{why} and in = {n_in} from x"
    return _Weights(
        w_ih=_rows(_param(fn, "w_ih", w_ih, (hidden, n_in), "(H, in)", why_ih), hidden, n_in),
        w_hh=_rows(_param(fn, "w_hh", w_hh, (hidden, hidden), "(H, H)", why), hidden, hidden),
        b_ih=_param(fn, "b_ih", b_ih, (hidden,), "(H,)", why),
        b_hh=_param(fn, "b_hh", b_hh, (hidden,), "(H,)", why),
    )


def _hidden(fn: str, name: str, value: object, n: int, x_shape: Shape) -> tuple[int, Matrix]:
    shape, flat = tensor(fn, name, value)
    if len(shape) != 2 or shape[0] != n or shape[1] == 0:
        raise ValueError(
            f"{fn}: {name}.shape={shape}; expected (N, H) = ({n}, H) with H >= 1 (N = {n} from x.shape={x_shape})"
        )
    return shape[1], _rows(flat, n, shape[1])


def _cell_args(
    fn: str, x: Nested, h: Nested, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested, h_name: str = "h"
) -> tuple[Matrix, Matrix, _Weights]:
    x_shape, x_flat = _input(fn, "x", x, "(N, in)")
    n, n_in = x_shape
    hidden, h_rows = _hidden(fn, h_name, h, n, x_shape)
    p = _weights(fn, w_ih, w_hh, b_ih, b_hh, n_in, hidden, f"H = {hidden} from {h_name}.shape=({n}, {hidden})")
    return _rows(x_flat, n, n_in), h_rows, p


def _sequence_args(
    fn: str, x: Nested, h0: Nested, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested
) -> tuple[list[Matrix], Matrix, _Weights]:
    """``x`` as T matrices ``x_t`` of shape (N, in), then ``h0`` and the weights."""
    x_shape, x_flat = _input(fn, "x", x, "(N, T, in)")
    n, steps, n_in = x_shape
    hidden, h_rows = _hidden(fn, "h0", h0, n, x_shape)
    p = _weights(fn, w_ih, w_hh, b_ih, b_hh, n_in, hidden, f"H = {hidden} from h0.shape=({n}, {hidden})")
    xs = [[x_flat[(i * steps + t) * n_in : (i * steps + t + 1) * n_in] for i in range(n)] for t in range(steps)]
    return xs, h_rows, p


# --- one step of the cell --------------------------------------------------------------


def _preactivation(x: Matrix, h: Matrix, p: _Weights) -> Matrix:
    """``a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh``, each entry one correctly rounded sum."""
    # One fsum over all the products and both biases: the pre-activation stays exact to
    # one rounding even when the terms cancel (tanh is steepest near 0). exact_sum is fsum
    # with IEEE results for infinities and overflow.
    return [
        [
            exact_sum(
                [
                    *(xk * wk for xk, wk in zip(xi, p.w_ih[j], strict=True)),
                    p.b_ih[j],
                    *(hk * wk for hk, wk in zip(hi, p.w_hh[j], strict=True)),
                    p.b_hh[j],
                ]
            )
            for j in range(p.hidden)
        ]
        for xi, hi in zip(x, h, strict=True)
    ]


def _cell(x: Matrix, h: Matrix, p: _Weights) -> Matrix:
    return [[math.tanh(a) for a in row] for row in _preactivation(x, h, p)]


def _cell_backward(
    x: Matrix, h: Matrix, p: _Weights, g: Matrix
) -> tuple[Matrix, Matrix, Matrix, Matrix, list[float], list[float]]:
    """The cell's VJP on checked arguments: ``(dx, dh, dw_ih, dw_hh, db_ih, db_hh)``."""
    # tanh' = 1 - tanh², evaluated on the new state h_t = tanh(a).
    da = [
        [gj * (1.0 - hj * hj) for gj, hj in zip(gi, hi, strict=True)] for gi, hi in zip(g, _cell(x, h, p), strict=True)
    ]
    n, hidden = len(x), p.hidden
    n_in = len(p.w_ih[0]) if p.w_ih else 0
    dx = [[exact_sum([da[i][j] * p.w_ih[j][k] for j in range(hidden)]) for k in range(n_in)] for i in range(n)]
    dh = [[exact_sum([da[i][j] * p.w_hh[j][k] for j in range(hidden)]) for k in range(hidden)] for i in range(n)]
    dw_ih = [[exact_sum([da[i][j] * x[i][k] for i in range(n)]) for k in range(n_in)] for j in range(hidden)]
    dw_hh = [[exact_sum([da[i][j] * h[i][k] for i in range(n)]) for k in range(hidden)] for j in range(hidden)]
    db = [exact_sum([da[i][j] for i in range(n)]) for j in range(hidden)]
    return dx, dh, dw_ih, dw_hh, db, list(db)


def rnn_cell(x: Nested, h: Nested, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested) -> Nested:
    r"""One step of the Elman recurrent cell: the new hidden state from an input and the previous state.

    .. math:: h' = \tanh(x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh})

    Shapes: ``x`` (N, in), ``h`` (N, H), ``w_ih`` (H, in), ``w_hh`` (H, H),
    ``b_ih`` and ``b_hh`` (H,); returns ``h'`` (N, H). The two biases are
    PyTorch's convention (``torch.nn.RNNCell``); only their sum matters.
    With ``h = 0`` the cell is a dense layer with tanh. Citation: ``elman1990finding``.

    >>> rnn_cell([[1.0]], [[0.0]], [[0.5]], [[1.0]], [0.0], [0.0])
    [[0.46211715726000974]]
    """
    xs, hs, p = _cell_args("rnn_cell", x, h, w_ih, w_hh, b_ih, b_hh)
    return _cell(xs, hs, p)


def rnn_cell_vjp(
    x: Nested, h: Nested, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested, cotangent: Nested
) -> tuple[Nested, Nested, Nested, Nested, Nested, Nested]:
    r"""VJP of :func:`rnn_cell`: ``(dx, dh, dw_ih, dw_hh, db_ih, db_hh)`` for a cotangent ``g`` of shape (N, H).

    .. math:: \delta = g \odot (1 - h'^2),\quad dx = \delta W_{ih},\quad dh = \delta W_{hh},\quad
              dW_{ih} = \delta^\top x,\quad dW_{hh} = \delta^\top h,\quad db_{ih} = db_{hh} = \textstyle\sum_n \delta_n
    """
    fn = "rnn_cell_vjp"
    xs, hs, p = _cell_args(fn, x, h, w_ih, w_hh, b_ih, b_hh)
    n = len(xs)
    g = _rows(
        _param(fn, "cotangent", cotangent, (n, p.hidden), "(N, H)", "the shape of rnn_cell's output"), n, p.hidden
    )
    return _cell_backward(xs, hs, p, g)


# --- the network over a sequence ------------------------------------------------------------


def _forward(xs: list[Matrix], h0: Matrix, p: _Weights) -> list[Matrix]:
    """The hidden states ``[h_0, h_1, …, h_T]`` (``h_0`` the initial state)."""
    states = [h0]
    for x_t in xs:
        states.append(_cell(x_t, states[-1], p))
    return states


def _batch_first(states: list[Matrix]) -> Nested:
    """T matrices (N, H) as one nested list (N, T, H)."""
    return [[h_t[i] for h_t in states] for i in range(len(states[0]))]


def rnn(x: Nested, h0: Nested, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested) -> tuple[Nested, Nested]:
    r"""An Elman recurrent network (one layer, tanh) over a batch of sequences, batch first.

    .. math:: h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}),\qquad t = 1, \dots, T

    ``x`` (N, T, in), ``h0`` (N, H), ``w_ih`` (H, in), ``w_hh`` (H, H),
    ``b_ih`` and ``b_hh`` (H,). Returns ``(outputs, h_n)``: every step's
    hidden state (N, T, H) and the last one (N, H), as
    ``torch.nn.RNN(batch_first=True)`` does for one layer (whose ``h0`` and
    ``h_n`` carry an extra leading axis of size 1). The same weights serve
    every step, so the network takes sequences of any length.
    Citation: ``elman1990finding``.

    >>> outputs, h_n = rnn([[[1.0], [0.0]]], [[0.0]], [[0.5]], [[1.0]], [0.0], [0.0])
    >>> outputs  # tanh(0.5), then tanh(tanh(0.5)): the second step remembers the first input
    [[[0.46211715726000974], [0.4318081805950961]]]
    >>> h_n
    [[0.4318081805950961]]
    """
    xs, h0_rows, p = _sequence_args("rnn", x, h0, w_ih, w_hh, b_ih, b_hh)
    states = _forward(xs, h0_rows, p)
    return _batch_first(states[1:]), states[-1]


def _cotangent_pair(fn: str, cotangent: object, n: int, steps: int, hidden: int) -> tuple[list[Matrix], Matrix]:
    """``(d_outputs, d_h_n)`` checked; ``None`` for either stands for zeros."""
    if not isinstance(cotangent, tuple | list) or len(cotangent) != 2:
        raise TypeError(
            f"{fn}: cotangent is {type(cotangent).__name__}; expected a pair (d_outputs, d_h_n) "
            f"of shapes (N, T, H) = {(n, steps, hidden)} and (N, H) = {(n, hidden)}"
        )
    d_out, d_hn = cotangent
    if d_out is None:
        d_out = [[[0.0] * hidden for _ in range(steps)] for _ in range(n)]
    if d_hn is None:
        d_hn = [[0.0] * hidden for _ in range(n)]
    # Say where N, T and H come from, so a mismatch caused by x or h0 names them too.
    why = "the shape of rnn's output: N and T from x, H from h0"
    flat = _param(fn, "cotangent[0] (d_outputs)", d_out, (n, steps, hidden), "(N, T, H)", why)
    g_out = [[flat[(i * steps + t) * hidden : (i * steps + t + 1) * hidden] for i in range(n)] for t in range(steps)]
    why_hn = "the shape of h_n: N from x, H from h0"
    g_hn = _rows(_param(fn, "cotangent[1] (d_h_n)", d_hn, (n, hidden), "(N, H)", why_hn), n, hidden)
    return g_out, g_hn


def _add(a: Matrix, b: Matrix) -> Matrix:
    return [[u + v for u, v in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]


def _sum_over_steps(terms: Sequence[Sequence[float]]) -> list[float]:
    # fsum across time steps: one rounding per entry however long the sequence.
    return [exact_sum(list(col)) for col in zip(*terms, strict=True)]


def rnn_vjp(
    x: Nested,
    h0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    cotangent: tuple[Nested | None, Nested | None],
) -> tuple[Nested, Nested, Nested, Nested, Nested, Nested]:
    r"""Backpropagation through time: the VJP of :func:`rnn`, ``(dx, dh0, dw_ih, dw_hh, db_ih, db_hh)``.

    ``cotangent = (d_outputs, d_h_n)`` of shapes (N, T, H) and (N, H); either
    may be ``None`` (zeros). Walking back from the last step, the gradient
    reaching ``h_t`` is what the loss sends to the output at ``t`` plus what
    step ``t + 1`` sends back through ``W_hh``:

    .. math:: \bar h_T = \bar y_T + \bar h_n,\qquad
              \bar h_{t-1} = \bar y_{t-1} + \big(\bar h_t \odot (1 - h_t^2)\big) W_{hh}

    and each step's :func:`rnn_cell_vjp` adds its share to the weight
    gradients, summed over the steps because every step uses the same
    weights. Citation: ``werbos1990backpropagation``.
    """
    fn = "rnn_vjp"
    xs, h0_rows, p = _sequence_args(fn, x, h0, w_ih, w_hh, b_ih, b_hh)
    n, steps = len(h0_rows), len(xs)
    g_out, g_hn = _cotangent_pair(fn, cotangent, n, steps, p.hidden)
    states = _forward(xs, h0_rows, p)
    dx: list[Matrix] = [[] for _ in range(steps)]
    dw_ih, dw_hh, db_ih, db_hh = [], [], [], []
    dh = g_hn
    for t in reversed(range(steps)):
        # states[t] is h_{t-1}, the state step t starts from; states[t + 1] is its output.
        step = _cell_backward(xs[t], states[t], p, _add(g_out[t], dh))
        dx[t], dh = step[0], step[1]
        dw_ih.append([v for row in step[2] for v in row])
        dw_hh.append([v for row in step[3] for v in row])
        db_ih.append(step[4])
        db_hh.append(step[5])
    n_in = len(p.w_ih[0]) if p.w_ih else 0
    return (
        _batch_first(dx),
        dh,
        unflatten(_sum_over_steps(dw_ih), (p.hidden, n_in)),
        unflatten(_sum_over_steps(dw_hh), (p.hidden, p.hidden)),
        _sum_over_steps(db_ih),
        _sum_over_steps(db_hh),
    )


# --- the four modes of the seed ---------------------------------------------------------------


def _readout(fn: str, h: Nested, hidden: int, w_out: Nested, b_out: Nested | None) -> Nested:
    """``linear(h, w_out, b_out)`` after checking ``w_out`` (out, H) and ``b_out`` (out,) by name."""
    shape, _ = tensor(fn, "w_out", w_out)
    if len(shape) != 2 or shape[1] != hidden:
        raise ValueError(f"{fn}: w_out.shape={shape}; expected (out, H) with H = {hidden} from h0")
    if b_out is not None:
        _param(fn, "b_out", b_out, (shape[0],), "(out,)", f"out = {shape[0]} from w_out.shape={shape}")
    return linear(h, w_out, b_out)


def rnn_one_to_one(
    x: Nested,
    h0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    w_out: Nested,
    b_out: Nested | None = None,
) -> Nested:
    r"""One-to-one: one input (N, in) gives one output (N, out); a single step and a readout.

    .. math:: y = \tanh(x W_{ih}^\top + b_{ih} + h_0 W_{hh}^\top + b_{hh})\, W_{out}^\top + b_{out}

    Nothing recurs: with ``h0 = 0`` this is a feedforward network with one
    tanh hidden layer (Karpathy's "vanilla mode of processing without RNN",
    e.g. image classification). Citation: ``karpathy2015unreasonable``.

    >>> rnn_one_to_one([[1.0]], [[0.0]], [[0.5]], [[1.0]], [0.0], [0.0], [[2.0]])
    [[0.9242343145200195]]
    """
    fn = "rnn_one_to_one"
    xs, h0_rows, p = _cell_args(fn, x, h0, w_ih, w_hh, b_ih, b_hh, h_name="h0")
    return _readout(fn, _cell(xs, h0_rows, p), p.hidden, w_out, b_out)


def rnn_one_to_many(
    x: Nested,
    steps: int,
    h0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    w_out: Nested,
    b_out: Nested | None = None,
) -> Nested:
    r"""One-to-many: one input (N, in) gives a sequence of ``steps`` outputs (N, steps, out).

    The input is fed at the first step and **zeros** at the later ones, so
    the later outputs come from the hidden state alone (as in image
    captioning, where the image enters once). Every step's state goes
    through the readout:

    .. math:: (x_1, x_2, \dots, x_S) = (x, 0, \dots, 0),\qquad y_t = h_t W_{out}^\top + b_{out}

    (Generation that feeds each output back as the next input is the other
    common choice; it needs ``out == in`` and is not this function.)
    Citation: ``karpathy2015unreasonable``.

    >>> rnn_one_to_many([[1.0]], 2, [[0.0]], [[0.5]], [[1.0]], [0.0], [0.0], [[1.0]])
    [[[0.46211715726000974], [0.4318081805950961]]]
    """
    fn = "rnn_one_to_many"
    steps = integer(fn, "steps", steps, minimum=1)
    shape, flat = _input(fn, "x", x, "(N, in)")
    n, n_in = shape
    zeros = [0.0] * n_in
    sequence = [[flat[i * n_in : (i + 1) * n_in]] + [list(zeros) for _ in range(steps - 1)] for i in range(n)]
    xs, h0_rows, p = _sequence_args(fn, sequence, h0, w_ih, w_hh, b_ih, b_hh)
    return _readout(fn, _batch_first(_forward(xs, h0_rows, p)[1:]), p.hidden, w_out, b_out)


def rnn_many_to_one(
    x: Nested,
    h0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    w_out: Nested,
    b_out: Nested | None = None,
) -> Nested:
    r"""Many-to-one: a sequence (N, T, in) gives one output (N, out), read from the last hidden state.

    .. math:: y = h_T W_{out}^\top + b_{out}

    As in sentiment classification of a sentence: the last state summarises
    the whole sequence. Citation: ``karpathy2015unreasonable``.

    >>> rnn_many_to_one([[[1.0], [0.0]]], [[0.0]], [[0.5]], [[1.0]], [0.0], [0.0], [[1.0]], [0.5])
    [[0.9318081805950962]]
    """
    fn = "rnn_many_to_one"
    xs, h0_rows, p = _sequence_args(fn, x, h0, w_ih, w_hh, b_ih, b_hh)
    return _readout(fn, _forward(xs, h0_rows, p)[-1], p.hidden, w_out, b_out)


def rnn_many_to_many(
    x: Nested,
    h0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    w_out: Nested,
    b_out: Nested | None = None,
) -> Nested:
    r"""Many-to-many: a sequence (N, T, in) gives a sequence (N, T, out), one output per step.

    .. math:: y_t = h_t W_{out}^\top + b_{out},\qquad t = 1, \dots, T

    The synced form (tagging every frame of a video or every word, or
    predicting the next word at each step); ``y_t`` depends on ``x_1 … x_t``
    only. Citation: ``karpathy2015unreasonable``.

    >>> rnn_many_to_many([[[1.0], [0.0]]], [[0.0]], [[0.5]], [[1.0]], [0.0], [0.0], [[-1.0]])
    [[[-0.46211715726000974], [-0.4318081805950961]]]
    """
    fn = "rnn_many_to_many"
    xs, h0_rows, p = _sequence_args(fn, x, h0, w_ih, w_hh, b_ih, b_hh)
    return _readout(fn, _batch_first(_forward(xs, h0_rows, p)[1:]), p.hidden, w_out, b_out)
