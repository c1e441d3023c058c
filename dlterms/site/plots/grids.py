"""Numbers on grids: a convolution window, pooling windows, one CNN block, all computed by the reference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .common import GREY, HIGHLIGHT, fn

Cells = list[list[float]]
Panel = tuple[Cells, str, dict[tuple[int, int], str]]  # values, title, colours of some cells
CELL = 0.34  # inches: every grid of a figure has cells of the same size


def _grid(ax: Any, values: Cells, title: str, marks: dict[tuple[int, int], str], rows_max: int) -> None:
    """A matrix of numbers as a grid of cells (vertically centred); ``marks`` colours some cells."""
    rows, cols = len(values), len(values[0])
    top = (rows_max + rows) / 2
    for i in range(rows):
        for j in range(cols):
            face = marks.get((i, j), "white")
            ax.add_patch(Rectangle((j, top - 1 - i), 1, 1, facecolor=face, edgecolor=GREY, lw=0.8))
            ax.text(j + 0.5, top - 0.5 - i, f"{values[i][j]:g}", ha="center", va="center", fontsize=8)
    ax.text(cols / 2, top + 0.25, title, ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-0.05, cols + 0.05)
    ax.set_ylim(-0.05, rows_max + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")


def _grids(panels: Sequence[Panel], title: str) -> Figure:
    """Grids side by side, all with the same cell size, under one title."""
    rows_max = max(len(v) for v, _, _ in panels)
    cols = [max(len(v[0]), 4) for v, _, _ in panels]  # room for the panel's title
    gap = 1.2
    width = (sum(cols) + gap * (len(panels) - 1) + 0.4) * CELL
    fig = Figure(figsize=(width, (rows_max + 2.0) * CELL))
    axes = fig.subplots(1, len(panels), gridspec_kw={"width_ratios": cols, "wspace": gap / (sum(cols) / len(cols))})
    for ax, (values, name, marks), c in zip(axes, panels, cols, strict=True):
        _grid(ax, values, name, marks, rows_max)
        ax.set_xlim(-(c - len(values[0])) / 2 - 0.05, len(values[0]) + (c - len(values[0])) / 2 + 0.05)
    fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=1 - 0.9 / (rows_max + 2.0))
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
