"""Curves and bars: activations with their derivatives, functions of one vector, losses with their gradients."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from matplotlib.figure import Figure

from .common import BLUE, GREEN, GREY, ORANGE, PANEL_W, first, fn, linspace, scalar

# Every figure is at most PANEL_W wide (common.py: its text stays >= 10 CSS px on a phone): panels of
# one function side by side in two columns at most, wider panels one under another.


def draw_curves(names: Sequence[str]) -> Figure:
    cols = 1 if len(names) == 1 else 2
    rows = math.ceil(len(names) / cols)
    height = 2.9 if cols == 1 else 2.0
    fig = Figure(figsize=(PANEL_W, height * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    for ax in axes[len(names) :]:
        ax.remove()
    xs = linspace(-5.0, 5.0, 201)
    for ax, name in zip(axes, names, strict=False):
        ys = fn(name)(xs)  # type: ignore[misc]
        ax.plot(xs, ys, color=BLUE, lw=2, label=f"{name}(x)")
        vjp = fn(f"{name}_vjp")
        if vjp is not None:
            ax.plot(xs, first(vjp(xs, [1.0] * len(xs))), color=ORANGE, lw=1.6, ls="--", label=f"{name}'(x)")
        ax.axhline(0, color=GREY, lw=0.6)
        ax.axvline(0, color=GREY, lw=0.6)
        ax.set_title(f"reference.{name}", family="monospace")
        ax.set_xticks([-4, 0, 4])
    fig.legend(
        *axes[0].get_legend_handles_labels()[:1],
        ["function", "derivative (VJP)"],
        loc="lower center",
        ncol=2,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.tight_layout(rect=(0, 0.4 / fig.get_figheight(), 1, 1))
    return fig


def draw_vector_maps(names: Sequence[str]) -> Figure:
    logits = [2.0, 1.0, 0.1, -1.0]
    fig = Figure(figsize=(PANEL_W, 2.8 * len(names)))
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    idx = list(range(len(logits)))
    for ax, name in zip(axes, names, strict=True):
        out = fn(name)(logits)  # type: ignore[misc]
        ax.bar([i - 0.2 for i in idx], logits, width=0.4, color=GREY, label="input x (logits)")
        ax.bar([i + 0.2 for i in idx], out, width=0.4, color=BLUE, label=f"{name}(x)")
        for i, v in zip(idx, out, strict=True):
            ax.annotate(f"{v:.3f}", (i + 0.2, v), ha="center", va="bottom" if v >= 0 else "top")
        ax.axhline(0, color=GREY, lw=0.6)
        ax.set_xticks(idx, [f"x{i + 1}" for i in idx])
        total = f"  (outputs sum to {math.fsum(out):.3f})" if all(0 <= v <= 1 for v in out) else ""
        ax.set_title(f"reference.{name}{total}", family="monospace")
        ax.set_ylim(min(-1.4, *out) - 0.7, 2.9)
        ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


# --- losses --------------------------------------------------------------------------------


def mse_sweep() -> tuple[str, list[tuple[str, list[float], list[float], list[float]]]]:
    f, df = fn("mse_loss"), fn("mse_loss_vjp")
    ps = linspace(-1.0, 3.0, 161)
    loss = [scalar(f([p], [1.0])) for p in ps]  # type: ignore[misc]
    grad = [scalar(first(df([p], [1.0], 1.0))) for p in ps]  # type: ignore[misc]
    return "prediction (target y = 1)", [("y = 1", ps, loss, grad)]


def bce_sweep() -> tuple[str, list[tuple[str, list[float], list[float], list[float]]]]:
    f, df = fn("binary_cross_entropy"), fn("binary_cross_entropy_vjp")
    ps = linspace(0.02, 0.98, 161)
    curves = []
    for y in (1.0, 0.0):
        loss = [scalar(f([p], [y])) for p in ps]  # type: ignore[misc]
        grad = [scalar(first(df([p], [y], 1.0))) for p in ps]  # type: ignore[misc]
        curves.append((f"y = {y:g}", ps, loss, grad))
    return "predicted probability p", curves


def ce_sweep() -> tuple[str, list[tuple[str, list[float], list[float], list[float]]]]:
    f, df = fn("cross_entropy"), fn("cross_entropy_vjp")
    zs = linspace(-4.0, 6.0, 161)
    loss = [scalar(f([[z, 0.0, 0.0]], [0])) for z in zs]  # type: ignore[misc]
    grad = [scalar(first(df([[z, 0.0, 0.0]], [0], 1.0))) for z in zs]  # type: ignore[misc]
    return "logit of the true class (other two logits 0)", [("class 0 of 3", zs, loss, grad)]


LOSS_SWEEPS: dict[str, Callable[[], tuple[str, list[tuple[str, list[float], list[float], list[float]]]]]] = {
    "mse_loss": mse_sweep,
    "binary_cross_entropy": bce_sweep,
    "cross_entropy": ce_sweep,
}


def draw_losses(names: Sequence[str]) -> Figure:
    fig = Figure(figsize=(PANEL_W, 3.3 * len(names)))
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        xlabel, curves = LOSS_SWEEPS[name]()
        for (label, xs, loss, grad), colour in zip(curves, (BLUE, GREEN), strict=False):
            ax.plot(xs, loss, color=colour, lw=2, label=f"loss, {label}")
            ax.plot(xs, grad, color=colour, lw=1.4, ls="--", label=f"d loss / d input, {label}")
        ax.axhline(0, color=GREY, lw=0.6)
        ax.set_ylim(-6, 8)
        ax.set_xlabel(xlabel)
        ax.set_title(f"reference.{name}", family="monospace")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, handlelength=1.5)
    fig.tight_layout()
    return fig
