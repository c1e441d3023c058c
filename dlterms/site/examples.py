"""A term's worked example: the inputs its glossary entry declares, the outputs the reference computes.

The ``[example]`` table of an entry (see :mod:`dlterms.glossary`) names one of the term's reference
functions and its keyword arguments; nothing else is typed in. :func:`compute` calls the function when
the site is built and :func:`example_markdown` prints inputs and outputs as a small block, the outputs
rounded to :data:`DIGITS` significant digits (the page says so).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dlterms import reference
from dlterms.glossary import Example, Term

from .text import code, fenced, md_text

__all__ = ["CALLABLES", "DIGITS", "Worked", "compute", "example_markdown", "format_value"]

DIGITS = 4  # significant digits of the printed outputs


def _fit_constant(params: Any, batch: list[float]) -> list[float]:
    """∂/∂w of the mean squared error between the constant prediction w and the batch's values."""
    (w,) = params
    d_pred = reference.mse_loss_vjp([w] * len(batch), list(batch), 1.0)[0]
    return [math.fsum(d_pred)]


# Functions an example may pass where a reference function takes a callable ({ callable = "<name>" }):
# name -> (the function, what it computes in English, in Chinese).
CALLABLES: dict[str, tuple[Callable[..., Any], str, str]] = {
    "fit_constant": (
        _fit_constant,
        "grad_fn(w, batch): the gradient of mean((w − y)²) over the batch's values y, "
        "by dlterms.reference.mse_loss_vjp (the cost is least at the mean of the data)",
        "grad_fn(w, batch)：mean((w − y)²) 对 w 的梯度，y 取批中的各个值，由 dlterms.reference.mse_loss_vjp "
        "计算（代价在数据的平均值处最小）",
    ),
}


@dataclass(frozen=True)
class Worked:
    """A computed example: the declared inputs and the reference's result."""

    example: Example
    inputs: dict[str, Any]  # callables resolved
    result: Any


def _function(name: str, where: str) -> Callable[..., Any]:
    fn = getattr(reference, name, None)
    if not callable(fn):
        raise ValueError(f"{where}: function={name!r}; expected a function of dlterms.reference")
    return fn


def _resolve(key: str, value: Any, where: str) -> Any:
    """An argument's value, with { function = ... } and { callable = ... } turned into functions."""
    if not isinstance(value, dict):
        return value
    if "callable" in value:
        if value["callable"] not in CALLABLES:
            raise ValueError(f"{where}: args.{key}.callable={value['callable']!r}; expected one of {sorted(CALLABLES)}")
        return CALLABLES[value["callable"]][0]
    fn = _function(value["function"], f"{where}: args.{key}")
    fixed = {k: v for k, v in value.items() if k != "function"}
    return lambda first: fn(first, **fixed)


