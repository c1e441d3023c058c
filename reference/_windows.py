"""The sliding windows shared by convolution and pooling: ``(h, w)`` pairs, output sizes, taps, sums.

One loop structure serves :mod:`dlterms.reference.conv` and
:mod:`dlterms.reference.pooling`: :func:`windows` lists, for each output
position, the kernel taps ``(i, j)`` and the input positions ``(ih, iw)`` they
read (taps that fall in the padding are left out). Stride, padding and
dilation only change that list; a forward pass and its VJP walk the same list.
A VJP collects the terms of each input's gradient in :func:`bins` and adds
them with :func:`totals`, one correctly rounded sum per entry.
"""

from __future__ import annotations

from ._exact import exact_sum
from ._tensor import Nested, integer

__all__ = ["Pair", "Tap", "Window", "bins", "check_spatial", "output_size", "pair", "totals", "windows"]

Pair = tuple[int, int]
Tap = tuple[int, int, int, int]  # kernel offset (i, j), input position (ih, iw)
Window = tuple[int, int, list[Tap]]  # output position (oh, ow) and the taps it reads


def pair(fn: str, name: str, value: object, minimum: int) -> Pair:
    """An int or an ``(h, w)`` pair of ints (as in PyTorch), each ``>= minimum``, as an ``(h, w)`` pair."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"{fn}: {name}={value!r}; expected an int or a pair (h, w) of ints")
        return (
            integer(fn, f"{name}[0]", value[0], minimum=minimum),
            integer(fn, f"{name}[1]", value[1], minimum=minimum),
        )
    v = integer(fn, name, value, minimum=minimum)
    return v, v


def check_spatial(fn: str, name: str, shape: tuple[int, ...], layout: str) -> None:
    """Refuse a shape that is not 4-d (``layout`` names its axes) or has an empty spatial axis."""
    if len(shape) != 4:
        raise ValueError(f"{fn}: {name}.shape={shape}; expected a 4-d tensor {layout}")
    if 0 in shape[2:]:
        raise ValueError(f"{fn}: {name}.shape={shape} has an empty spatial axis; expected height and width >= 1")


def output_size(
    fn: str, axis: str, size: int, k: int, s: int, p: int, d: int, names: tuple[str, str] = ("size", "kernel_size")
) -> int:
    """Output positions along one axis; ``names``: the arguments that gave ``size`` and ``k``, for the message."""
    extent = d * (k - 1) + 1  # the dilated kernel covers this many input positions
    if extent > size + 2 * p:
        # The message names the arguments that gave both sizes, so the user knows which to change.
        raise ValueError(
            f"{fn}: the kernel spans {extent} positions along the {axis} (dilation {d} × ({names[1]}={k} − 1) + 1) "
            f"but the padded input has only {size} + 2·{p} = {size + 2 * p} ({names[0]}={size}, padding {p}); "
            f"expected a kernel that fits (use a smaller kernel or dilation, or more padding)"
        )
    return (size + 2 * p - extent) // s + 1


def windows(
    fn: str, size: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, kernel_name: str = "kernel_size"
) -> tuple[Pair, list[Window]]:
    """The output size and, for every output position, the taps that read the input (not the padding).

    ``kernel_name`` is the argument that gave the kernel size (``weight`` for a
    convolution), named by the message when the kernel does not fit.
    """
    axes = []
    for a, axis in enumerate(("height", "width")):
        n, k, s, p, d = size[a], kernel[a], stride[a], padding[a], dilation[a]
        k_name = f"{kernel_name}.shape[{2 + a}]" if kernel_name == "weight" else kernel_name
        out = output_size(fn, axis, n, k, s, p, d, (f"x.shape[{2 + a}]", k_name))
        # Output o reads input position o·s − p + i·d for kernel offset i (negative or ≥ n: padding).
        axes.append([[(i, o * s - p + i * d) for i in range(k) if 0 <= o * s - p + i * d < n] for o in range(out)])
    rows, cols = axes
    found = [
        (oh, ow, [(i, j, ih, iw) for i, ih in row for j, iw in col])
        for oh, row in enumerate(rows)
        for ow, col in enumerate(cols)
    ]
    return (len(rows), len(cols)), found


def bins(shape: tuple[int, ...]) -> Nested:
    """Nested lists of ``shape`` whose leaves are empty lists that collect terms for :func:`totals`."""
    return [bins(shape[1:]) for _ in range(shape[0])] if shape else []


def totals(collected: Nested, depth: int) -> Nested:
    """Replace each leaf list of :func:`bins` (``depth`` levels down) by the :func:`exact_sum` of its terms."""
    return exact_sum(collected) if depth == 0 else [totals(b, depth - 1) for b in collected]
