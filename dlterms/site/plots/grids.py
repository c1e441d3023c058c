"""Numbers on grids: a convolution window, pooling windows, one CNN block, all computed by the reference."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .common import GREY, HIGHLIGHT, MAX_WIDTH_PT, fn

Cells = list[list[float]]
Panel = tuple[Cells, str, dict[tuple[int, int], str]]  # values, title, colours of some cells
CELL = 0.3  # inches: every grid of a figure has cells of the same size (a 10-pt "-3" fits)
MAX_CELLS = int(MAX_WIDTH_PT / (CELL * 72))  # a figure's width in cells (common.py: text >= 10 px on a phone)


def _grid(ax: Any, values: Cells, title: str, marks: dict[tuple[int, int], str], x0: float, top: float) -> None:
    """A matrix of numbers as a grid of cells, its top-left corner at (x0, top), its title above;
    ``marks`` colours some cells."""
    rows, cols = len(values), len(values[0])
    for i in range(rows):
        for j in range(cols):
            face = marks.get((i, j), "white")
            ax.add_patch(Rectangle((x0 + j, top - 1 - i), 1, 1, facecolor=face, edgecolor=GREY, lw=0.8))
            ax.text(x0 + j + 0.5, top - 0.5 - i, f"{values[i][j]:g}", ha="center", va="center")
    ax.text(x0 + cols / 2, top + 0.2, title, ha="center", va="bottom", linespacing=1.1)


def _grids(panels: Sequence[Panel], title: str) -> Figure:
    """Grids left to right, wrapped into rows at most MAX_CELLS wide, all with cells of the same size,
    under one title (wrapped)."""
    gap = 1.0
    widths = [max(len(v[0]), 4) for v, _, _ in panels]  # room for the panel's title
    rows: list[list[int]] = [[]]
    for k, w in enumerate(widths):
        used = sum(widths[i] + gap for i in rows[-1])
        if rows[-1] and used + w > MAX_CELLS:
            rows.append([])
        rows[-1].append(k)
    span = max(sum(widths[i] for i in row) + gap * (len(row) - 1) for row in rows)
    heading = textwrap.wrap(title, int(span * CELL * 72 / 5.8))
    y = 0.0
    layout: list[tuple[int, float, float]] = []  # (panel, x0, top)
    for row in rows:
        tallest = max(len(panels[i][0]) for i in row)
        y -= 1.6  # the panels' titles (two lines)
        x = (span - (sum(widths[i] for i in row) + gap * (len(row) - 1))) / 2
        for i in row:
            values = panels[i][0]
            layout.append((i, x + (widths[i] - len(values[0])) / 2, y - (tallest - len(values)) / 2))
            x += widths[i] + gap
        y -= tallest + 0.4
    top_text = 0.5 * len(heading) + 0.3
    fig = Figure(figsize=(span * CELL + 0.1, (top_text - y) * CELL + 0.1))
    ax = fig.add_axes((0, 0, 1, 1))
    for i, x0, top in layout:
        values, name, marks = panels[i]
        _grid(ax, values, "\n".join(textwrap.wrap(name, int(widths[i] * CELL * 72 / 5.2))), marks, x0, top)
    ax.text(span / 2, top_text - 0.1, "\n".join(heading), ha="center", va="top", linespacing=1.1)
    ax.set_xlim(-0.05, span + 0.05)
    ax.set_ylim(y, top_text)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


_IMAGE = [
    [0.0, 1.0, 2.0, 1.0, 0.0],
    [1.0, 3.0, 1.0, 0.0, 2.0],
    [2.0, 1.0, 0.0, 2.0, 1.0],
    [0.0, 2.0, 3.0, 1.0, 0.0],
    [1.0, 0.0, 1.0, 2.0, 3.0],
]
_KERNEL = [[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]]  # a vertical-edge detector


def draw_convolution(stride: int, padding: int) -> Figure:
    out = fn("conv2d")([[_IMAGE]], [[_KERNEL]], stride=stride, padding=padding)[0][0]  # type: ignore[misc]
    n = len(_IMAGE) + 2 * padding
    shown = [[0.0] * n for _ in range(n)]
    for i, row in enumerate(_IMAGE):
        for j, v in enumerate(row):
            shown[i + padding][j + padding] = v
    # Highlight the first output cell (row-major, past the first) whose value is not 0.
    cells = [(i, j) for i in range(len(out)) for j in range(len(out[0]))]
    oi, oj = next((c for c in cells[1:] if out[c[0]][c[1]] != 0), cells[0])
    top, left = oi * stride, oj * stride
    marks = {(i, j): "#e0e0e0" for i in range(n) for j in range(n) if min(i, j) < padding or max(i, j) >= n - padding}
    marks.update({(top + i, left + j): HIGHLIGHT for i in range(3) for j in range(3)})
    extra = f", padding {padding} (grey)" if padding else ""
    return _grids(
        [
            (shown, f"input 5×5{extra}", marks),
            (_KERNEL, "kernel 3×3", {}),
            (out, f"output {len(out)}×{len(out[0])}, stride {stride}", {(oi, oj): HIGHLIGHT}),
        ],
        f"reference.conv2d: output[{oi}][{oj}] = sum(highlighted window × kernel) = {out[oi][oj]:g}",
    )


_POOL_IN = [
    [1.0, 3.0, 2.0, 0.0],
    [4.0, 2.0, 1.0, 1.0],
    [0.0, 1.0, 5.0, 2.0],
    [2.0, 2.0, 3.0, 4.0],
]
_QUAD = ["#bbdefb", "#c8e6c9", "#ffe0b2", "#f8bbd0"]


def draw_pooling(names: Sequence[str]) -> Figure:
    marks = {(i, j): _QUAD[(i // 2) * 2 + j // 2] for i in range(4) for j in range(4)}
    out_marks = {(i, j): _QUAD[i * 2 + j] for i in range(2) for j in range(2)}
    panels: list[Panel] = [(_POOL_IN, "input 4×4", marks)]
    for name in names:
        panels.append((fn(name)([[_POOL_IN]], 2, stride=2)[0][0], name, out_marks))  # type: ignore[misc]
    return _grids(panels, "2×2 windows, stride 2: each coloured window gives the output cell of its colour")


def draw_cnn_block() -> Figure:
    conv = fn("conv2d")([[_IMAGE]], [[_KERNEL]])[0][0]  # type: ignore[misc]
    act = fn("relu")(conv)  # type: ignore[misc]
    pooled = fn("max_pool2d")([[act]], 2, stride=1)[0][0]  # type: ignore[misc]
    negative = {(i, j): "#e0e0e0" for i in range(3) for j in range(3) if conv[i][j] <= 0}
    return _grids(
        [
            (_IMAGE, "input 5×5", {}),
            (conv, "conv2d, 3×3 kernel", negative),
            (act, "relu", negative),
            (pooled, "max_pool2d 2×2", {}),
        ],
        "one CNN block, computed by the reference: convolution → ReLU → pooling",
    )
