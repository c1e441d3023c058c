"""Gradient descent on a small regression problem: batch / mini-batch / stochastic paths, learning rates.

Every step is the reference's: its ``gradient_descent`` (else the same loop over ``sgd_step``) on the
gradient of its ``mse_loss_vjp``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from .common import BLUE, GREEN, GREY, ORANGE, PANEL_W, RED, first, fn, linspace, scalar

# A small regression problem: y ≈ w·x + b, cost = mean squared error.
_XS = linspace(-1.0, 2.0, 12)
_NOISE = [0.3, -0.2, 0.1, -0.35, 0.25, 0.0, -0.15, 0.3, -0.25, 0.1, -0.05, 0.2]
_DATA = [(x, 1.5 * x + 0.5 + e) for x, e in zip(_XS, _NOISE, strict=True)]


def _line_grad(params: list[float], batch: Sequence[tuple[float, float]]) -> list[float]:
    """∂cost/∂(w, b) on a batch: the reference's MSE vjp, then the chain rule through w·x + b."""
    w, b = params
    xs = [x for x, _ in batch]
    pred = [w * x + b for x in xs]
    d_pred = first(fn("mse_loss_vjp")(pred, [y for _, y in batch], 1.0))  # type: ignore[misc]
    return [math.fsum(g * x for g, x in zip(d_pred, xs, strict=True)), math.fsum(d_pred)]


def _line_cost(w: float, b: float) -> float:
    return scalar(fn("mse_loss")([w * x + b for x, _ in _DATA], [y for _, y in _DATA]))  # type: ignore[misc]


def _descend(params: list[float], lr: float, epochs: int, batch_size: int | None, data: Any = None) -> list[Any]:
    """The reference's gradient_descent when it exists, else the same loop over sgd_step."""
    data = _DATA if data is None else data
    gd = fn("gradient_descent")
    if gd is not None:
        shuffle = batch_size is not None and batch_size < len(data)
        return gd(_line_grad, params, data, lr, epochs, batch_size=batch_size, shuffle=shuffle, seed=0)
    step, size, out = fn("sgd_step"), batch_size or len(data), [list(params)]
    for _ in range(epochs):
        for i in range(0, len(data), size):
            out.append(step(out[-1], _line_grad(out[-1], data[i : i + size]), lr))  # type: ignore[misc]
    return out


def _plain_log_axis(ax: Any) -> None:
    """A log-scale y axis labelled 0.01, 0.1, 1, 10 (matplotlib's 10⁻² has a 7-pt exponent: too small on a phone)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def draw_descent_variants(highlight: str) -> Figure:
    fig = Figure(figsize=(PANEL_W, 6.6))  # one panel under the other: PANEL_W keeps text >= 10 px on a phone
    ax_path, ax_cost = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1.15, 1]})
    ws, bs = linspace(-1.5, 3.0, 46), linspace(-2.0, 2.5, 46)
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
    ax_path.set_title("(w, b) from (-1, -1.5), 12 epochs")
    _plain_log_axis(ax_cost)
    ax_cost.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_cost.set_xlabel("epoch")
    ax_cost.set_ylabel("cost (MSE, all data)")
    ax_cost.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
    fig.tight_layout()
    return fig


def draw_learning_rates() -> Figure:
    # One weight w, prediction w·x, cost MSE: curvature 2·mean(x²), so lr > 2/curvature diverges.
    data = [(x, 2.0 * x) for x in (0.5, 1.0, 1.5, 2.0)]
    curvature = 2 * math.fsum(x * x for x, _ in data) / len(data)
    fig = Figure(figsize=(PANEL_W, 6.8))
    ax_cost, ax_path = fig.subplots(2, 1)

    def cost(w: float) -> float:
        return scalar(fn("mse_loss")([w * x for x, _ in data], [y for _, y in data]))  # type: ignore[misc]

    def grad(params: list[float], batch: Sequence[tuple[float, float]]) -> list[float]:
        xs = [x for x, _ in batch]
        d = first(fn("mse_loss_vjp")([params[0] * x for x in xs], [y for _, y in batch], 1.0))  # type: ignore[misc]
        return [math.fsum(g * x for g, x in zip(d, xs, strict=True))]

    paths = []
    for label, lr, colour in (
        ("too small", 0.02, ORANGE),
        ("good", 0.35 / curvature, GREEN),
        ("too large", 2.08 / curvature, RED),
    ):
        gd = fn("gradient_descent")
        if gd is not None:
            traj = [p[0] for p in gd(grad, [-1.0], data, lr, 12)]
        else:
            traj = [-1.0]
            for _ in range(12):
                traj.append(fn("sgd_step")([traj[-1]], grad([traj[-1]], data), lr)[0])  # type: ignore[misc]
        costs = [cost(w) for w in traj]
        ax_cost.plot(range(len(costs)), costs, color=colour, marker="o", ms=3, lw=1.5, label=f"{label}: lr = {lr:.3g}")
        paths.append((traj, costs, colour))
    lo = min(min(t) for t, _, _ in paths) - 0.5
    hi = max(max(t) for t, _, _ in paths) + 0.5
    ws = linspace(lo, hi, 141)
    ax_path.plot(ws, [cost(w) for w in ws], color=GREY, lw=1)
    for traj, costs, colour in paths:
        ax_path.plot(traj, costs, color=colour, marker="o", ms=3, lw=1, alpha=0.85)
    _plain_log_axis(ax_cost)
    ax_cost.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_cost.set_xlabel("step")
    ax_cost.set_ylabel("cost J(w)")
    ax_cost.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=1)
    ax_path.set_xlabel("w")
    ax_path.set_ylabel("J(w)")
    ax_path.set_ylim(0, max(max(c) for _, c, _ in paths) * 1.05)
    ax_path.set_title(f"the steps on J(w); diverges above lr = 2/J'' = {2 / curvature:.3g}")
    fig.tight_layout()
    return fig