def compute(term: Term) -> Worked | None:
    """Run the term's example through the reference; ``None`` if it declares none.

    An error of the reference (a bad input in the entry) is raised with the term's file named.
    """
    ex = term.example
    if ex is None:
        return None
    where = f"{term.path.name} [example]"
    fn = _function(ex.function, where)
    inputs = {k: _resolve(k, v, where) for k, v in ex.args.items()}
    try:
        result = fn(**inputs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: dlterms.reference.{ex.function} refused the inputs: {exc}") from exc
    if ex.outputs and (not isinstance(result, tuple) or len(result) != len(ex.outputs)):
        raise ValueError(f"{where}: outputs={list(ex.outputs)}; the result is not a tuple of {len(ex.outputs)}")
    return Worked(ex, inputs, result)


def _number(x: float | int, digits: int | None) -> str:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return repr(x)
    if isinstance(x, int) or digits is None:
        return f"{x:.15g}"
    if math.isnan(x) or math.isinf(x):
        return str(x)
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def format_value(value: Any, digits: int | None = None, indent: int = 0) -> str:
    """A value as a reader writes it: nested lists one row a line, numbers to ``digits`` significant digits.

    ``digits=None`` prints numbers exactly as given (the declared inputs).
    """
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple: its fields by name
        parts = [f"{name}={format_value(v, digits, indent)}" for name, v in zip(value._fields, value, strict=True)]
        return f"{type(value).__name__}(" + ", ".join(parts) + ")"
    if isinstance(value, tuple):
        return "(" + ", ".join(format_value(v, digits, indent + 1) for v in value) + ")"
    if isinstance(value, list):
        if not any(isinstance(v, list | tuple) for v in value):
            return "[" + ", ".join(format_value(v, digits) for v in value) + "]"
        rows = [format_value(v, digits, indent + 1) for v in value]
        return "[" + (",\n" + " " * (indent + 1)).join(rows) + "]"
    if value is None:
        return "None"
    if isinstance(value, str):
        return repr(value)
    return _number(value, digits)


def _shown_input(value: Any, indent: int) -> str:
    if isinstance(value, dict) and "callable" in value:
        return value["callable"]
    if isinstance(value, dict):
        fixed = ", ".join(f"{k}={format_value(v)}" for k, v in value.items() if k != "function")
        return f"lambda v: {value['function']}(v, {fixed})"
    return format_value(value, None, indent)


def _call(worked: Worked) -> str:
    """The call as Python: tensors by name (positional while in the signature's order), the rest as keywords."""
    ex = worked.example
    order = list(inspect.signature(_function(ex.function, ex.function)).parameters)
    parts, positional = [], True
    for i, (key, value) in enumerate(ex.args.items()):
        tensor = isinstance(value, list | dict)
        positional = positional and tensor and i < len(order) and order[i] == key
        shown = key if tensor else format_value(value)
        parts.append(shown if positional else f"{key}={shown}")
    return f"{ex.function}({', '.join(parts)})"


def _assign(name: str, value: Any) -> list[str]:
    """``name = value`` lines; a NamedTuple gives one line per field (``name.field = ...``)."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return [line for f, v in zip(value._fields, value, strict=True) for line in _assign(f"{name}.{f}", v)]
    return [f"{name} = {format_value(value, DIGITS, len(name) + 3)}"]


def _block(worked: Worked) -> str:
    ex = worked.example
    lines = [f"{k} = {_shown_input(v, len(k) + 3)}" for k, v in ex.args.items() if isinstance(v, list | dict)]
    lines.append(f"# {_call(worked)} →")
    if ex.outputs:
        for name, part in zip(ex.outputs, worked.result, strict=True):
            lines += _assign(name, part)
    else:
        lines += _assign("result", worked.result)
    return "\n".join(lines)


def example_markdown(term: Term) -> str:
    """The "Worked example" section of a term's page ('' when the entry declares none)."""
    worked = compute(term)
    if worked is None:
        return ""
    ex = worked.example
    notes = [
        f"*{md_text(CALLABLES[v['callable']][1])}*" for v in ex.args.values() if isinstance(v, dict) and "callable" in v
    ]
    notes_zh = [
        f"*{md_text(CALLABLES[v['callable']][2])}*" for v in ex.args.values() if isinstance(v, dict) and "callable" in v
    ]
    ref = code(f"dlterms.reference.{ex.function}")
    how_en = f"Computed by {ref} when this page was built; outputs rounded to {DIGITS} significant digits."
    how_zh = f"由 {ref} 在构建本页时计算；输出保留 {DIGITS} 位有效数字。"
    body = [
        md_text(ex.caption_en) + "<br>",
        f'<span lang="zh-Hans">{md_text(ex.caption_zh)}</span>',
        "",
        fenced(_block(worked), "text"),
        "",
        " ".join([how_en, *notes]) + "<br>",
        f'<span lang="zh-Hans">{" ".join([how_zh, *notes_zh])}</span>',
    ]
    # Out of the search text: numbers and captions would only add noise to the results.
    inner = "\n".join(body)
    return f'## Worked example · 算例\n\n<div class="dl-example" markdown data-search-exclude>\n\n{inner}\n\n</div>'
