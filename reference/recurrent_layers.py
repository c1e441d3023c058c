"""Gated recurrent layers over a sequence: LSTM and GRU, forward or reversed, with backpropagation through time.

Beyond the seed, section *recurrent neural networks*. Layout as in
``torch.nn.LSTM(batch_first=True)`` and ``torch.nn.GRU(batch_first=True)``
with one layer and one direction: a sequence ``x`` has shape ``(N, T, in)``,
the states ``h0`` (and the LSTM's ``c0``) shape ``(N, H)`` (PyTorch's carry
an extra leading axis of layers × directions), the weights are the cells'
(:mod:`dlterms.reference.gated_rnn`: gates i, f, g, o and r, z, n, two
biases). Each step is the public cell function, so the layer *is* the
composition of cells, with the same weights at every step.

``reverse=True`` reads the sequence from its last step to its first and
writes each step's output at the position of the input it read: this is the
backward direction of a bidirectional layer (PyTorch's second half of the
features, Keras' ``go_backwards=True`` once its outputs are flipped back).
A bidirectional layer is then ``concat(layer(x), layer(x, reverse=True))``
on the feature axis, each direction with its own weights (Schuster and
Paliwal 1997).

The VJPs walk the steps in the opposite order, chaining the cells' VJPs and
summing the weight gradients over the steps (each entry rounded once):
backpropagation through time (Werbos 1990).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ._exact import exact_sum
from ._tensor import Nested, Shape, on_behalf_of, tensor, unflatten
from .gated_rnn import gru_cell, gru_cell_vjp, lstm_cell, lstm_cell_vjp

__all__ = ["bidirectional_gru", "bidirectional_lstm", "gru", "gru_vjp", "lstm", "lstm_vjp"]

Matrix = list[list[float]]  # rows
_NOTE = "the cell's x is x[:, t], its h and c the states carried from the step before (h0 and c0 at the first)"


# --- checking the arguments ------------------------------------------------------


def _reverse(fn: str, reverse: object) -> bool:
    if not isinstance(reverse, bool):
        raise TypeError(f"{fn}: reverse is {type(reverse).__name__} {reverse!r}; expected a bool")
    return reverse


def _sequence(fn: str, x: Nested, states: dict[str, Nested]) -> tuple[list[Matrix], Shape, int]:
    """``x`` (N, T, in) as T matrices ``x[:, t]``; every state checked to be (N, H), one H for all."""
    x_shape, flat = tensor(fn, "x", x)
    if len(x_shape) != 3 or 0 in x_shape[:2]:
        raise ValueError(
            f"{fn}: x.shape={x_shape}; expected a tensor of rank 3, shape (N, T, in) with N >= 1 and T >= 1"
        )
    n, steps, n_in = x_shape
    hidden, first = -1, ""
    for name, value in states.items():
        shape, _ = tensor(fn, name, value)
        expected_h = "H >= 1" if hidden < 0 else f"H = {hidden} from {first}"
        if len(shape) != 2 or shape[0] != n or shape[1] == 0 or hidden not in (-1, shape[1]):
            raise ValueError(
                f"{fn}: {name}.shape={shape}; expected (N, H) with N = {n} from x.shape={x_shape} and {expected_h}"
            )
        hidden, first = shape[1], f"{name}.shape={shape}"
    xs = [[flat[(i * steps + t) * n_in : (i * steps + t + 1) * n_in] for i in range(n)] for t in range(steps)]
    return xs, x_shape, hidden


def _order(steps: int, reverse: bool) -> range:
    """The steps in the order the layer reads them."""
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _batch_first(per_step: Sequence[Matrix]) -> Nested:
    """T matrices (N, W) as one nested list (N, T, W), rows copied."""
    return [[list(m[i]) for m in per_step] for i in range(len(per_step[0]))]


def _cotangents(fn: str, cotangent: object, names: tuple[str, ...], shapes: tuple[Shape, ...]) -> list[Nested]:
    """The cotangent as a tuple of one tensor (or ``None``, zeros) per output, each checked against its shape."""
    if not isinstance(cotangent, tuple | list) or len(cotangent) != len(names):
        wanted = ", ".join(f"{n} {s}" for n, s in zip(names, shapes, strict=True))
        raise TypeError(f"{fn}: cotangent is {type(cotangent).__name__}; expected a tuple ({wanted})")
    out = []
    for i, (name, shape, value) in enumerate(zip(names, shapes, cotangent, strict=True)):
        if value is None:
            value = unflatten([0.0] * _size(shape), shape)
        got, _ = tensor(fn, f"cotangent[{i}] ({name})", value)
        if got != shape:
            raise ValueError(
                f"{fn}: cotangent[{i}] ({name}).shape={got}; expected {shape}, the shape of the output {name} "
                "(N and T from x, H from h0)"
            )
        out.append(value)
    return out


def _size(shape: Shape) -> int:
    size = 1
    for s in shape:
        size *= s
    return size


def _at(seq: Nested, t: int) -> Matrix:
    """``seq[:, t]`` of a nested (N, T, W)."""
    return [row[t] for row in seq]


def _add(a: Matrix, b: Matrix) -> Matrix:
    return [[exact_sum([u, v]) for u, v in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]


def _summed(per_step: list[Nested]) -> Nested:
    """The elementwise sum of same-shaped tensors, each entry rounded once."""

    def walk(items: list[Nested]) -> Nested:
        if isinstance(items[0], list):
            return [walk([it[k] for it in items]) for k in range(len(items[0]))]
        return exact_sum(list(items))

    return walk(per_step)


# --- LSTM ----------------------------------------------------------------------------


def lstm(
    x: Nested,
    h0: Nested,
    c0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    reverse: bool = False,
) -> tuple[Nested, Nested, Nested]:
    r"""A long short-term memory layer (one layer, batch first) over a sequence: ``(outputs, h_n, c_n)``.

    .. math:: (h_t, c_t) = \operatorname{lstm\_cell}(x_t, h_{t-1}, c_{t-1}),\quad t = 1, \dots, T

    ``x`` (N, T, in), ``h0`` and ``c0`` (N, H), ``w_ih`` (4H, in), ``w_hh``
    (4H, H), ``b_ih`` and ``b_hh`` (4H,), gates i, f, g, o
    (:func:`dlterms.reference.lstm_cell`). Returns every step's hidden state
    (N, T, H) and the last states ``h_n``, ``c_n`` (N, H), as
    ``torch.nn.LSTM(batch_first=True)`` does for one layer. ``reverse=True``
    reads t = T, …, 1 and writes the state after reading x_t at position t,
    so ``h_n`` is ``outputs[:, 0]``: PyTorch's backward direction of a
    bidirectional LSTM. Citation: ``hochreiter1997long``.

    >>> w_ih = [[0.0], [0.0], [1.0], [0.0]]  # only the candidate reads x: every gate is σ(0) = 1/2
    >>> outputs, h_n, c_n = lstm([[[1.0], [0.0]]], [[0.0]], [[0.0]], w_ih, [[0.0]] * 4, [0.0] * 4, [0.0] * 4)
    >>> c_n  # c_1 = tanh(1)/2, then c_2 = c_1/2 + tanh(0)/2
    [[0.1903985389889412]]
    """
    fn = "lstm"
    rev = _reverse(fn, reverse)
    xs, _, _ = _sequence(fn, x, {"h0": h0, "c0": c0})
    outputs: list[Matrix] = [[] for _ in xs]
    h, c = h0, c0
    with on_behalf_of(fn, _NOTE):
        for t in _order(len(xs), rev):
            h, c = lstm_cell(xs[t], h, c, w_ih, w_hh, b_ih, b_hh)
            outputs[t] = h
    return _batch_first(outputs), [list(r) for r in h], [list(r) for r in c]


def lstm_vjp(
    x: Nested,
    h0: Nested,
    c0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    cotangent: tuple[Nested | None, Nested | None, Nested | None],
    reverse: bool = False,
) -> tuple[Nested, Nested, Nested, Nested, Nested, Nested, Nested]:
    r"""Backpropagation through time for :func:`lstm`: ``(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh)``.

    ``cotangent = (d_outputs, d_h_n, d_c_n)`` of shapes (N, T, H), (N, H),
    (N, H); any may be ``None`` (zeros). Walking the steps in the opposite
    order to the forward pass, the gradient reaching a step's outputs is what
    the loss sends to its output plus what the next step read sends back:

    .. math:: (\bar x_t, \bar h_{t-1}, \bar c_{t-1}, \bar W_t) = \mathrm{cell}^\ast(\bar y_t + \bar h_t, \bar c_t)

    (:func:`lstm_cell_vjp` at step t's inputs and states) with :math:`\bar h_T = \bar h_n`,
    :math:`\bar c_T = \bar c_n`, and the weight
    gradients :math:`\sum_t \bar W_t`, each entry rounded once. Citation:
    ``werbos1990backpropagation``.
    """
    fn = "lstm_vjp"
    rev = _reverse(fn, reverse)
    xs, (n, steps, _), hidden = _sequence(fn, x, {"h0": h0, "c0": c0})
    names, shapes = ("d_outputs", "d_h_n", "d_c_n"), ((n, steps, hidden), (n, hidden), (n, hidden))
    d_out, dh, dc = _cotangents(fn, cotangent, names, shapes)
    order = list(_order(steps, rev))
    states = [(h0, c0)]
    dx: list[Matrix] = [[] for _ in xs]
    weights: list[tuple[Nested, ...]] = []
    with on_behalf_of(fn, _NOTE):
        for t in order:
            states.append(lstm_cell(xs[t], *states[-1], w_ih, w_hh, b_ih, b_hh))
        for k in reversed(range(steps)):
            t = order[k]
            h, c = states[k]
            g = lstm_cell_vjp(xs[t], h, c, w_ih, w_hh, b_ih, b_hh, (_add(_at(d_out, t), dh), dc))
            dx[t], dh, dc = g[0], g[1], g[2]
            weights.append(g[3:])
    grads = [_summed([w[j] for w in weights]) for j in range(4)]
    return (_batch_first(dx), dh, dc, *grads)


# --- GRU -----------------------------------------------------------------------------


def gru(
    x: Nested,
    h0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    reverse: bool = False,
) -> tuple[Nested, Nested]:
    r"""A gated recurrent unit layer (one layer, batch first) over a sequence: ``(outputs, h_n)``.

    .. math:: h_t = \operatorname{gru\_cell}(x_t, h_{t-1}),\quad t = 1, \dots, T

    ``x`` (N, T, in), ``h0`` (N, H), ``w_ih`` (3H, in), ``w_hh`` (3H, H),
    ``b_ih`` and ``b_hh`` (3H,), gates r, z, n with the reset gate after the
    hidden matmul (:func:`dlterms.reference.gru_cell`). Returns every step's
    hidden state (N, T, H) and the last one (N, H), as
    ``torch.nn.GRU(batch_first=True)`` does for one layer. ``reverse=True``
    reads t = T, …, 1 and writes the state after reading x_t at position t,
    so ``h_n`` is ``outputs[:, 0]``. Citation: ``cho2014learning``.

    >>> outputs, h_n = gru([[[1.0], [1.0]]], [[0.5]], [[0.0], [0.0], [1.0]], [[0.0]] * 3, [0.0] * 3, [0.0] * 3)
    >>> outputs[0][0]  # (1 − ½)·tanh(1) + ½·0.5, as gru_cell's example
    [0.6307970779778824]
    """
    fn = "gru"
    rev = _reverse(fn, reverse)
    xs, _, _ = _sequence(fn, x, {"h0": h0})
    outputs: list[Matrix] = [[] for _ in xs]
    h = h0
    with on_behalf_of(fn, _NOTE):
        for t in _order(len(xs), rev):
            h = gru_cell(xs[t], h, w_ih, w_hh, b_ih, b_hh)
            outputs[t] = h
    return _batch_first(outputs), [list(r) for r in h]


def gru_vjp(
    x: Nested,
    h0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    cotangent: tuple[Nested | None, Nested | None],
    reverse: bool = False,
) -> tuple[Nested, Nested, Nested, Nested, Nested, Nested]:
    r"""Backpropagation through time for :func:`gru`: ``(dx, dh0, dw_ih, dw_hh, db_ih, db_hh)``.

    ``cotangent = (d_outputs, d_h_n)`` of shapes (N, T, H) and (N, H); either
    may be ``None`` (zeros). As :func:`lstm_vjp`, one cell VJP per step in
    the opposite order to the forward pass:

    .. math:: (\bar x_t, \bar h_{t-1}, \bar W_t) = \mathrm{cell}^\ast(\bar y_t + \bar h_t),\quad \bar h_T = \bar h_n

    (:func:`gru_cell_vjp` at step t's input and state) and the weight gradients :math:`\sum_t \bar W_t`.
    Citation: ``werbos1990backpropagation``.
    """
    fn = "gru_vjp"
    rev = _reverse(fn, reverse)
    xs, (n, steps, _), hidden = _sequence(fn, x, {"h0": h0})
    d_out, dh = _cotangents(fn, cotangent, ("d_outputs", "d_h_n"), ((n, steps, hidden), (n, hidden)))
    order = list(_order(steps, rev))
    states = [h0]
    dx: list[Matrix] = [[] for _ in xs]
    weights: list[tuple[Nested, ...]] = []
    with on_behalf_of(fn, _NOTE):
        for t in order:
            states.append(gru_cell(xs[t], states[-1], w_ih, w_hh, b_ih, b_hh))
        for k in reversed(range(steps)):
            t = order[k]
            g = gru_cell_vjp(xs[t], states[k], w_ih, w_hh, b_ih, b_hh, _add(_at(d_out, t), dh))
            dx[t], dh = g[0], g[1]
            weights.append(g[2:])
    grads = [_summed([w[j] for w in weights]) for j in range(4)]
    return (_batch_first(dx), dh, *grads)


# --- bidirectional layers ----------------------------------------------------------------------------------


def _directions(fn: str, name: str, value: Nested) -> tuple[Nested, Nested]:
    """A stacked state (2, N, H) as its forward and backward halves."""
    shape, _ = tensor(fn, name, value)
    if len(shape) != 3 or shape[0] != 2:
        raise ValueError(
            f"{fn}: {name}.shape={shape}; expected (2, N, H): the forward direction's state, then the backward's"
        )
    return value[0], value[1]


@contextmanager
def _backward_direction(fn: str, states: str) -> Iterator[None]:
    """Errors of the backward layer, named as ``fn``'s arguments: its weights are the ``*_reverse`` ones."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        message = re.sub(r"\b(w_ih|w_hh|b_ih|b_hh)\b", r"\1_reverse", str(exc))
        raise type(exc)(f"{fn}: {message} (the backward direction's states are {states})") from exc


def _joined(forward: Nested, backward: Nested) -> Nested:
    """Each step's features ``[forward, backward]``: (N, T, H) and (N, T, H) → (N, T, 2H)."""
    return [[[*f, *b] for f, b in zip(fs, bs, strict=True)] for fs, bs in zip(forward, backward, strict=True)]


def bidirectional_lstm(
    x: Nested,
    h0: Nested,
    c0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    w_ih_reverse: Nested,
    w_hh_reverse: Nested,
    b_ih_reverse: Nested,
    b_hh_reverse: Nested,
) -> tuple[Nested, Nested, Nested]:
    r"""A bidirectional LSTM layer: a forward and a reversed :func:`lstm`, each with its own weights, joined.

    .. math:: y_t = [\overrightarrow{h}_t, \overleftarrow{h}_t]

    where :math:`\overrightarrow{h}` is ``lstm(x)`` and :math:`\overleftarrow{h}` is ``lstm(x, reverse=True)``.

    As ``torch.nn.LSTM(bidirectional=True, batch_first=True)`` with one layer:
    ``h0`` and ``c0`` are (2, N, H), the forward direction's state first; the
    outputs (N, T, 2H) concatenate each step's forward and backward features,
    forward first; ``h_n`` and ``c_n`` (2, N, H) stack the forward direction's
    last state (after x_T) and the backward's (after x_1). Every output thus
    sees the whole sequence. Citation: ``schuster1997bidirectional``.
    """
    fn = "bidirectional_lstm"
    (hf, hb), (cf, cb) = _directions(fn, "h0", h0), _directions(fn, "c0", c0)
    with on_behalf_of(fn, "the forward direction's h0 and c0 are h0[0] and c0[0]"):
        fwd = lstm(x, hf, cf, w_ih, w_hh, b_ih, b_hh)
    with _backward_direction(fn, "h0[1] and c0[1]"):
        bwd = lstm(x, hb, cb, w_ih_reverse, w_hh_reverse, b_ih_reverse, b_hh_reverse, reverse=True)
    return _joined(fwd[0], bwd[0]), [fwd[1], bwd[1]], [fwd[2], bwd[2]]


def bidirectional_gru(
    x: Nested,
    h0: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    w_ih_reverse: Nested,
    w_hh_reverse: Nested,
    b_ih_reverse: Nested,
    b_hh_reverse: Nested,
) -> tuple[Nested, Nested]:
    r"""A bidirectional GRU layer: a forward and a reversed :func:`gru`, each with its own weights, joined.

    .. math:: y_t = [\overrightarrow{h}_t, \overleftarrow{h}_t]

    where :math:`\overrightarrow{h}` is ``gru(x)`` and :math:`\overleftarrow{h}` is ``gru(x, reverse=True)``.

    As ``torch.nn.GRU(bidirectional=True, batch_first=True)`` with one layer:
    ``h0`` (2, N, H), forward first; outputs (N, T, 2H), forward features
    first; ``h_n`` (2, N, H). Citation: ``schuster1997bidirectional``.
    """
    fn = "bidirectional_gru"
    hf, hb = _directions(fn, "h0", h0)
    with on_behalf_of(fn, "the forward direction's h0 is h0[0]"):
        fwd = gru(x, hf, w_ih, w_hh, b_ih, b_hh)
    with _backward_direction(fn, "h0[1]"):
        bwd = gru(x, hb, w_ih_reverse, w_hh_reverse, b_ih_reverse, b_hh_reverse, reverse=True)
    return _joined(fwd[0], bwd[0]), [fwd[1], bwd[1]]
