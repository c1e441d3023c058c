"""Diagrams: the unrolled RNN with its four input/output modes, and the map of a term's related terms."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from dlterms.glossary import Section, Term

from .common import BLUE, GREY, PANEL_W, RED, fn


def _box(ax: Any, x: float, y: float, text: str, colour: str, w: float = 0.8, h: float = 0.5) -> None:
    ax.add_patch(Rectangle((x - w / 2, y - h / 2), w, h, facecolor=colour, edgecolor=GREY, lw=0.8))
    ax.text(x, y, text, ha="center", va="center", linespacing=1.0)


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
    fig = Figure(figsize=(PANEL_W, 4.6))  # PANEL_W: text >= 10 px on a phone (common.py)
    top, *modes = fig.subplots(2, 4, gridspec_kw={"height_ratios": [1.5, 1]})
    gs = top[0].get_gridspec()
    for ax in top:
        ax.remove()
    ax = fig.add_subplot(gs[0, :])
    for t, (x, h) in enumerate(zip(xs, hs, strict=True)):
        _box(ax, t * 1.6, 0, f"x{t + 1}\n{x:g}", "#e3f2fd", w=1.1, h=0.6)
        _box(ax, t * 1.6, 1.2, f"h{t + 1}\n{h:.3f}", "#fff3e0", w=1.1, h=0.6)
        _arrow(ax, (t * 1.6, 0.3), (t * 1.6, 0.9))
        if t:
            _arrow(ax, ((t - 1) * 1.6 + 0.55, 1.2), (t * 1.6 - 0.55, 1.2))
    _box(ax, -1.6, 1.2, "h0\n0", "#eeeeee", w=1.1, h=0.6)
    _arrow(ax, (-1.6 + 0.55, 1.2), (-0.55, 1.2))
    ax.set_xlim(-2.2, 3 * 1.6 + 0.6)
    ax.set_ylim(-0.35, 1.55)
    ax.axis("off")
    ax.set_title("reference.rnn unrolled: h_t = tanh(x_t·0.8 + h_(t-1)·0.5),\nthe same weights at every step")
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
        weight, colour = ("bold", RED) if strong else ("normal", "black")
        ax.set_title(mode.replace("-to-", "-to-\n"), fontweight=weight, color=colour)
    fig.tight_layout()
    return fig


def wrap_identifier(name: str, width: int) -> str:
    """``name`` on lines of at most ``width`` characters where it can be, each broken after an underscore.

    >>> wrap_identifier("batch_norm_running_stats()", 16)
    'batch_norm_\\nrunning_stats()'
    """
    lines = [""]
    for part in name.split("_"):
        piece = part if not lines[-1] else "_" + part
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines[-1] += "_"
            lines.append(part)
        else:
            lines[-1] += piece
    return "\n".join(lines)


def draw_related(term: Term, terms: dict[str, Term], sections: Sequence[Section]) -> Figure:
    """The term (with the reference functions that show it) on the left, its related terms listed on the
    right, each joined to it; colour: the seed section, named under the list."""
    order = {s.id: i for i, s in enumerate(sections)}
    cmap = matplotlib.colormaps["tab10"]
    related = [terms[r] for r in term.related if r in terms][:10]
    used = sorted({t.section for t in [term, *related]}, key=lambda s: order.get(s, 0))
    names = {s.id: s.en for s in sections}
    rows = max(len(related), 3)
    height = 0.3 * rows + 0.25 * len(used) + 0.3
    fig = Figure(figsize=(PANEL_W, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, PANEL_W)
    ax.set_ylim(-0.25 * len(used) - 0.15, 0.3 * rows + 0.15)
    ax.axis("off")

    def colour(t: Term) -> Any:  # the section's colour, lightened; opaque so that lines pass behind
        return tuple(0.8 + 0.2 * c for c in cmap(order.get(t.section, 0) % 10)[:3])

    centre_y = 0.3 * rows / 2
    for k, other in enumerate(related):
        y = 0.3 * (rows - k) - 0.15
        ax.plot([1.5, 2.2], [centre_y, y], color=GREY, lw=0.7, zorder=1)
        box = {"boxstyle": "round,pad=0.25", "facecolor": colour(other), "edgecolor": GREY, "lw": 0.6}
        ax.text(2.25, y, textwrap.shorten(other.en.name, 28, placeholder="…"), va="center", zorder=2, bbox=box)
    centre = "\n".join(textwrap.wrap(term.en.name, 16))
    if term.reference:  # the reference functions, without "reference.", broken after "_" (the box stays narrow)
        centre += "\n" + "\n".join(wrap_identifier(f"{r}()", 16) for r in term.reference[:3])
    box = {"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": BLUE, "lw": 1.4}
    ax.text(0.75, centre_y, centre, ha="center", va="center", zorder=3, bbox=box)
    for i, sid in enumerate(used):
        ax.text(0.05, -0.25 * i - 0.1, f"■ {names.get(sid, sid)}", va="center", color=cmap(order.get(sid, 0) % 10))
    return fig
