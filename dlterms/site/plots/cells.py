"""Cells and blocks as diagrams: the LSTM cell with one step's numbers from the reference, the Transformer block."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

from .common import BLUE, GREEN, GREY, ORANGE, PANEL_W, fn

# One step of a cell with one unit and one input: x = 1, h = 0.5, c = 0.8; the gate rows i, f, g, o of
# PyTorch's layout, the forget gate's bias 1 (as Keras' unit_forget_bias).
X, H, C = 1.0, 0.5, 0.8
W_IH = [[0.5], [1.0], [1.5], [-0.5]]
W_HH = [[0.5], [0.5], [-1.0], [1.0]]
B_IH = [0.0, 1.0, 0.0, 0.0]
B_HH = [0.0, 0.0, 0.0, 0.5]


def lstm_step() -> dict[str, float]:
    """The example step's f, i·g, o, c′ and h′, all from the reference's lstm_cell.

    c′ = f·c + i·g is affine in c with slope f (the gates do not read c), so i·g is c′ at c = 0 and
    f = (c′ − i·g)/c; o = h′/tanh(c′).
    """
    cell = fn("lstm_cell")
    if cell is None:
        raise LookupError("dlterms.reference has no lstm_cell")
    h1, c1 = cell([[X]], [[H]], [[C]], W_IH, W_HH, B_IH, B_HH)
    _, ig = cell([[X]], [[H]], [[0.0]], W_IH, W_HH, B_IH, B_HH)
    c_new, h_new, i_g = c1[0][0], h1[0][0], ig[0][0]
    return {"f": (c_new - i_g) / C, "i·g": i_g, "o": h_new / math.tanh(c_new), "c′": c_new, "h′": h_new}


def _box(ax: Any, x: float, y: float, text: str, colour: str, width: float = 0.9) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - 0.3), width, 0.6, boxstyle="round,pad=0.05", facecolor=colour, edgecolor="none"
        )
    )
    ax.text(x, y, text, ha="center", va="center", color="white")


def _op(ax: Any, x: float, y: float, text: str) -> None:
    ax.add_patch(Circle((x, y), 0.28, facecolor="white", edgecolor=GREY, lw=1.2))
    ax.text(x, y, text, ha="center", va="center")


def _arrow(ax: Any, a: tuple[float, float], b: tuple[float, float]) -> None:
    ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "-|>", "color": GREY, "lw": 1.2, "shrinkA": 0})


def draw_lstm_cell() -> Figure:
    """The LSTM cell: gates i, f, g, o from [h, x], the cell state's line, and one step's numbers."""
    v = lstm_step()
    fig = Figure(figsize=(PANEL_W, 3.3))
    ax = fig.add_axes((0, 0, 1, 1))
    top, gates_y, bus = 4.2, 1.6, 0.6
    # The cell state's line: c → ×f → +i·g → c′.
    ax.text(0.0, top, f"c = {C:g}", ha="left", va="center")
    _arrow(ax, (1.6, top), (2.72, top))
    _op(ax, 3.0, top, "×")
    _arrow(ax, (3.28, top), (5.22, top))
    _op(ax, 5.5, top, "+")
    _arrow(ax, (5.78, top), (9.2, top))
    ax.text(9.3, top, f"c′ = {v['c′']:.3f}", ha="left", va="center")
    # The gates, from [h, x] on the bus below.
    ax.text(0.0, bus - 0.45, f"h = {H:g}, x = {X:g}", ha="left", va="center")
    ax.plot([0.0, 7.6], [bus, bus], color=GREY, lw=1.2)
    for x, name, colour, width in (
        (3.0, "σ f", ORANGE, 0.9),
        (4.4, "σ i", BLUE, 0.9),
        (6.0, "tanh g", GREEN, 1.4),
        (7.6, "σ o", BLUE, 0.9),
    ):
        _arrow(ax, (x, bus), (x, gates_y - 0.35))
        _box(ax, x, gates_y, name, colour, width)
    _arrow(ax, (3.0, gates_y + 0.35), (3.0, top - 0.28))
    ax.text(2.85, 2.9, f"f = {v['f']:.3f}", ha="right", va="center")
    _op(ax, 5.2, 2.9, "×")
    _arrow(ax, (4.4, gates_y + 0.35), (5.0, 2.7))
    _arrow(ax, (6.0, gates_y + 0.35), (5.4, 2.7))
    _arrow(ax, (5.2, 3.18), (5.45, top - 0.28))
    ax.text(5.6, 3.0, f"i·g = {v['i·g']:.3f}", ha="left", va="bottom")
    # The output: h′ = o·tanh(c′).
    _box(ax, 8.7, 3.2, "tanh", GREY, 1.1)
    _arrow(ax, (8.7, top), (8.7, 3.55))
    _op(ax, 8.7, 2.1, "×")
    _arrow(ax, (8.7, 2.85), (8.7, 2.38))
    _arrow(ax, (8.1, gates_y + 0.1), (8.45, 1.95))
    ax.text(8.2, 1.05, f"o = {v['o']:.3f}", ha="left", va="center")
    _arrow(ax, (8.98, 2.1), (9.2, 2.1))
    ax.text(9.3, 2.1, f"h′ = {v['h′']:.3f}", ha="left", va="center")
    ax.set_xlim(-0.1, 12.0)
    ax.set_ylim(-0.2, 4.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


# The Transformer block's two orders, bottom to top: (label, colour) of each stage, "+" a residual sum. In both,
# the first residual leaves before stage 0 (the block's input x) and the second before stage 3.
POST_NORM = (("attention", BLUE), ("+", None), ("LayerNorm", ORANGE), ("feed-forward", GREEN),
             ("+", None), ("LayerNorm", ORANGE))  # fmt: skip
PRE_NORM = (("LayerNorm", ORANGE), ("attention", BLUE), ("+", None), ("LayerNorm", ORANGE),
            ("feed-forward", GREEN), ("+", None))  # fmt: skip
RESIDUALS_LEAVE_BEFORE = (0, 3)


def _column(ax: Any, x: float, stages: tuple[tuple[str, str | None], ...], title: str) -> None:
    """One order of the block, x at the bottom; each residual path runs on the right to its sum."""
    ax.text(x, 0.0, "x", ha="center", va="center")
    y, inputs, sums = 0.3, [], 0
    for name, colour in stages:
        inputs.append(y)
        step = 0.95 if name == "+" else 1.05
        _arrow(ax, (x, y), (x, y + step - (0.28 if name == "+" else 0.3)))
        y += step
        if name == "+":
            _op(ax, x, y, "+")
            start, side = inputs[RESIDUALS_LEAVE_BEFORE[sums]] + 0.15, x + 1.6
            ax.plot([x, side, side], [start, start, y], color=GREY, lw=1.2)
            _arrow(ax, (side, y), (x + 0.28, y))
            sums += 1
        else:
            _box(ax, x, y, name, colour or GREY, 2.2)
        y += 0.3
    ax.text(x, y + 0.35, title, ha="center", va="center")


def draw_transformer_block() -> Figure:
    """The Transformer block in its two orders: post-norm (Vaswani et al.) and pre-norm (Xiong et al.)."""
    fig = Figure(figsize=(PANEL_W, 4.6))
    ax = fig.add_axes((0, 0, 1, 1))
    _column(ax, 2.0, POST_NORM, "post-norm")
    _column(ax, 6.8, PRE_NORM, "pre-norm")
    ax.set_xlim(0.0, 9.4)
    ax.set_ylim(-0.4, 9.6)
    ax.axis("off")
    return fig
