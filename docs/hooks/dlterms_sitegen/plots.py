"""The plots of the term pages, drawn from dlterms.reference at build time (matplotlib, SVG).

Which pictures a term gets follows from its entry, never from a list of ids:

* an elementwise function with its ``*_vjp`` (the activations): the curve and its derivative;
* a function of one vector (softmax): logits and outputs as bars;
* a loss (``mse_loss``, ``binary_cross_entropy``, ``cross_entropy``): loss and gradient as a prediction moves;
* batch / stochastic / mini-batch gradient descent: their trajectories on the cost surface;
* ``sgd_step`` / ``gradient_descent``: the cost for too small, good and too large learning rates;
* ``conv2d`` (and stride, padding), pooling, a CNN block: the window on a small grid;
* the RNN functions: the unrolled network and its four input/output modes;
* anything else: a map of the term and its related terms (the fallback).

A picture needs its reference functions; when they are absent the fallback is drawn.
Each picture is drawn once per build, whatever the number of terms that show it. SVG output
is byte-identical across builds (``svg.hashsalt``, no date); text stays text (``svg.fonttype: none``).
"""

from __future__ import annotations

import inspect
import io
import math
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from dlterms.glossary import Section, Term
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from dlterms import reference

from .text import log, write_if_changed

RC = {
    "svg.hashsalt": "dlterms",  # fixed ids: the same figure gives the same bytes
    "svg.fonttype": "none",  # text as text: smaller files, the reader's fonts
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "path.simplify": True,
}
METADATA = {"Date": None, "Creator": "dlterms site build (matplotlib)"}
BLUE, ORANGE, GREEN, RED, GREY = "#3f51b5", "#ef6c00", "#2e7d32", "#c62828", "#757575"
HIGHLIGHT = "#ffca28"


@dataclass(frozen=True)
class Picture:
    """One SVG: its file stem (shared by the terms that show it), captions, and how to draw it."""

    name: str
    caption_en: str
    caption_zh: str
    draw: Callable[[], Figure]
    alt: str = ""


def _fn(name: str) -> Callable[..., Any] | None:
    fn = getattr(reference, name, None)
    return fn if callable(fn) else None


def _first(value: Any) -> Any:
    """The differentiated input's gradient when a VJP returns one per input."""
    return value[0] if isinstance(value, tuple) else value


def _scalar(value: Any) -> float:
    while isinstance(value, list):
        value = value[0]
    return float(value)


def _linspace(a: float, b: float, n: int) -> list[float]:
    return [a + (b - a) * i / (n - 1) for i in range(n)]


# --- which functions are which -------------------------------------------------------------


def _one_tensor_input(fn: Callable[..., Any]) -> bool:
    """True for ``f(x, <defaulted keywords>)``."""
    params = list(inspect.signature(fn).parameters.values())
    return bool(params) and params[0].name == "x" and all(p.default is not p.empty for p in params[1:])


def is_elementwise(name: str) -> bool:
    fn = _fn(name)
    if fn is None or not _one_tensor_input(fn):
        return False
    try:
        pair = fn([0.5, -1.5])
        return pair == [fn([0.5])[0], fn([-1.5])[0]]
    except (TypeError, ValueError, IndexError):
        return False


def is_vector_map(name: str) -> bool:
    fn = _fn(name)
    if fn is None or not _one_tensor_input(fn) or is_elementwise(name):
        return False
    try:
        out = fn([1.0, 0.0])
    except (TypeError, ValueError):
        return False
    return isinstance(out, list) and len(out) == 2


# --- activations ---------------------------------------------------------------------------


