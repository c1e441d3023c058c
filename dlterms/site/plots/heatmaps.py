"""Matrices as heat maps, computed by the reference: attention weights, positional encodings, resampled images."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure

from .common import PANEL_W, fn

# Six positions of a self-attention example: x_t = 2·(cos t, sin t, ½cos 2t, ½sin 2t), so a query scores
# highest on its own key and on keys of a similar phase.
POSITIONS = 6


def tokens() -> list[list[float]]:
    """The example's six tokens x_t (see :data:`POSITIONS`)."""
    return [
        [2 * math.cos(t), 2 * math.sin(t), math.cos(2 * t), math.sin(2 * t)]
        for t in (0.9 * p for p in range(POSITIONS))
    ]


def attention_weights(causal: bool) -> list[list[float]]:
    """The weights softmax(QKᵀ/√E) of the example's self-attention (Q = K = the tokens), from the reference.

    With the identity as the values (S values of S features) attention returns its weights: P·I = P.
    """
    attend = fn("scaled_dot_product_attention")
    if attend is None:
        raise LookupError("dlterms.reference has no scaled_dot_product_attention")
    x = tokens()
    identity = [[1.0 if i == j else 0.0 for j in range(POSITIONS)] for i in range(POSITIONS)]
    out = attend(query=[[x]], key=[[x]], value=[[identity]], causal=causal)
    return [list(row) for row in out[0][0]]


def draw_attention() -> Figure:
    """Attention weights of one self-attention example, without and with the causal mask."""
    fig = Figure(figsize=(PANEL_W, 2.9))
    axes = fig.subplots(1, 2)
    image: Any = None
    for ax, causal, title in zip(axes, (False, True), ("all keys", "causal"), strict=True):
        weights = attention_weights(causal)
        image = ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=1.0)
        ax.set_title(title)
        ax.set_xlabel("key j")
        ax.set_xticks(range(POSITIONS))
        ax.set_yticks(range(POSITIONS))
        ax.grid(False)
    axes[0].set_ylabel("query i")
    fig.colorbar(image, ax=list(axes), shrink=0.7, label="weight")
    return fig


# The positional-encoding table shown: 64 positions of a 32-dimensional model (base 10000).
PE_POSITIONS, PE_DIMENSIONS = 64, 32


def positional_encodings() -> list[list[float]]:
    """The sinusoidal positional encodings of positions 0 … 63 for d = 32, from the reference."""
    encode = fn("sinusoidal_positional_encoding")
    if encode is None:
        raise LookupError("dlterms.reference has no sinusoidal_positional_encoding")
    return encode([float(p) for p in range(PE_POSITIONS)], PE_DIMENSIONS)


def draw_positional_encoding() -> Figure:
    """The table PE[p, j]: each row one position, sin in the even columns and cos in the odd ones."""
    fig = Figure(figsize=(PANEL_W, 3.2))
    ax = fig.add_axes((0.14, 0.16, 0.66, 0.74))
    image = ax.imshow(positional_encodings(), cmap="RdBu_r", vmin=-1.0, vmax=1.0, aspect="auto")
    ax.set_xlabel("dimension j")
    ax.set_ylabel("position p")
    ax.grid(False)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


# The image resampled: 3 × 3 values, upsampled to 6 × 6 by each mode shown.
RESAMPLED = [[0.0, 1.0, 0.0], [1.0, 3.0, 2.0], [0.0, 2.0, 4.0]]
RESAMPLE_SIZE = 6
RESAMPLE_MODES = (
    ("nearest", None, "nearest"),
    ("bilinear", False, "bilinear\nhalf-pixel"),
    ("bilinear", True, "bilinear\nalign_corners"),
)


def resampled(mode: str, align_corners: bool | None) -> list[list[float]]:
    """:data:`RESAMPLED` upsampled to 6 × 6 by the reference's ``interpolate``."""
    interpolate = fn("interpolate")
    if interpolate is None:
        raise LookupError("dlterms.reference has no interpolate")
    out = interpolate([[RESAMPLED]], RESAMPLE_SIZE, mode=mode, align_corners=align_corners)
    return [list(row) for row in out[0][0]]


def draw_interpolation() -> Figure:
    """The input and its three 6 × 6 upsamplings, two by two, on one colour scale."""
    fig = Figure(figsize=(PANEL_W, 4.8))
    axes = fig.subplots(2, 2).ravel()
    panels = [(RESAMPLED, "input\n3 × 3")] + [(resampled(m, a), title) for m, a, title in RESAMPLE_MODES]
    image: Any = None
    for ax, (values, title) in zip(axes, panels, strict=True):
        image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=4.0)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.colorbar(image, ax=list(axes), shrink=0.7)
    return fig
