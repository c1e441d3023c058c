"""Backpropagation's computational graph, traced from the reference's forward and backward pass (a hand-written SVG).

:func:`trace` runs ``reference.forward_pass`` and ``reference.backward_pass`` on a two-layer network and
records the public reference functions each calls directly, in order: the forward pass's ``linear``,
``relu``, ``linear``, ``mse_loss``, and the backward pass's ``mse_loss_vjp``, ``linear_vjp``, ``relu_vjp``,
``linear_vjp``. :func:`layout` turns those calls into the graph: the forward pass down the left
column (each call a node, the tensor it returns below it), the backward pass up the right column, the
k-th backward call beside the forward call it differentiates (its name + ``_vjp``, or the graph is
refused), the parameters and the target in the middle. Nothing in the graph is drawn that the trace
did not find; the notation is the term page's formula (layer k has input h_{k-1}, weighted sum z_k,
δ_k = ∂ℓ/∂z_k).

Every node is a link to the term page of what it is, where the glossary has one: a function's term
is the one whose ``reference`` list names it and, if any does, its VJP too, then the one naming the
fewest functions (``linear`` → dense layer, ``relu`` → ReLU, ``mse_loss`` → mean squared error);
names in English and Chinese are the glossary's. The SVG is written by hand, not by matplotlib, so
that its links and its ``lang="zh-Hans"`` labels are real elements; the site's script
``docs/javascripts/plot-links.js`` puts it inline so that the links work on the page.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from types import FrameType
from typing import Any

from dlterms import reference
from dlterms.glossary import Term

from .common import BLUE, GREY, ORANGE

FONT_PX = 10  # the smallest text of the graph, in SVG units (tests/site/test_plot_text_size.py)
LINE = 12.5  # one line of text
WIDTH = 340  # the viewBox's width: 10 units are >= 10 CSS px in a phone's 358 px column
SCALE = 1.25  # the width attribute over the viewBox's: how much larger than its units it shows at 1280 px
COLS = (3.0, 146.0, 155.0, 30.0, 191.0, 146.0)  # left x, left width, centre x, centre width, right x, right w
SANS = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
MONO = "'DejaVu Sans Mono',Menlo,Consolas,monospace"

# What the tensors between the calls are (symbol, English, Chinese, term id or ""), by the call that returns them.
TENSORS = {
    "input": ("x = h₀", "input", "输入", ""),
    "linear": ("z{k}", "weighted sum", "加权和", ""),
    "linear_last": ("ŷ = z{k}", "prediction", "预测值", ""),
    "activation": ("h{k}", "activation", "激活值", ""),
    "loss": ("ℓ", "loss", "损失", "cost-function"),
}
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def trace(fn: Callable[..., Any], *args: Any) -> tuple[Any, list[str]]:
    """``fn(*args)`` and the public ``dlterms.reference`` functions it called directly, in call order."""
    calls: list[str] = []
    code = getattr(fn, "__code__", None)
    public = {n for n in reference.__all__ if callable(getattr(reference, n))}

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        direct = event == "call" and frame.f_back is not None and frame.f_back.f_code is code
        if direct and frame.f_code.co_name in public and frame.f_globals["__name__"].startswith("dlterms.reference"):
            calls.append(frame.f_code.co_name)

    old = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = fn(*args)
    finally:
        sys.setprofile(old)
    return result, calls


def traced_passes() -> tuple[list[str], list[str]]:
    """The calls of the reference's forward and backward pass of a two-layer network (2 → 2 → 1, ReLU)."""
    weights = [[[0.5, -0.3], [0.2, 0.8]], [[1.0, -0.7]]]
    biases = [[0.1, -0.1], [0.05]]
    x, y = [1.0, 2.0], [0.5]
    forward, f_calls = trace(reference.forward_pass, x, y, weights, biases)
    _, b_calls = trace(reference.backward_pass, forward, y, weights, biases)
    return f_calls, b_calls


def term_of(function: str, terms: dict[str, Term]) -> Term | None:
    """The term a reference function shows: among those whose ``reference`` names it (a VJP: or its
    function), the ones naming its pair too, then the one naming the fewest functions, then glossary order."""
    base = function.removesuffix("_vjp")
    pair = {base, base + "_vjp"}
    found = [t for t in terms.values() if pair & set(t.reference)]
    if not found:
        return None
    return min(found, key=lambda t: (not pair <= set(t.reference), len(t.reference)))


@dataclass
class Node:
    """A box of the graph: lines of text (the first may be code), where it sits, and its link."""

    lines: list[tuple[str, str]]  # (text, "code" | "en" | "zh" | "math")
    col: int  # 0 left, 1 centre, 2 right
    row: int
    href: str = ""
    title: str = ""
    colour: str = "#ffffff"
    edge: str = GREY
    y: float = 0.0
    h: float = 0.0

    @property
    def x(self) -> float:
        return COLS[2 * self.col]

    @property
    def w(self) -> float:
        return COLS[2 * self.col + 1]


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[Node, Node, bool]] = field(default_factory=list)  # (from, to, dashed)

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node


def _named(term: Term | None, code: str, base: str) -> dict[str, Any]:
    """A function's node: its name as code, its term's names in English (wrapped) and Chinese, the link."""
    lines: list[tuple[str, str]] = [(code, "code")]
    if term is None:
        return {"lines": lines}
    lines += [(part, "en") for part in textwrap.wrap(term.en.name, 24)]
    lines.append((term.zh.name, "zh"))
    return {"lines": lines, "href": f"{base}{term.id}/", "title": f"{term.en.name} · {term.zh.name}"}


def _tensor(kind: str, k: int, terms: dict[str, Term], base: str) -> dict[str, Any]:
    symbol, en, zh, term_id = TENSORS[kind]
    out: dict[str, Any] = {"lines": [(symbol.format(k=str(k).translate(SUB)), "math"), (f"{en} · ", "en"), (zh, "zh")]}
    if term_id in terms:
        out |= {"href": f"{base}{term_id}/", "title": f"{terms[term_id].en.name} · {terms[term_id].zh.name}"}
    return out


def layout(forward: Sequence[str], backward: Sequence[str], terms: dict[str, Term], base: str = "../") -> Graph:
    """The graph of the traced calls (see the module docstring); ``base`` leads from the page to the terms."""
    if [f"{f}_vjp" for f in reversed(forward)] != list(backward):
        raise ValueError(
            f"backprop graph: backward_pass called {list(backward)}; expected the VJPs of the forward "
            f"calls {list(forward)} in reverse order"
        )
    g = Graph()
    linears = [i for i, f in enumerate(forward) if f == "linear"]
    loss_at = len(forward) - 1
    left: list[Node] = [g.add(Node(col=0, row=0, **_tensor("input", 0, terms, base)))]
    right: list[Node | None] = [None]
    layer = 0
    for i, (f, b) in enumerate(zip(forward, reversed(backward), strict=True)):
        row = 2 * i + 1
        layer += f == "linear"
        k = str(layer).translate(SUB)
        op = g.add(Node(col=0, row=row, colour="#e8eaf6", edge=BLUE, **_named(term_of(f, terms), f, base)))
        vjp = g.add(Node(col=2, row=row, colour="#fff3e0", edge=ORANGE, **_named(term_of(b, terms), b, base)))
        g.edges += [(left[-1], op, False), (left[-1], vjp, True)]  # the op's input, kept for its VJP
        if f == "linear":
            vjp.lines.insert(1, (f"→ ∂ℓ/∂W{k}, ∂ℓ/∂b{k}", "math"))
            for sym, tid in ((f"W{k}", "weight"), (f"b{k}", "bias")):
                param = g.add(Node(col=1, row=row, colour="#f5f5f5", lines=[(sym, "math")]))
                if tid in terms:
                    param.lines.append((terms[tid].zh.name, "zh"))
                    param.href, param.title = f"{base}{tid}/", f"{terms[tid].en.name} · {terms[tid].zh.name}"
                g.edges += [(param, op, False), (param, vjp, True)]
        if i == loss_at:
            target = g.add(
                Node(col=1, row=row, colour="#f5f5f5", lines=[("y", "math"), ("目标", "zh")], title="target · 目标值")
            )
            g.edges += [(target, op, False), (target, vjp, True)]
        kind = (
            "loss"
            if i == loss_at
            else ("linear_last" if i == linears[-1] else "linear")
            if f == "linear"
            else "activation"
        )
        out = g.add(Node(col=0, row=row + 1, **_tensor(kind, layer, terms, base)))
        g.edges.append((op, out, False))
        left.append(out)
        right.append(vjp)
    # The right column's tensors: the gradient with respect to each left tensor, flowing up.
    grads: list[Node | None] = [None] * len(left)
    grad_term = {"href": f"{base}gradient/", "title": "gradient · 梯度"} if "gradient" in terms else {}
    for r in range(len(left) - 1, 0, -1):
        sym = left[r].lines[0][0].split(" = ")[-1]  # "ŷ = z₂" → z₂
        if r == len(left) - 1:
            label = "∂ℓ/∂ℓ = 1"
        elif sym.startswith("z"):
            label = f"δ{sym[1:]} = ∂ℓ/∂{sym}"
        else:
            label = f"∂ℓ/∂{sym}"
        grads[r] = g.add(
            Node(col=2, row=2 * r, lines=[(label, "math"), ("gradient · ", "en"), ("梯度", "zh")], **grad_term)
        )
    for r in range(len(left) - 1, 0, -1):
        vjp = right[r]
        assert vjp is not None and grads[r] is not None
        g.edges.append((grads[r], vjp, False))
        if grads[r - 1] is not None:
            g.edges.append((vjp, grads[r - 1], False))
    last = grads[-1]
    assert last is not None
    g.edges.append((left[-1], last, False))  # the backward pass starts from the loss: ∂ℓ/∂ℓ = 1
    return g


def _merged(n: Node) -> list[list[tuple[str, str]]]:
    """The node's lines as drawn: a part that ends with " · " shares its line with the next ("gradient · 梯度")."""
    merged: list[list[tuple[str, str]]] = []
    for text, kind in n.lines:
        if merged and merged[-1][-1][0].endswith(" · "):
            merged[-1].append((text, kind))
        else:
            merged.append([(text, kind)])
    return merged


def _text_lines(n: Node) -> list[str]:
    """The SVG <text> elements of a node, one per drawn line, centred."""
    out = []
    cx = n.x + n.w / 2
    for i, parts in enumerate(_merged(n)):
        y = n.y + 4 + LINE * (i + 1) - 2.5
        spans = []
        for text, kind in parts:
            style = {
                "code": f' font-family="{MONO}" font-weight="bold"',
                "zh": ' lang="zh-Hans"',
                "en": ' lang="en"',
                "math": ' font-style="italic"',
            }[kind]
            spans.append(f"<tspan{style}>{escape(text)}</tspan>")
        out.append(f'<text x="{cx:g}" y="{y:g}" text-anchor="middle">{"".join(spans)}</text>')
    return out


def _anchor(a: Node, b: Node) -> tuple[float, float, float, float]:
    """Where an edge from ``a`` to ``b`` leaves and arrives: vertical within a column, sideways across."""
    if a.col == b.col:
        down = b.y > a.y
        return (a.x + a.w / 2, a.y + (a.h if down else 0), b.x + b.w / 2, b.y + (0 if down else b.h))
    right = b.x > a.x
    ya, yb = a.y + a.h / 2, b.y + b.h / 2
    return (a.x + (a.w if right else 0), ya, b.x + (0 if right else b.w), yb)


