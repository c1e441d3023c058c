"""The plots of the term pages, drawn from dlterms.reference at build time (matplotlib, SVG).

Which pictures a term gets is declared by its glossary entry (``[[picture]]`` tables, see
:data:`dlterms.glossary.PICTURE_KINDS`), never guessed from its id or its functions:

* ``curves``: an elementwise function and its derivative (from its ``*_vjp``);
* ``vector``: a function of one vector (softmax): logits and outputs as bars;
* ``loss``: loss and gradient as a prediction moves;
* ``descent``: batch / stochastic / mini-batch gradient descent on the cost surface;
* ``learning-rates``: the cost for too small, good and too large learning rates;
* ``convolution`` (with ``stride``, ``padding``), ``pooling``, ``cnn-block``: the window on a small grid;
* ``rnn``: the unrolled network and its four input/output modes (``variant`` highlights one);
* ``lstm-cell``: the LSTM cell's gates and state lines, with one step's numbers from the reference
  (:mod:`.cells`);
* ``positional-encoding``: the sinusoidal encodings of 64 positions as a heat map (:mod:`.heatmaps`);
* ``attention``: the weights of one self-attention example as a heat map, without and with the causal
  mask (:mod:`.heatmaps`);
* ``transformer-block``: the Transformer block's post-norm and pre-norm orders (:mod:`.cells`; a test
  computes the reference's block by walking the drawn stages);
* ``interpolation``: a 3 × 3 image upsampled to 6 × 6 by nearest and bilinear resampling, with and without
  ``align_corners`` (:mod:`.heatmaps`);
* ``computational-graph``: backpropagation's forward and backward pass, traced from the reference's
  ``forward_pass`` and ``backward_pass`` (:mod:`.graph`; a hand-written SVG whose nodes link to terms);
* a term that declares none: a map of the term and its related terms (the fallback).

A picture whose reference functions are absent or fail is replaced by the fallback, with a warning.
Each picture is drawn once per build, whatever the number of terms that show it. SVG output
is byte-identical across builds (``svg.hashsalt``, no date); text stays text (``svg.fonttype: none``).
A drawer may also return the SVG's bytes itself (the computational graph).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from dlterms.glossary import Picture as Declared
from dlterms.glossary import Section, Term

from ..text import log, write_if_changed
from . import cells, curves, descent, diagrams, graph, grids, heatmaps
from .common import METADATA, RC

__all__ = ["DRAWERS", "Picture", "Plotter", "computational_graph", "fallback_picture", "pictures_for"]


@dataclass(frozen=True)
class Picture:
    """One SVG: its file stem (shared by the terms that show it), captions, and how to draw it."""

    name: str
    caption_en: str
    caption_zh: str
    draw: Callable[[], Figure | bytes]  # a matplotlib figure, or an SVG's bytes
    alt: str = ""


def _curves(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "curves-" + "-".join(p.functions),
        "Solid: the function; dashed: its derivative, from the reference's vector-Jacobian product.",
        "实线：函数本身；虚线：导数，由参考实现的向量-雅可比积（VJP）算出。",
        lambda: curves.draw_curves(p.functions),
    )


def _vector(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "vector-" + "-".join(p.functions),
        "Grey: four logits; blue: the function's output for them.",
        "灰色：四个 logit；蓝色：函数对它们的输出。",
        lambda: curves.draw_vector_maps(p.functions),
    )


def _loss(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "loss-" + "-".join(p.functions),
        "Solid: the loss as the prediction moves; dashed: its gradient (the reference's VJP).",
        "实线：预测变化时的损失；虚线：其梯度（参考实现的 VJP）。",
        lambda: curves.draw_losses(p.functions),
    )


def _descent(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        f"descent-{p.variant}",
        "Batch, mini-batch and stochastic gradient descent on the same regression problem "
        f"({p.variant} highlighted): the same 12 epochs, different paths.",
        f"同一回归问题上的批量、小批量与随机梯度下降（突出显示：{p.variant}）：同样 12 轮，路径不同。",
        lambda: descent.draw_descent_variants(p.variant),
    )


def _learning_rates(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "learning-rates",
        "The cost over 12 steps of gradient descent with a too small, a good and a too large learning rate.",
        "学习率过小、合适与过大时，梯度下降 12 步的损失变化。",
        descent.draw_learning_rates,
    )


def _convolution(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        f"conv-s{p.stride}-p{p.padding}",
        "The highlighted 3×3 window of the input times the kernel, summed, gives the highlighted output.",
        "输入中高亮的 3×3 窗口与卷积核逐元素相乘再求和，得到输出中高亮的值。",
        lambda: grids.draw_convolution(p.stride, p.padding),
    )


def _pooling(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "pool-" + "-".join(p.functions),
        "Each coloured 2×2 window of the input gives the output cell of the same colour.",
        "输入中每个彩色 2×2 窗口给出输出中同色的格子。",
        lambda: grids.draw_pooling(p.functions),
    )


def _cnn_block(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "cnn-block", "One CNN block computed by the reference.", "参考实现计算的一个 CNN 块。", grids.draw_cnn_block
    )


def _rnn(p: Declared, terms: dict[str, Term]) -> Picture:
    mode = p.variant or None
    return Picture(
        f"rnn-{mode or 'all'}",
        "Top: the network unrolled over four steps (states from the reference). "
        "Bottom: the four input/output modes" + (f", {mode} highlighted." if mode else "."),
        "上：展开四步的循环神经网络（隐状态由参考实现算出）。下：四种输入/输出模式"
        + (f"，突出显示 {mode}。" if mode else "。"),
        lambda: diagrams.draw_rnn(mode),
    )


def _lstm_cell(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "lstm-cell",
        "One step of an LSTM cell with one unit: the gates f, i, g, o read [h, x]; the cell state c is scaled by "
        "the forget gate f and gets i·g added; h′ = o·tanh(c′). The numbers are the reference's lstm_cell.",
        "单个单元的 LSTM 一步：门 f、i、g、o 读取 [h, x]；记忆元 c 乘以遗忘门 f，再加上 i·g；h′ = o·tanh(c′)。"
        "数值由参考实现的 lstm_cell 算出。",
        cells.draw_lstm_cell,
        alt="LSTM cell diagram: forget, input, candidate and output gates, the cell-state line and the output.",
    )


def _positional_encoding(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "positional-encoding",
        "The sinusoidal positional encodings of positions 0 to 63 for a 32-dimensional model, from the reference: "
        "each row is a position; the first columns turn fastest, the last ones slowest.",
        "参考实现算出的 32 维模型中位置 0 到 63 的正弦位置编码：每行是一个位置；前面的列变化最快，后面的最慢。",
        heatmaps.draw_positional_encoding,
        alt="Heat map of sinusoidal positional encodings: 64 positions by 32 dimensions, stripes widening rightwards.",
    )


def _attention(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "attention-weights",
        "The weights softmax(QKᵀ/√E) of a self-attention over six positions, from the reference: each row is a "
        "query and sums to 1. Right: with the causal mask, query i sees keys j ≤ i only.",
        "参考实现算出的六个位置自注意力的权重 softmax(QKᵀ/√E)：每行是一个查询，和为 1。右：加因果掩码后，"
        "查询 i 只看到键 j ≤ i。",
        heatmaps.draw_attention,
        alt="Two heat maps of attention weights over six positions; the causal one is zero above the diagonal.",
    )


def _interpolation(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "interpolation",
        "A 3 × 3 image upsampled to 6 × 6 by the reference's interpolate: nearest copies each input to a 2 × 2 "
        "block; bilinear with half-pixel centres (align_corners=False) repeats the edges; bilinear with "
        "align_corners=True keeps the four corner values and spreads the inputs out to them.",
        "参考实现的 interpolate 把 3 × 3 图像上采样为 6 × 6：最近邻把每个输入复制成 2 × 2 的块；半像素中心的双线性"
        "插值（align_corners=False）边缘重复；align_corners=True 的双线性插值保留四个角的值，并把输入铺展到角上。",
        heatmaps.draw_interpolation,
        alt="Four heat maps: a 3 by 3 image and its 6 by 6 nearest, half-pixel bilinear and align_corners upsamplings.",
    )


def _transformer_block(p: Declared, terms: dict[str, Term]) -> Picture:
    return Picture(
        "transformer-block",
        "The Transformer block's two orders of the reference's transformer_encoder_block. Post-norm "
        "(norm_first=False, PyTorch's default and Vaswani et al.'s) normalizes after each residual sum; pre-norm "
        "(norm_first=True, Xiong et al.) normalizes each sublayer's input, leaving the residual path untouched.",
        "参考实现 transformer_encoder_block 的两种顺序。后归一化（norm_first=False，PyTorch 的默认，Vaswani 等）在"
        "每次残差相加之后做层规范化；前归一化（norm_first=True，Xiong 等）对每个子层的输入做规范化，残差通路不经过它。",
        cells.draw_transformer_block,
        alt="Two stacks of boxes: post-norm (attention, add, LayerNorm, feed-forward, add, LayerNorm) and pre-norm.",
    )


def computational_graph(p: Declared, terms: dict[str, Term]) -> Picture:
    """Backpropagation's computational graph (kind ``computational-graph``), its nodes linked to ``terms``."""
    return Picture(
        "graph-backprop",
        "The computational graph of the reference's forward_pass and backward_pass for a two-layer network, "
        "traced from the calls they make: each backward call is the VJP of the forward call beside it; "
        "dashed: values the forward pass keeps for the backward pass. Each box links to its term.",
        "参考实现 forward_pass 与 backward_pass 在两层网络上的计算图，由它们实际调用的函数追踪得出：反向传播的"
        "每个调用都是其旁边前向调用的向量-雅可比积（VJP）；虚线：前向传播保存、供反向传播使用的值。每个方框链接到"
        "对应的术语。",
        lambda: graph.draw_backprop_graph(terms),
        alt="Computational graph of backpropagation: linear, relu, linear, mse_loss forward; their VJPs backward.",
    )


# One entry per kind of dlterms.glossary.PICTURE_KINDS (tied by a test).
DRAWERS: dict[str, Callable[[Declared, dict[str, Term]], Picture]] = {
    "curves": _curves,
    "vector": _vector,
    "loss": _loss,
    "descent": _descent,
    "learning-rates": _learning_rates,
    "convolution": _convolution,
    "pooling": _pooling,
    "cnn-block": _cnn_block,
    "rnn": _rnn,
    "lstm-cell": _lstm_cell,
    "positional-encoding": _positional_encoding,
    "attention": _attention,
    "interpolation": _interpolation,
    "transformer-block": _transformer_block,
    "computational-graph": computational_graph,
}


def pictures_for(term: Term, terms: dict[str, Term], sections: Sequence[Section]) -> list[Picture]:
    """The pictures ``term`` declares, in its order; the related-terms map when it declares none."""
    return [DRAWERS[p.kind](p, terms) for p in term.pictures] or [fallback_picture(term, terms, sections)]


def fallback_picture(term: Term, terms: dict[str, Term], sections: Sequence[Section]) -> Picture:
    """The picture of a term no other picture fits: the term, the functions that show it, its related terms."""
    return Picture(
        f"related-{term.id}",
        "The term, the reference functions that show it, and its related terms (colour: seed section).",
        "本术语、体现它的参考实现函数及其相关术语（颜色表示所在章节）。",
        lambda: diagrams.draw_related(term, terms, sections),
    )


class Plotter:
    """Draws each picture once per build into ``folder`` (``<name>.svg``), byte-identical across builds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, Path] = {}

    def render(self, picture: Picture, fallback: Callable[[], Picture]) -> tuple[Picture, Path]:
        """Write ``picture`` (or, if drawing it fails, ``fallback()``) once; return it and its file."""
        if picture.name in self.files:
            return picture, self.files[picture.name]
        try:
            data = svg(picture.draw)
        except Exception as exc:  # a reference function missing or whose signature moved: the fallback
            log.warning("dlterms: plot %r failed (%s: %s); drawing the fallback", picture.name, type(exc).__name__, exc)
            picture = fallback()
            data = svg(picture.draw)
        path = self.folder / f"{picture.name}.svg"
        write_if_changed(path, data)
        self.files[picture.name] = path
        return picture, path


def svg(draw: Callable[[], Figure | bytes]) -> bytes:
    """The SVG bytes of the figure ``draw()`` makes, with the site's settings (or the bytes it returns)."""
    with matplotlib.rc_context(RC):
        fig = draw()
        if isinstance(fig, bytes):
            return fig
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata=METADATA, bbox_inches="tight")
    return buf.getvalue()
