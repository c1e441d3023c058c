"""The one choke point where reference functions check and unpack their inputs.

Tensors in :mod:`dlterms.reference` are nested Python lists of numbers
(``[[1.0, 2.0], [3.0, 4.0]]``); a bare number is a 0-d tensor. Every public
function calls :func:`tensor` on each tensor argument, which

* refuses what is not a tensor (``bool``, ``str``, ``None``, ``complex``, ...)
  with a :class:`TypeError`,
* refuses ragged nesting with a :class:`ValueError`,
* returns the shape and the row-major flat list of ``float`` values.

Every message names the function, the argument, what it got and what was
expected, so that a user can fix the call without reading this file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Shape = tuple[int, ...]
Nested = Any  # float | list[Nested]; recursive aliases do not help readers here


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def tensor(fn: str, name: str, value: object) -> tuple[Shape, list[float]]:
    """Check that ``value`` is a rectangular nested list of real numbers.

    Returns ``(shape, flat)`` where ``flat`` lists the values as floats in
    row-major order. Raises :class:`TypeError` for a non-numeric leaf and
    :class:`ValueError` for ragged nesting.
    """
    shape = _shape_of(fn, name, value)
    flat: list[float] = []
    _flatten(fn, name, value, shape, 0, (), flat)
    return shape, flat


MAX_RANK = 64
"""The most axes a tensor may have (NumPy's limit); deeper nesting is refused, not recursed into."""


def _shape_of(fn: str, name: str, value: object) -> Shape:
    shape: list[int] = []
    while isinstance(value, list | tuple):
        if len(shape) == MAX_RANK:  # also ends the walk down a list that contains itself
            raise ValueError(
                f"{fn}: {name} is nested more than {MAX_RANK} lists deep (or contains itself); "
                f"expected a tensor of rank <= {MAX_RANK}"
            )
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _flatten(
    fn: str,
    name: str,
    value: object,
    shape: Shape,
    depth: int,
    index: tuple[int, ...],
    out: list[float],
) -> None:
    if depth == len(shape):
        # The common case checked inline; scalar() names the element (formatting its index) only
        # when the value is refused: naming every element cost 2% of a full conformance run.
        if type(value) is float:
            out.append(value)
        else:
            out.append(scalar(fn, f"{name}{_fmt_index(index)}", value))
        return
    if not isinstance(value, list | tuple):
        raise ValueError(
            f"{fn}: {name}{_fmt_index(index)} is a number but {name} has shape "
            f"{shape} from its first elements; expected a nested list of length "
            f"{shape[depth]} there (ragged nested lists are not tensors)"
        )
    if len(value) != shape[depth]:
        raise ValueError(
            f"{fn}: {name}{_fmt_index(index)} has length {len(value)} but expected "
            f"{shape[depth]} (ragged nested lists are not tensors; {name} has shape "
            f"{shape} from its first elements)"
        )
    for i, item in enumerate(value):
        _flatten(fn, name, item, shape, depth + 1, (*index, i), out)


def _fmt_index(index: tuple[int, ...]) -> str:
    return "".join(f"[{i}]" for i in index)


def scalar(fn: str, name: str, value: object) -> float:
    """Check that ``value`` is a real number (``int`` or ``float``, not ``bool``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{fn}: {name} is {_describe(value)}; expected a real number (int or float)")
    try:
        return float(value)
    except OverflowError:  # an int beyond the float64 range (about 1.8e308)
        raise ValueError(
            f"{fn}: {name} is an int of {value.bit_length()} bits; expected a real number "
            f"within the float64 range (|x| < 1.8e308)"
        ) from None


def finite_scalar(fn: str, name: str, value: object) -> float:
    """A real number that is neither NaN nor infinite (a hyper-parameter)."""
    x = scalar(fn, name, value)
    if not math.isfinite(x):
        raise ValueError(f"{fn}: {name}={x!r}; expected a finite real number")
    return x


def integer(fn: str, name: str, value: object, *, minimum: int | None = None) -> int:
    """Check that ``value`` is an ``int`` (not ``bool``), optionally ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{fn}: {name} is {_describe(value)}; expected an int")
    if minimum is not None and value < minimum:
        raise ValueError(f"{fn}: {name}={value}; expected an int >= {minimum}")
    return value


def choice(fn: str, name: str, value: object, allowed: Sequence[str]) -> str:
    """Check that ``value`` is one of the strings in ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{fn}: {name}={value!r}; expected one of {', '.join(map(repr, allowed))}")
    return str(value)


def normalize_axis(fn: str, axis: object, ndim: int) -> int:
    """Resolve a possibly negative ``axis`` against a tensor of rank ``ndim``."""
    axis = integer(fn, "axis", axis)
    if ndim == 0:
        raise ValueError(f"{fn}: x is 0-d (a scalar); expected a tensor of rank >= 1 to take axis={axis}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis={axis} is out of range for x of rank {ndim}; expected -{ndim} <= axis < {ndim}")
    return axis % ndim


def unflatten(flat: Sequence[float], shape: Shape) -> Nested:
    """Rebuild the nested list of ``shape`` from its row-major ``flat`` values."""
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [unflatten(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def lanes(shape: Shape, axis: int) -> Iterator[list[int]]:
    """Yield, for every 1-d slice of a tensor along ``axis``, its flat indices.

    For shape ``(2, 3)`` and ``axis=1`` this yields ``[0, 1, 2]`` and
    ``[3, 4, 5]``; for ``axis=0`` it yields ``[0, 3]``, ``[1, 4]``, ``[2, 5]``.
    """
    n = shape[axis]
    inner = math.prod(shape[axis + 1 :])
    outer = math.prod(shape[:axis])
    for o in range(outer):
        for i in range(inner):
            base = o * n * inner + i
            yield [base + k * inner for k in range(n)]


def same_shape(fn: str, name_a: str, shape_a: Shape, name_b: str, shape_b: Shape) -> None:
    """Refuse two tensors whose shapes differ (no broadcasting in the reference)."""
    if shape_a != shape_b:
        raise ValueError(
            f"{fn}: {name_a}.shape={shape_a} but {name_b}.shape={shape_b}; "
            f"expected equal shapes (the reference does not broadcast)"
        )


@contextmanager
def on_behalf_of(fn: str, note: str = "") -> Iterator[None]:
    """Make the errors of the functions that ``fn`` calls name ``fn`` too.

    A composite (``conv_block``, ``batch_gradient_descent``) checks its
    arguments by passing them on; a refusal then reads
    ``conv_block: max_pool2d: the kernel spans ...``, so the user sees the
    function they called first and the step that refused. ``note`` says how
    the inner argument names map to ``fn``'s (``"kernel_size is conv_block's pool_size"``).
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if message.startswith(f"{fn}:") and not note:
            raise
        prefix = "" if message.startswith(f"{fn}:") else f"{fn}: "
        raise type(exc)(prefix + message + (f" ({note})" if note else "")) from exc
