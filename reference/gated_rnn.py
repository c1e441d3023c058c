"""Gated recurrent cells: the LSTM cell and the GRU cell, with their backward passes.

Beyond the seed, section *recurrent neural networks*. Layout as in
``torch.nn.LSTMCell`` and ``torch.nn.GRUCell``: an input ``x`` has shape
``(N, in)``, the hidden state ``h`` (and the LSTM's cell state ``c``) shape
``(N, H)``; the gates' weights are stacked along the first axis, ``w_ih``
``(G·H, in)``, ``w_hh`` ``(G·H, H)`` and two biases ``(G·H,)``, with G = 4
blocks in the order (i, f, g, o) for the LSTM and G = 3 in the order (r, z, n)
for the GRU. Each gate's pre-activation is one correctly rounded sum of all
its products and both biases (:func:`dlterms.reference._exact.exact_sum`).
"""

from __future__ import annotations

import math

from ._exact import exact_sum
from ._tensor import Nested, Shape, tensor

__all__ = ["gru_cell", "gru_cell_vjp", "lstm_cell", "lstm_cell_vjp"]

Matrix = list[list[float]]  # rows


# --- checking the arguments ------------------------------------------------------


def _rows(flat: list[float], n_rows: int, n_cols: int) -> Matrix:
    return [flat[i * n_cols : (i + 1) * n_cols] for i in range(n_rows)]


def _matrix(fn: str, name: str, value: object, expected: Shape, dims: str, why: str) -> list[float]:
    shape, flat = tensor(fn, name, value)
    if shape != expected:
        raise ValueError(f"{fn}: {name}.shape={shape}; expected {dims} = {expected} ({why})")
    return flat


class _Cell:
    """A cell's checked arguments: ``x`` (N, in), states (N, H) and weights for ``gates`` blocks of H."""

    def __init__(self, fn: str, gates: int, x: Nested, states: dict[str, Nested], weights: dict[str, Nested]) -> None:
        x_shape, x_flat = tensor(fn, "x", x)
        if len(x_shape) != 2 or x_shape[0] == 0:
            raise ValueError(f"{fn}: x.shape={x_shape}; expected a tensor of rank 2, shape (N, in) with N >= 1")
        n, n_in = x_shape
        first = next(iter(states))
        h_shape, _ = tensor(fn, first, states[first])
        if len(h_shape) != 2 or h_shape[0] != n or h_shape[1] == 0:
            raise ValueError(
                f"{fn}: {first}.shape={h_shape}; expected (N, H) = ({n}, H) with H >= 1 "
                f"(N = {n} from x.shape={x_shape})"
            )
        hidden = h_shape[1]
        why = f"H = {hidden} from {first}.shape={h_shape}"
        self.x = _rows(x_flat, n, n_in)
        self.states = {
            k: _rows(_matrix(fn, k, v, (n, hidden), "(N, H)", f"N from x, {why}"), n, hidden) for k, v in states.items()
        }
        g = f"{gates}H"
        self.w_ih = _rows(
            _matrix(fn, "w_ih", weights["w_ih"], (gates * hidden, n_in), f"({g}, in)", f"{why} and in = {n_in} from x"),
            gates * hidden,
            n_in,
        )
        self.w_hh = _rows(
            _matrix(fn, "w_hh", weights["w_hh"], (gates * hidden, hidden), f"({g}, H)", why), gates * hidden, hidden
        )
        self.b_ih = _matrix(fn, "b_ih", weights["b_ih"], (gates * hidden,), f"({g},)", why)
        self.b_hh = _matrix(fn, "b_hh", weights["b_hh"], (gates * hidden,), f"({g},)", why)
        self.n, self.n_in, self.hidden = n, n_in, hidden

    def input_part(self, i: int, j: int) -> list[float]:
        """The terms of ``(x W_ihᵀ + b_ih)[i, j]``."""
        return [*(a * w for a, w in zip(self.x[i], self.w_ih[j], strict=True)), self.b_ih[j]]

    def hidden_part(self, i: int, j: int) -> list[float]:
        """The terms of ``(h W_hhᵀ + b_hh)[i, j]``."""
        h = self.states[next(iter(self.states))]
        return [*(a * w for a, w in zip(h[i], self.w_hh[j], strict=True)), self.b_hh[j]]

    def cotangent(self, fn: str, name: str, value: object) -> Matrix:
        why = "the shape of the cell's output: N from x, H from the state"
        flat = _matrix(fn, name, value, (self.n, self.hidden), "(N, H)", why)
        return _rows(flat, self.n, self.hidden)

    def backward(self, da_ih: Matrix, da_hh: Matrix) -> tuple[Matrix, Matrix, Nested, Nested, Nested, Nested]:
        """``(dx, dh, dw_ih, dw_hh, db_ih, db_hh)`` from the gradients of ``x W_ihᵀ + b_ih`` and ``h W_hhᵀ + b_hh``."""
        h = self.states[next(iter(self.states))]
        rows, n = len(self.w_ih), self.n
        dx = [
            [exact_sum([da_ih[i][j] * self.w_ih[j][k] for j in range(rows)]) for k in range(self.n_in)]
            for i in range(n)
        ]
        dh = [
            [exact_sum([da_hh[i][j] * self.w_hh[j][k] for j in range(rows)]) for k in range(self.hidden)]
            for i in range(n)
        ]
        dw_ih = [
            [exact_sum([da_ih[i][j] * self.x[i][k] for i in range(n)]) for k in range(self.n_in)] for j in range(rows)
        ]
        dw_hh = [
            [exact_sum([da_hh[i][j] * h[i][k] for i in range(n)]) for k in range(self.hidden)] for j in range(rows)
        ]
        db_ih = [exact_sum([da_ih[i][j] for i in range(n)]) for j in range(rows)]
        db_hh = [exact_sum([da_hh[i][j] for i in range(n)]) for j in range(rows)]
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh


def _pair(fn: str, cotangent: object) -> tuple[object, object]:
    if not isinstance(cotangent, tuple | list) or len(cotangent) != 2:
        raise TypeError(
            f"{fn}: cotangent is {type(cotangent).__name__}; expected a pair (d_h, d_c) of shapes (N, H) and (N, H)"
        )
    return cotangent[0], cotangent[1]


def _sigmoid(a: float) -> float:
    """σ(a) without overflow: 1/(1 + e^−a) for a ≥ 0, e^a/(1 + e^a) below."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


# --- the LSTM cell ------------------------------------------------------------------


def _lstm_gates(cell: _Cell) -> list[list[tuple[float, float, float, float]]]:
    """``(i, f, g, o)`` per example and hidden unit."""
    hid = cell.hidden

    def gate(i: int, j: int) -> float:
        return exact_sum([*cell.input_part(i, j), *cell.hidden_part(i, j)])

    return [
        [
            (
                _sigmoid(gate(i, k)),
                _sigmoid(gate(i, hid + k)),
                math.tanh(gate(i, 2 * hid + k)),
                _sigmoid(gate(i, 3 * hid + k)),
            )
            for k in range(hid)
        ]
        for i in range(cell.n)
    ]


def _lstm_args(fn: str, x: Nested, h: Nested, c: Nested, w: tuple[Nested, Nested, Nested, Nested]) -> _Cell:
    return _Cell(fn, 4, x, {"h": h, "c": c}, dict(zip(("w_ih", "w_hh", "b_ih", "b_hh"), w, strict=True)))


def lstm_cell(
    x: Nested, h: Nested, c: Nested, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested
) -> tuple[Nested, Nested]:
    r"""One step of the long short-term memory cell: ``(h', c')`` from an input and the previous states.

    .. math:: (i, f, g, o) = (\sigma, \sigma, \tanh, \sigma)(x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh}),
              c' = f \odot c + i \odot g,\quad h' = o \odot \tanh(c')

    Shapes: ``x`` (N, in), ``h`` and ``c`` (N, H), ``w_ih`` (4H, in),
    ``w_hh`` (4H, H), ``b_ih`` and ``b_hh`` (4H,), the four blocks of H rows in
    PyTorch's order: input gate i, forget gate f, candidate g, output gate o
    (``torch.nn.LSTMCell``). The forget gate is Gers et al.'s (2000), now part
    of every LSTM. Citation: ``hochreiter1997long``.

    >>> h1, c1 = lstm_cell([[1.0]], [[0.0]], [[0.0]], [[0.0], [0.0], [1.0], [0.0]], [[0.0]] * 4, [0.0] * 4, [0.0] * 4)
    >>> c1  # i = σ(0) = 1/2 times g = tanh(1)
    [[0.3807970779778824]]
    """
    cell = _lstm_args("lstm_cell", x, h, c, (w_ih, w_hh, b_ih, b_hh))
    c_old = cell.states["c"]
    c_new, h_new = [], []
    for row, c_row in zip(_lstm_gates(cell), c_old, strict=True):
        cs = [exact_sum([f * cv, i * g]) for (i, f, g, _), cv in zip(row, c_row, strict=True)]
        c_new.append(cs)
        h_new.append([o * math.tanh(cv) for (_, _, _, o), cv in zip(row, cs, strict=True)])
    return h_new, c_new


def lstm_cell_vjp(
    x: Nested,
    h: Nested,
    c: Nested,
    w_ih: Nested,
    w_hh: Nested,
    b_ih: Nested,
    b_hh: Nested,
    cotangent: tuple[Nested, Nested],
) -> tuple[Nested, Nested, Nested, Nested, Nested, Nested, Nested]:
    r"""VJP of :func:`lstm_cell`: ``(dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh)`` from ``cotangent = (d_h', d_c')``.

    .. math:: \bar c = \bar c' + \bar h' \odot o \odot (1 - \tanh^2 c'),
              \bar a = (\bar c \odot g \odot i(1 - i),\ \bar c \odot c \odot f(1 - f),
              \ \bar c \odot i \odot (1 - g^2),\ \bar h' \odot \tanh c' \odot o(1 - o))

    then ``dx = ā W_ih``, ``dh = ā W_hh``, ``dc = c̄ ⊙ f``, ``dW_ih = āᵀx``,
    ``dW_hh = āᵀh`` and ``db_ih = db_hh = Σ_n ā``. Citation: ``hochreiter1997long``.
    """
    fn = "lstm_cell_vjp"
    cell = _lstm_args(fn, x, h, c, (w_ih, w_hh, b_ih, b_hh))
    d_h, d_c = _pair(fn, cotangent)
    gh, gc = cell.cotangent(fn, "cotangent[0] (d_h)", d_h), cell.cotangent(fn, "cotangent[1] (d_c)", d_c)
    c_old = cell.states["c"]
    da: Matrix = []
    dc: Matrix = []
    for n, row in enumerate(_lstm_gates(cell)):
        blocks: list[list[float]] = [[], [], [], []]
        dc_row = []
        for k, (i, f, g, o) in enumerate(row):
            t = math.tanh(exact_sum([f * c_old[n][k], i * g]))
            cbar = gc[n][k] + gh[n][k] * o * (1.0 - t * t)
            blocks[0].append(cbar * g * i * (1.0 - i))
            blocks[1].append(cbar * c_old[n][k] * f * (1.0 - f))
            blocks[2].append(cbar * i * (1.0 - g * g))
            blocks[3].append(gh[n][k] * t * o * (1.0 - o))
            dc_row.append(cbar * f)
        da.append([v for b in blocks for v in b])
        dc.append(dc_row)
    dx, dh, dw_ih, dw_hh, db_ih, db_hh = cell.backward(da, da)
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


# --- the GRU cell ----------------------------------------------------------------------


def _gru_parts(cell: _Cell) -> list[list[tuple[float, float, float, float, float]]]:
    """``(r, z, 1 − z, n, W_hn h + b_hn)`` per example and hidden unit (1 − z as σ(−a_z), without cancellation)."""
    hid = cell.hidden
    out = []
    for i in range(cell.n):
        row = []
        for k in range(hid):
            a_r = exact_sum([*cell.input_part(i, k), *cell.hidden_part(i, k)])
            a_z = exact_sum([*cell.input_part(i, hid + k), *cell.hidden_part(i, hid + k)])
            r = _sigmoid(a_r)
            hn_terms = cell.hidden_part(i, 2 * hid + k)
            hn = exact_sum(hn_terms)
            # One rounding for the candidate's pre-activation: r times each term of W_hn h + b_hn, with the input part.
            n = math.tanh(exact_sum([*cell.input_part(i, 2 * hid + k), *(r * t for t in hn_terms)]))
            row.append((r, _sigmoid(a_z), _sigmoid(-a_z), n, hn))
        out.append(row)
    return out


def _gru_args(fn: str, x: Nested, h: Nested, w: tuple[Nested, Nested, Nested, Nested]) -> _Cell:
    return _Cell(fn, 3, x, {"h": h}, dict(zip(("w_ih", "w_hh", "b_ih", "b_hh"), w, strict=True)))


def gru_cell(x: Nested, h: Nested, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested) -> Nested:
    r"""One step of the gated recurrent unit: the new hidden state ``h'`` from an input and the previous state.

    .. math:: r = \sigma(x W_{ir}^\top + b_{ir} + h W_{hr}^\top + b_{hr}),
              z = \sigma(x W_{iz}^\top + b_{iz} + h W_{hz}^\top + b_{hz}),
              n = \tanh\bigl(x W_{in}^\top + b_{in} + r \odot (h W_{hn}^\top + b_{hn})\bigr),
              h' = (1 - z) \odot n + z \odot h

    Shapes: ``x`` (N, in), ``h`` (N, H), ``w_ih`` (3H, in), ``w_hh`` (3H, H),
    ``b_ih`` and ``b_hh`` (3H,), the three blocks of H rows in PyTorch's order:
    reset gate r, update gate z, candidate n (``torch.nn.GRUCell``). The reset
    gate multiplies the recurrent matmul *with its bias* (PyTorch's and
    cuDNN's "linear before reset", Keras' ``reset_after=True``); Cho et al.'s
    paper resets h before the matmul. Citation: ``cho2014learning``.

    >>> gru_cell([[1.0]], [[0.5]], [[0.0], [0.0], [1.0]], [[0.0]] * 3, [0.0] * 3, [0.0] * 3)
    [[0.6307970779778824]]
    """
    cell = _gru_args("gru_cell", x, h, (w_ih, w_hh, b_ih, b_hh))
    h_old = cell.states["h"]
    return [
        [exact_sum([omz * n, z * hv]) for (_, z, omz, n, _), hv in zip(row, h_row, strict=True)]
        for row, h_row in zip(_gru_parts(cell), h_old, strict=True)
    ]


def gru_cell_vjp(
    x: Nested, h: Nested, w_ih: Nested, w_hh: Nested, b_ih: Nested, b_hh: Nested, cotangent: Nested
) -> tuple[Nested, Nested, Nested, Nested, Nested, Nested]:
    r"""VJP of :func:`gru_cell`: ``(dx, dh, dw_ih, dw_hh, db_ih, db_hh)`` from a cotangent ``h̄'`` (N, H).

    .. math:: \bar a_n = \bar h' \odot (1 - z) \odot (1 - n^2),\quad \bar a_z = \bar h' \odot (h - n) \odot z(1 - z),
              \bar a_r = \bar a_n \odot (h W_{hn}^\top + b_{hn}) \odot r(1 - r)

    The input side's gradient is ``(ā_r, ā_z, ā_n)``, the hidden side's
    ``(ā_r, ā_z, r ⊙ ā_n)``; ``dh`` adds ``h̄' ⊙ z`` to the hidden side times
    ``W_hh``. Citation: ``cho2014learning``.
    """
    fn = "gru_cell_vjp"
    cell = _gru_args(fn, x, h, (w_ih, w_hh, b_ih, b_hh))
    g = cell.cotangent(fn, "cotangent", cotangent)
    h_old = cell.states["h"]
    da_ih: Matrix = []
    da_hh: Matrix = []
    direct: Matrix = []
    for i, row in enumerate(_gru_parts(cell)):
        r_, z_, n_in, n_hh = [], [], [], []
        for k, (r, z, omz, n, hn) in enumerate(row):
            a_n = g[i][k] * omz * (1.0 - n * n)
            r_.append(a_n * hn * r * (1.0 - r))
            z_.append(g[i][k] * (h_old[i][k] - n) * z * omz)
            n_in.append(a_n)
            n_hh.append(a_n * r)
        da_ih.append(r_ + z_ + n_in)
        da_hh.append(r_ + z_ + n_hh)
        direct.append([g[i][k] * row[k][1] for k in range(cell.hidden)])
    dx, dh, dw_ih, dw_hh, db_ih, db_hh = cell.backward(da_ih, da_hh)
    dh = [[exact_sum([a, b]) for a, b in zip(ra, rb, strict=True)] for ra, rb in zip(dh, direct, strict=True)]
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh
