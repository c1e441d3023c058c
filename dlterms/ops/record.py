"""The shape of an op record: what dlterms declares once about each canonical op.

An :class:`Op` is one operation of the backend contract (``softmax``,
``conv2d``, ...). Everything else that needs a fact about an op derives it
from here: the contract's op list and an adapter's coverage, the generated
invariants (``<op>.matches_reference`` and the two gradient checks), the
arguments a backend receives and which of them are differentiated, the
special-value probes, the adapter guide's op table and the site's framework
tabs. Standard library only, so that the glossary and the CLI can read it
without numpy or a framework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "INF",
    "NAN",
    "REFUSED",
    "REQUIRED",
    "Arg",
    "Cases",
    "Op",
    "Special",
    "as_pair",
    "index",
    "option",
    "tensor",
]

Role = Literal["tensor", "index", "option"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of an argument that has none
INF, NAN = math.inf, math.nan  # for the special values, written as in the formulas
REFUSED = "refused"  # the value of a special input the op must refuse with an error

# The three invariants every op gets from its record (see dlterms.conformance.registry).
GENERATED = ("matches_reference", "vjp_matches_reference", "grad_matches_finite_difference")


@dataclass(frozen=True)
class Arg:
    """One argument of an op, passed by keyword.

    ``role``: ``"tensor"`` (floating point; the backend converts it with
    ``asarray(value, dtype)``), ``"index"`` (integers; ``asarray(value,
    "int64")``) or ``"option"`` (a Python value passed as it is).
    ``differentiable`` tensors are the primals of the op's VJP, in the order
    the reference's ``<op>_vjp`` returns their cotangents.
    """

    name: str
    role: Role
    default: Any = REQUIRED
    differentiable: bool = False
    annotation: str = ""  # as a reader of the guide would write it: "int | (h, w)"

    def __post_init__(self) -> None:
        if self.role not in ("tensor", "index", "option"):
            raise ValueError(f"Arg {self.name!r}: role={self.role!r}; expected 'tensor', 'index' or 'option'")
        if self.differentiable and self.role != "tensor":
            raise ValueError(f"Arg {self.name!r}: only a tensor can be differentiable (role={self.role!r})")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def signature(self) -> str:
        return self.name if self.required else f"{self.name}={self.default!r}"


def as_pair(value: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """An ``int | (h, w)`` argument (stride, padding, kernel size) as an ``(h, w)`` pair of ints.

    The one normaliser of the contract's pair arguments, for code that reads a
    call already checked (adapters, invariants); the reference validates its
    own input and names the function and argument on error.
    """
    if isinstance(value, tuple | list):
        h, w = value
        return int(h), int(w)
    return int(value), int(value)


def tensor(name: str, default: Any = REQUIRED, *, differentiable: bool = True, annotation: str = "") -> Arg:
    """A floating-point tensor argument (differentiable unless said otherwise)."""
    return Arg(name, "tensor", default, differentiable, annotation)


def index(name: str, annotation: str = "") -> Arg:
    """An integer tensor argument (class indices)."""
    return Arg(name, "index", annotation=annotation)


def option(name: str, default: Any = REQUIRED, annotation: str = "") -> Arg:
    """A plain Python argument (an axis, a slope, a reduction, a stride)."""
    return Arg(name, "option", default, annotation=annotation)


@dataclass(frozen=True)
class Cases:
    """The Hypothesis strategy that samples an op's calls, named rather than imported.

    ``function`` is a dotted path inside :mod:`dlterms.conformance`
    (``"strategies.logits_with_axis"``), called as ``function(dtype,
    **kwargs)``; it returns a strategy of keyword-argument dicts. ``why``
    says why the variant exists (used for gradient cases that avoid kinks).
    """

    function: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    why: str = ""


@dataclass(frozen=True)
class Special:
    """A special input of an op and the value the definition gives it, checked by hand.

    ``name`` becomes the probe ID ``<op>.<name>``; ``args`` are keyword
    arguments of the op (options among them are passed as they are);
    ``value`` is the hand-checked result (nested lists, NaN and ±inf as
    floats), or :data:`REFUSED` when the op must raise; ``expect`` says it in
    words and ``why`` gives the reason it is the right value (the limit of
    the formula, IEEE arithmetic, a convention). The reference is tested
    against ``value``; a framework's result is measured against it.
    """

    name: str
    expect: str
    why: str
    args: dict[str, Any]
    value: Any
    signed_zeros: bool = False  # whether +0.0 and −0.0 count as different here

    @property
    def description(self) -> str:
        return f"{self.expect}: {self.why}"


@dataclass(frozen=True)
class Op:
    """One canonical op. See the module docstring for what is derived from it."""

    name: str
    term: str  # the glossary entry it belongs to
    summary: str  # one line, for the adapter guide's table
    args: tuple[Arg, ...]
    cases: Cases
    grad_cases: Cases | None = None  # default: ``cases``
    returns: tuple[str, ...] = ("y",)  # names of the outputs; several are returned as a tuple
    dtypes: tuple[str, ...] | None = None  # where the comparisons with the reference apply; None: all
    special_values: tuple[Special, ...] = ()

    def __post_init__(self) -> None:
        names = [a.name for a in self.args]
        if len(set(names)) != len(names):
            raise ValueError(f"op {self.name!r}: an argument is declared twice in {names}")
        for sv in self.special_values:
            unknown = sorted(set(sv.args) - set(names))
            if unknown:
                raise ValueError(f"op {self.name!r}: special value {sv.name!r} has unknown arguments {unknown}")

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)

    @property
    def tensors(self) -> tuple[str, ...]:
        """Floating-point tensor arguments: converted with ``asarray(value, dtype)``."""
        return tuple(a.name for a in self.args if a.role == "tensor")

    @property
    def indices(self) -> tuple[str, ...]:
        """Integer tensor arguments: converted with ``asarray(value, "int64")``."""
        return tuple(a.name for a in self.args if a.role == "index")

    @property
    def diff_args(self) -> tuple[str, ...]:
        """The differentiated arguments, in the order ``<op>_vjp`` returns them."""
        return tuple(a.name for a in self.args if a.differentiable)

    @property
    def defaults(self) -> dict[str, Any]:
        return {a.name: a.default for a in self.args if not a.required}

    @property
    def signature(self) -> str:
        """The framework-facing signature, as the adapter guide shows it."""
        out = self.returns[0] if len(self.returns) == 1 else f"({', '.join(self.returns)})"
        return f"{self.name}({', '.join(a.signature() for a in self.args)}) -> {out}"

    @property
    def invariant_ids(self) -> tuple[str, ...]:
        """The IDs of the invariants generated from this record."""
        return tuple(f"{self.name}.{g}" for g in GENERATED)

    @property
    def special_value_ids(self) -> tuple[str, ...]:
        return tuple(f"{self.name}.{sv.name}" for sv in self.special_values)