def _draw_curves(names: Sequence[str]) -> Figure:
    cols = 2 if len(names) == 4 else min(len(names), 3)
    rows = math.ceil(len(names) / cols)
    width = 5.2 if cols == 1 else 3.8
    fig = Figure(figsize=(width * cols, 0.62 * width * rows + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    for ax in axes[len(names) :]:
        ax.remove()
    xs = _linspace(-5.0, 5.0, 201)
    for ax, name in zip(axes, names, strict=False):
        ys = _fn(name)(xs)  # type: ignore[misc]
        ax.plot(xs, ys, color=BLUE, lw=2, label=f"{name}(x)")
        vjp = _fn(f"{name}_vjp")
        if vjp is not None:
            ax.plot(xs, _first(vjp(xs, [1.0] * len(xs))), color=ORANGE, lw=1.6, ls="--", label=f"{name}'(x)")
        ax.axhline(0, color=GREY, lw=0.6)
        ax.axvline(0, color=GREY, lw=0.6)
        ax.set_title(f"reference.{name}", fontsize=9, family="monospace")
        ax.set_xlabel("x")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def _draw_vector_maps(names: Sequence[str]) -> Figure:
    logits = [2.0, 1.0, 0.1, -1.0]
    width = 5.2 if len(names) == 1 else 3.8
    fig = Figure(figsize=(width * len(names), 0.62 * width + 0.4))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    idx = list(range(len(logits)))
    for ax, name in zip(axes, names, strict=True):
        out = _fn(name)(logits)  # type: ignore[misc]
        ax.bar([i - 0.2 for i in idx], logits, width=0.4, color=GREY, label="input x (logits)")
        ax.bar([i + 0.2 for i in idx], out, width=0.4, color=BLUE, label=f"{name}(x)")
        for i, v in zip(idx, out, strict=True):
            ax.annotate(f"{v:.3f}", (i + 0.2, v), ha="center", va="bottom" if v >= 0 else "top", fontsize=7)
        ax.axhline(0, color=GREY, lw=0.6)
        ax.set_xticks(idx, [f"x{i + 1}" for i in idx])
        total = f"  (outputs sum to {math.fsum(out):.3f})" if all(0 <= v <= 1 for v in out) else ""
        ax.set_title(f"reference.{name}{total}", fontsize=9, family="monospace")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


# --- losses --------------------------------------------------------------------------------


def _mse_sweep() -> tuple[str, list[tuple[str, list[float], list[float], list[float]]]]:
    f, df = _fn("mse_loss"), _fn("mse_loss_vjp")
    ps = _linspace(-1.0, 3.0, 161)
    loss = [_scalar(f([p], [1.0])) for p in ps]  # type: ignore[misc]
    grad = [_scalar(_first(df([p], [1.0], 1.0))) for p in ps]  # type: ignore[misc]
    return "prediction (target y = 1)", [("y = 1", ps, loss, grad)]


def _bce_sweep() -> tuple[str, list[tuple[str, list[float], list[float], list[float]]]]:
    f, df = _fn("binary_cross_entropy"), _fn("binary_cross_entropy_vjp")
    ps = _linspace(0.02, 0.98, 161)
    curves = []
    for y in (1.0, 0.0):
        loss = [_scalar(f([p], [y])) for p in ps]  # type: ignore[misc]
        grad = [_scalar(_first(df([p], [y], 1.0))) for p in ps]  # type: ignore[misc]
        curves.append((f"y = {y:g}", ps, loss, grad))
    return "predicted probability p", curves


def _ce_sweep() -> tuple[str, list[tuple[str, list[float], list[float], list[float]]]]:
    f, df = _fn("cross_entropy"), _fn("cross_entropy_vjp")
    zs = _linspace(-4.0, 6.0, 161)
    loss = [_scalar(f([[z, 0.0, 0.0]], [0])) for z in zs]  # type: ignore[misc]
    grad = [_scalar(_first(df([[z, 0.0, 0.0]], [0], 1.0))) for z in zs]  # type: ignore[misc]
    return "logit of the true class (other two logits 0)", [("class 0 of 3", zs, loss, grad)]


LOSS_SWEEPS: dict[str, Callable[[], tuple[str, list[tuple[str, list[float], list[float], list[float]]]]]] = {
    "mse_loss": _mse_sweep,
    "binary_cross_entropy": _bce_sweep,
    "cross_entropy": _ce_sweep,
}


def _draw_losses(names: Sequence[str]) -> Figure:
    width = 5.2 if len(names) == 1 else 3.8
    fig = Figure(figsize=(width * len(names), 0.62 * width + 0.4))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        xlabel, curves = LOSS_SWEEPS[name]()
        for (label, xs, loss, grad), colour in zip(curves, (BLUE, GREEN), strict=False):
            ax.plot(xs, loss, color=colour, lw=2, label=f"loss, {label}")
            ax.plot(xs, grad, color=colour, lw=1.4, ls="--", label=f"d loss / d input, {label}")
        ax.axhline(0, color=GREY, lw=0.6)
        ax.set_ylim(-6, 8)
        ax.set_xlabel(xlabel)
        ax.set_title(f"reference.{name}", fontsize=9, family="monospace")
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


# --- gradient descent ----------------------------------------------------------------------

# A small regression problem: y ≈ w·x + b, cost = mean squared error.
_XS = _linspace(-1.0, 2.0, 12)
_NOISE = [0.3, -0.2, 0.1, -0.35, 0.25, 0.0, -0.15, 0.3, -0.25, 0.1, -0.05, 0.2]
_DATA = [(x, 1.5 * x + 0.5 + e) for x, e in zip(_XS, _NOISE, strict=True)]


def _line_grad(params: list[float], batch: Sequence[tuple[float, float]]) -> list[float]:
    """∂cost/∂(w, b) on a batch: the reference's MSE vjp, then the chain rule through w·x + b."""
    w, b = params
    xs = [x for x, _ in batch]
    pred = [w * x + b for x in xs]
    d_pred = _first(_fn("mse_loss_vjp")(pred, [y for _, y in batch], 1.0))  # type: ignore[misc]
    return [math.fsum(g * x for g, x in zip(d_pred, xs, strict=True)), math.fsum(d_pred)]


def _line_cost(w: float, b: float) -> float:
    return _scalar(_fn("mse_loss")([w * x + b for x, _ in _DATA], [y for _, y in _DATA]))  # type: ignore[misc]


def _descend(params: list[float], lr: float, epochs: int, batch_size: int | None, data: Any = None) -> list[Any]:
    """The reference's gradient_descent when it exists, else the same loop over sgd_step."""
    data = _DATA if data is None else data
    gd = _fn("gradient_descent")
    if gd is not None:
        shuffle = batch_size is not None and batch_size < len(data)
        return gd(_line_grad, params, data, lr, epochs, batch_size=batch_size, shuffle=shuffle, seed=0)
    step, size, out = _fn("sgd_step"), batch_size or len(data), [list(params)]
    for _ in range(epochs):
        for i in range(0, len(data), size):
            out.append(step(out[-1], _line_grad(out[-1], data[i : i + size]), lr))  # type: ignore[misc]
    return out


def _draw_descent_variants(highlight: str) -> Figure:
    fig = Figure(figsize=(7.2, 3.4))
    ax_path, ax_cost = fig.subplots(1, 2)
    ws, bs = _linspace(-1.5, 3.0, 46), _linspace(-2.0, 2.5, 46)
    grid = [[_line_cost(w, b) for w in ws] for b in bs]
    ax_path.contour(ws, bs, grid, levels=[0.05, 0.2, 0.5, 1, 2, 4, 8, 16], colors=GREY, linewidths=0.6)
    runs = [
        ("batch", "batch (all 12 examples per step)", None, 0.5, BLUE),
        ("mini-batch", "mini-batch (4 per step)", 4, 0.25, GREEN),
        ("stochastic", "stochastic (1 per step)", 1, 0.08, ORANGE),
    ]
    for key, label, size, lr, colour in runs:
        traj = _descend([-1.0, -1.5], lr, 12, size)
        strong = key == highlight
        kw = {"color": colour, "lw": 2.2 if strong else 1.0, "alpha": 1.0 if strong else 0.55}
        ax_path.plot([p[0] for p in traj], [p[1] for p in traj], marker="o", ms=2.5 if strong else 1.5, **kw)
        steps_per_epoch = max(1, (len(traj) - 1) // 12)
        costs = [_line_cost(*traj[i]) for i in range(0, len(traj), steps_per_epoch)]
        ax_cost.plot(range(len(costs)), costs, label=f"{label}, lr={lr:g}", **kw)
    ax_path.set_xlabel("w")
    ax_path.set_ylabel("b")
    ax_path.set_title("(w, b) from (-1, -1.5), 12 epochs", fontsize=9)
    ax_cost.set_yscale("log")
    ax_cost.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_cost.set_xlabel("epoch")
    ax_cost.set_ylabel("cost (MSE, all data)")
    ax_cost.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _draw_learning_rates() -> Figure:
    # One weight w, prediction w·x, cost MSE: curvature 2·mean(x²), so lr > 2/curvature diverges.
    data = [(x, 2.0 * x) for x in (0.5, 1.0, 1.5, 2.0)]
    curvature = 2 * math.fsum(x * x for x, _ in data) / len(data)
    fig = Figure(figsize=(7.2, 3.2))
    ax_cost, ax_path = fig.subplots(1, 2)

    def cost(w: float) -> float:
        return _scalar(_fn("mse_loss")([w * x for x, _ in data], [y for _, y in data]))  # type: ignore[misc]

    def grad(params: list[float], batch: Sequence[tuple[float, float]]) -> list[float]:
        xs = [x for x, _ in batch]
        d = _first(_fn("mse_loss_vjp")([params[0] * x for x in xs], [y for _, y in batch], 1.0))  # type: ignore[misc]
        return [math.fsum(g * x for g, x in zip(d, xs, strict=True))]

    paths = []
    for label, lr, colour in (
        ("too small", 0.02, ORANGE),
        ("good", 0.35 / curvature, GREEN),
        ("too large", 2.08 / curvature, RED),
    ):
        gd = _fn("gradient_descent")
        if gd is not None:
            traj = [p[0] for p in gd(grad, [-1.0], data, lr, 12)]
        else:
            traj = [-1.0]
            for _ in range(12):
                traj.append(_fn("sgd_step")([traj[-1]], grad([traj[-1]], data), lr)[0])  # type: ignore[misc]
        costs = [cost(w) for w in traj]
        ax_cost.plot(range(len(costs)), costs, color=colour, marker="o", ms=3, lw=1.5, label=f"{label}: lr = {lr:.3g}")
        paths.append((traj, costs, colour))
    lo = min(min(t) for t, _, _ in paths) - 0.5
    hi = max(max(t) for t, _, _ in paths) + 0.5
    ws = _linspace(lo, hi, 141)
    ax_path.plot(ws, [cost(w) for w in ws], color=GREY, lw=1)
    for traj, costs, colour in paths:
        ax_path.plot(traj, costs, color=colour, marker="o", ms=3, lw=1, alpha=0.85)
    ax_cost.set_yscale("log")
    ax_cost.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_cost.set_xlabel("step")
    ax_cost.set_ylabel("cost J(w)")
    ax_cost.legend(fontsize=7)
    ax_path.set_xlabel("w")
    ax_path.set_ylabel("J(w)")
    ax_path.set_ylim(0, max(max(c) for _, c, _ in paths) * 1.05)
    ax_path.set_title(f"the steps on J(w); diverges above lr = 2/J'' = {2 / curvature:.3g}", fontsize=8)
    fig.tight_layout()
    return fig


# --- grids: convolution and pooling --------------------------------------------------------


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


def _draw_convolution(stride: int, padding: int) -> Figure:
    out = _fn("conv2d")([[_IMAGE]], [[_KERNEL]], stride=stride, padding=padding)[0][0]  # type: ignore[misc]
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


def _draw_pooling(names: Sequence[str]) -> Figure:
    marks = {(i, j): _QUAD[(i // 2) * 2 + j // 2] for i in range(4) for j in range(4)}
    out_marks = {(i, j): _QUAD[i * 2 + j] for i in range(2) for j in range(2)}
    panels: list[Panel] = [(_POOL_IN, "input 4×4", marks)]
    for name in names:
        panels.append((_fn(name)([[_POOL_IN]], 2, stride=2)[0][0], name, out_marks))  # type: ignore[misc]
    return _grids(panels, "2×2 windows, stride 2: each coloured window gives the output cell of its colour")


def _draw_cnn_block() -> Figure:
    conv = _fn("conv2d")([[_IMAGE]], [[_KERNEL]])[0][0]  # type: ignore[misc]
    act = _fn("relu")(conv)  # type: ignore[misc]
    pooled = _fn("max_pool2d")([[act]], 2, stride=1)[0][0]  # type: ignore[misc]
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


# --- recurrent networks --------------------------------------------------------------------


def _box(ax: Any, x: float, y: float, text: str, colour: str, w: float = 0.8, h: float = 0.5) -> None:
    ax.add_patch(Rectangle((x - w / 2, y - h / 2), w, h, facecolor=colour, edgecolor=GREY, lw=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=7)


def _arrow(ax: Any, a: tuple[float, float], b: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=8, color=GREY, lw=0.8))


MODES = {
    "one-to-one": (1, 1, 1),  # (steps, input at steps, output at steps) as counts
    "one-to-many": (3, 1, 3),
    "many-to-one": (3, 3, 1),
    "many-to-many": (3, 3, 3),
}


def _draw_rnn(highlight: str | None) -> Figure:
    xs = [1.0, 0.5, -0.5, -1.0]
    outputs, _ = _fn("rnn")([[[v] for v in xs]], [[0.0]], [[0.8]], [[0.5]], [0.0], [0.0])  # type: ignore[misc]
    hs = [step[0] for step in outputs[0]]
    fig = Figure(figsize=(7.6, 4.4))
    top, *modes = fig.subplots(2, 4, gridspec_kw={"height_ratios": [1.3, 1]})
    gs = top[0].get_gridspec()
    for ax in top:
        ax.remove()
    ax = fig.add_subplot(gs[0, :])
    for t, (x, h) in enumerate(zip(xs, hs, strict=True)):
        _box(ax, t * 1.6, 0, f"x{t + 1} = {x:g}", "#e3f2fd")
        _box(ax, t * 1.6, 1, f"h{t + 1} = {h:.3f}", "#fff3e0", w=1.1)
        _arrow(ax, (t * 1.6, 0.25), (t * 1.6, 0.75))
        if t:
            _arrow(ax, ((t - 1) * 1.6 + 0.55, 1), (t * 1.6 - 0.55, 1))
    _box(ax, -1.6, 1, "h0 = 0", "#eeeeee")
    _arrow(ax, (-1.6 + 0.4, 1), (-0.55, 1))
    ax.set_xlim(-2.2, 3 * 1.6 + 0.8)
    ax.set_ylim(-0.45, 1.45)
    ax.axis("off")
    ax.set_title(
        "reference.rnn unrolled: h_t = tanh(x_t·0.8 + h_(t-1)·0.5), the same weights at every step", fontsize=8
    )
    for ax, (mode, (steps, n_in, n_out)) in zip(modes[0], MODES.items(), strict=True):
        strong = mode == highlight
        for t in range(steps):
            _box(ax, t, 1, "h", "#fff3e0", w=0.6, h=0.4)
            if t:
                _arrow(ax, (t - 0.7, 1), (t - 0.3, 1))
            if t < n_in:
                _box(ax, t, 0, "x", "#e3f2fd", w=0.6, h=0.4)
                _arrow(ax, (t, 0.2), (t, 0.8))
            if t >= steps - n_out:
                _box(ax, t, 2, "y", "#e8f5e9", w=0.6, h=0.4)
                _arrow(ax, (t, 1.2), (t, 1.8))
        ax.set_xlim(-0.6, 2.6)
        ax.set_ylim(-0.4, 2.4)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(strong)
            spine.set_color(RED)
            spine.set_linewidth(2)
        ax.set_title(mode, fontsize=8, fontweight="bold" if strong else "normal", color=RED if strong else "black")
    fig.tight_layout()
    return fig


# --- the fallback: a map of related terms --------------------------------------------------


def _draw_related(term: Term, terms: dict[str, Term], sections: Sequence[Section]) -> Figure:
    order = {s.id: i for i, s in enumerate(sections)}
    cmap = matplotlib.colormaps["tab10"]
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.05 - 0.12 * 3, 1.05)  # room for the legend of sections under the map
    ax.axis("off")
    related = [terms[r] for r in term.related if r in terms][:10]

    def label(t: Term, width: int) -> str:
        return textwrap.fill(t.en.name, width)

    def colour(t: Term) -> Any:  # the section's colour, lightened; opaque so that lines pass behind
        return tuple(0.8 + 0.2 * c for c in cmap(order.get(t.section, 0) % 10)[:3])

    for k, other in enumerate(related):
        angle = math.pi / 2 - 2 * math.pi * k / max(1, len(related))
        x, y = 1.15 * math.cos(angle), 0.82 * math.sin(angle)
        ax.plot([0, x], [0, y], color=GREY, lw=0.7, zorder=1)
        box = {"boxstyle": "round,pad=0.35", "facecolor": colour(other), "edgecolor": GREY, "lw": 0.6}
        ax.text(x, y, label(other, 18), ha="center", va="center", fontsize=7.5, zorder=2, bbox=box)
    centre = label(term, 20)
    if term.reference:
        centre += "\n" + "\n".join(f"reference.{r}" for r in term.reference[:3])
    box = {"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": BLUE, "lw": 1.4}
    ax.text(0, 0, centre, ha="center", va="center", fontsize=9, fontweight="bold", zorder=3, bbox=box)
    used = sorted({t.section for t in [term, *related]}, key=lambda s: order.get(s, 0))
    names = {s.id: s.en for s in sections}
    for i, sid in enumerate(used):
        y = -1.1 - 0.12 * (i % 3)
        ax.text(-1.6 + 1.6 * (i // 3), y, f"■ {names.get(sid, sid)}", fontsize=6.5, color=cmap(order.get(sid, 0) % 10))
    fig.tight_layout()
    return fig


# --- choosing the pictures of a term --------------------------------------------------------


def _has(*names: str) -> bool:
    return all(_fn(n) is not None for n in names)


def pictures_for(term: Term, terms: dict[str, Term], sections: Sequence[Section]) -> list[Picture]:
    """The pictures of ``term``, in the order they appear; never empty (see the module docstring)."""
    refs = [r for r in term.reference if _fn(r) is not None]
    out: list[Picture] = []
    words = " ".join([term.id, *refs])

    losses = [r for r in refs if r in LOSS_SWEEPS and _has(r, f"{r}_vjp")]
    if losses:
        out.append(
            Picture(
                "loss-" + "-".join(losses),
                "Solid: the loss as the prediction moves; dashed: its gradient (the reference's VJP).",
                "实线：预测变化时的损失；虚线：其梯度（参考实现的 VJP）。",
                lambda v=tuple(losses): _draw_losses(v),
            )
        )
    variant = re.search(r"mini-?batch|stochastic|batch", words)
    if variant and _has("mse_loss", "mse_loss_vjp", "sgd_step"):
        key = {"stochastic": "stochastic", "batch": "batch"}.get(variant[0], "mini-batch")
        out.append(
            Picture(
                f"descent-{key}",
                "Batch, mini-batch and stochastic gradient descent on the same regression problem "
                f"({key} highlighted): the same 12 epochs, different paths.",
                f"同一回归问题上的批量、小批量与随机梯度下降（突出显示：{key}）：同样 12 轮，路径不同。",
                lambda k=key: _draw_descent_variants(k),
            )
        )
    elif ({"sgd_step", "gradient_descent"} & set(refs) or (term.section == "gradient-descent" and not refs)) and _has(
        "mse_loss", "mse_loss_vjp", "sgd_step"
    ):
        out.append(
            Picture(
                "learning-rates",
                "The cost over 12 steps of gradient descent with a too small, a good and a too large learning rate.",
                "学习率过小、合适与过大时，梯度下降 12 步的损失变化。",
                _draw_learning_rates,
            )
        )
    if "conv_block" in refs and _has("conv2d", "relu", "max_pool2d"):
        out.append(
            Picture(
                "cnn-block", "One CNN block computed by the reference.", "参考实现计算的一个 CNN 块。", _draw_cnn_block
            )
        )
    elif "conv2d" in refs:
        stride = 2 if "stride" in term.id else 1
        padding = 1 if "padding" in term.id else 0
        out.append(
            Picture(
                f"conv-s{stride}-p{padding}",
                "The highlighted 3×3 window of the input times the kernel, summed, gives the highlighted output.",
                "输入中高亮的 3×3 窗口与卷积核逐元素相乘再求和，得到输出中高亮的值。",
                lambda s=stride, p=padding: _draw_convolution(s, p),
            )
        )
    pools = [r for r in refs if r in ("max_pool2d", "avg_pool2d")]
    if pools:
        out.append(
            Picture(
                "pool-" + "-".join(pools),
                "Each coloured 2×2 window of the input gives the output cell of the same colour.",
                "输入中每个彩色 2×2 窗口给出输出中同色的格子。",
                lambda p=tuple(pools): _draw_pooling(p),
            )
        )
    if (any(r.startswith("rnn") for r in refs) or (term.section == "rnn" and term.id.startswith("rnn"))) and _has(
        "rnn"
    ):
        mode = next((m for m in MODES if term.id.endswith(m)), None)
        out.append(
            Picture(
                f"rnn-{mode or 'all'}",
                "Top: the network unrolled over four steps (states from the reference). "
                "Bottom: the four input/output modes" + (f", {mode} highlighted." if mode else "."),
                "上：展开四步的循环神经网络（隐状态由参考实现算出）。下：四种输入/输出模式"
                + (f"，突出显示 {mode}。" if mode else "。"),
                lambda m=mode: _draw_rnn(m),
            )
        )
    curves = [r for r in refs if is_elementwise(r)]
    if curves:
        out.append(
            Picture(
                "curves-" + "-".join(curves),
                "Solid: the function; dashed: its derivative, from the reference's vector-Jacobian product.",
                "实线：函数本身；虚线：导数，由参考实现的向量-雅可比积（VJP）算出。",
                lambda c=tuple(curves): _draw_curves(c),
            )
        )
    vectors = [r for r in refs if is_vector_map(r)]
    if vectors:
        out.append(
            Picture(
                "vector-" + "-".join(vectors),
                "Grey: four logits; blue: the function's output for them.",
                "灰色：四个 logit；蓝色：函数对它们的输出。",
                lambda v=tuple(vectors): _draw_vector_maps(v),
            )
        )
    return out[:2] or [fallback_picture(term, terms, sections)]


def fallback_picture(term: Term, terms: dict[str, Term], sections: Sequence[Section]) -> Picture:
    """The picture of a term no other picture fits: the term, the functions that show it, its related terms."""
    return Picture(
        f"related-{term.id}",
        "The term, the reference functions that show it, and its related terms (colour: seed section).",
        "本术语、体现它的参考实现函数及其相关术语（颜色表示所在章节）。",
        lambda: _draw_related(term, terms, sections),
    )


class Plotter:
    """Draws each picture once per build into ``folder`` (``<name>.svg``), byte-identical across builds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, Path] = {}

    def render(self, picture: Picture, fallback: Callable[[], Picture]) -> tuple[Picture, Path]:
        if picture.name in self.files:
            return picture, self.files[picture.name]
        try:
            data = self._svg(picture.draw)
        except Exception as exc:  # a reference function whose signature moved: say so, show the fallback
            log.warning("dlterms: plot %r failed (%s: %s); drawing the fallback", picture.name, type(exc).__name__, exc)
            picture = fallback()
            data = self._svg(picture.draw)
        path = self.folder / f"{picture.name}.svg"
        write_if_changed(path, data)
        self.files[picture.name] = path
        return picture, path

    @staticmethod
    def _svg(draw: Callable[[], Figure]) -> bytes:
        with matplotlib.rc_context(RC):
            fig = draw()
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", metadata=METADATA, bbox_inches="tight")
        return buf.getvalue()
