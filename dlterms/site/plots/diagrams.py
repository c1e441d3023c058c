"""Diagrams: the unrolled RNN with its four input/output modes, and the map of a term's related terms."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from dlterms.glossary import Section, Term

from .common import BLUE, GREY, RED, fn


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


def draw_rnn(highlight: str | None) -> Figure:
    xs = [1.0, 0.5, -0.5, -1.0]
    outputs, _ = fn("rnn")([[[v] for v in xs]], [[0.0]], [[0.8]], [[0.5]], [0.0], [0.0])  # type: ignore[misc]
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


def draw_related(term: Term, terms: dict[str, Term], sections: Sequence[Section]) -> Figure:
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