def svg(g: Graph) -> bytes:
    """The graph as a standalone SVG (deterministic: the same graph gives the same bytes)."""
    for n in g.nodes:
        n.h = len(_merged(n)) * LINE + 7
    top = 40.0
    rows = max(n.row for n in g.nodes) + 1
    heights = [
        max(sum(n.h + 4 for n in g.nodes if n.row == r and n.col == c) - 4 for c in range(3)) for r in range(rows)
    ]
    y = top
    for r in range(rows):
        for col in range(3):  # the nodes of one cell (W and b) stacked, 4 units apart, centred in the row
            cell = [n for n in g.nodes if n.row == r and n.col == col]
            at = y + (heights[r] - sum(n.h for n in cell) - 4 * (len(cell) - 1)) / 2
            for n in cell:
                n.y = at
                at += n.h + 4
        y += heights[r] + 16
    bottom = y - 16 + 44
    body: list[str] = []
    for a, b, dashed in g.edges:
        x1, y1, x2, y2 = _anchor(a, b)
        dash = ' stroke-dasharray="3 2.5"' if dashed else ""
        colour = ORANGE if dashed else GREY
        body.append(
            f'<path d="M{x1:.1f} {y1:.1f} L{x2:.1f} {y2:.1f}" stroke="{colour}" stroke-width="1"{dash}'
            ' fill="none" marker-end="url(#dl-bp-arrow)"/>'
        )
    for n in g.nodes:
        box = (
            f'<rect x="{n.x:g}" y="{n.y:.1f}" width="{n.w:g}" height="{n.h:.1f}" rx="4" fill="{n.colour}" '
            f'stroke="{n.edge}" stroke-width="1"/>'
        )
        inner = "".join([f"<title>{escape(n.title)}</title>" if n.title else "", box, *_text_lines(n)])
        body.append(f'<a href="{escape(n.href)}" target="_top">{inner}</a>' if n.href else f"<g>{inner}</g>")
    head = [
        (COLS[0] + COLS[1] / 2, "forward_pass", "forward pass · ", "前向传播", BLUE),
        (COLS[4] + COLS[5] / 2, "backward_pass", "backward pass · ", "反向传播", ORANGE),
    ]
    for cx, code, en, zh, colour in head:
        body.append(
            f'<text x="{cx:g}" y="14" text-anchor="middle" fill="{colour}"><tspan font-family="{MONO}" '
            f'font-weight="bold">reference.{code}</tspan></text>'
            f'<text x="{cx:g}" y="28" text-anchor="middle" fill="{colour}"><tspan lang="en">{en}</tspan>'
            f'<tspan lang="zh-Hans">{zh}</tspan></text>'
        )
    legend_y = bottom - 26
    body.append(
        f'<text x="{WIDTH / 2:g}" y="{legend_y:g}" text-anchor="middle"><tspan lang="en">dashed: kept by the forward '
        f'pass for the backward pass</tspan></text><text x="{WIDTH / 2:g}" y="{legend_y + LINE:g}" '
        f'text-anchor="middle"><tspan lang="zh-Hans">虚线：前向传播保存、供反向传播使用的值</tspan></text>'
    )
    height = bottom
    return (
        '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'  # a standalone SVG file, like matplotlib's
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH * SCALE:g}" height="{height * SCALE:g}" '
        f'viewBox="0 0 {WIDTH} {height:g}" font-family="{SANS}" font-size="{FONT_PX}" fill="#212121" role="img" '
        'aria-labelledby="dl-bp-title">'
        '<title id="dl-bp-title">The computational graph of reference.forward_pass and reference.backward_pass '
        "for a two-layer network · 参考实现前向传播与反向传播的计算图</title>"
        '<defs><marker id="dl-bp-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0 0 L8 4 L0 8 z" fill="#757575"/></marker></defs>'
        f'<rect width="{WIDTH}" height="{height:g}" fill="#ffffff"/>' + "".join(body) + "</svg>\n"
    ).encode()


def draw_backprop_graph(terms: dict[str, Term], base: str = "../") -> bytes:
    """The SVG of backpropagation's computational graph, traced from the reference (see the module docstring)."""
    forward, backward = traced_passes()
    return svg(layout(forward, backward, terms, base))
