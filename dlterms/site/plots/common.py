"""What every plot of the site shares: matplotlib settings, colours, and small helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dlterms import reference

# Text size on a phone: the SVG shows at most as wide as the content column, 358 CSS px at a 390 px
# viewport (Material's margins; tests/site/test_plot_text_size.py measures it), and 1 pt of the figure
# is 4/3 CSS px at its own size. So text of TEXT_PT points in a figure at most MAX_WIDTH_PT wide is at
# least 10 CSS px there (10 x 358/340 = 10.5), and 13.3 px at 1280 px, where figures show at their size.
TEXT_PT = 10
MAX_WIDTH_PT = 340
PANEL_W = 4.6  # inches: a full-width panel (4.6 x 72 = 331 pt, with room for the tight bounding box)

RC = {
    "svg.hashsalt": "dlterms",  # fixed ids: the same figure gives the same bytes
    "svg.fonttype": "none",  # text as text: smaller files, the reader's fonts
    "font.family": "sans-serif",
    "font.size": TEXT_PT,
    "axes.titlesize": TEXT_PT,
    "axes.labelsize": TEXT_PT,
    "xtick.labelsize": TEXT_PT,
    "ytick.labelsize": TEXT_PT,
    "legend.fontsize": TEXT_PT,
    "figure.titlesize": TEXT_PT,
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


def fn(name: str) -> Callable[..., Any] | None:
    """The reference function ``name``, or None when dlterms.reference has none."""
    found = getattr(reference, name, None)
    return found if callable(found) else None


def first(value: Any) -> Any:
    """The differentiated input's gradient when a VJP returns one per input."""
    return value[0] if isinstance(value, tuple) else value


def scalar(value: Any) -> float:
    """The first number of a nested list (a loss of shape (1,) or (1, 1))."""
    while isinstance(value, list):
        value = value[0]
    return float(value)


def linspace(a: float, b: float, n: int) -> list[float]:
    """``n`` evenly spaced numbers from ``a`` to ``b`` (both included)."""
    return [a + (b - a) * i / (n - 1) for i in range(n)]
