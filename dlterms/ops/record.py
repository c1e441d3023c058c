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
from functools import cached_property
from typing import Any, Literal

__all__ = [
    "ABSOLUTE",
    "AT_SIZES",
    "HUGE_ROWS",
    "INF",
    "LONG_REDUCTION",
    "MANY_ROWS",
    "NAN",
    "REDUCTION_LENGTHS",
    "REFUSED",
    "REQUIRED",
    "SPECIAL_VALUES",
    "VECTOR_LENGTHS",
    "Accuracy",
    "Arg",
    "Cases",
    "Op",
    "Special",
    "as_pair",
    "index",
    "option",
    "relative",
    "tensor",
]

Role = Literal["tensor", "index", "option"]
Model = Literal["relative", "absolute"]
SpecialKind = Literal["definition", "choice"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of an argument that has none
INF, NAN = math.inf, math.nan  # for the special values, written as in the formulas
REFUSED = "refused"  # the value of a special input the op must refuse with an error

# The three invariants every op gets from its record (see dlterms.conformance.registry).
GENERATED = ("matches_reference", "vjp_matches_reference", "grad_matches_finite_difference")
# The fourth, generated for an op with at least one special value that the definition fixes.
SPECIAL_VALUES = "special_values"
# The fifth, generated for an op that declares ``sizes``: the forward comparison at realistic shapes.
AT_SIZES = "matches_reference_at_sizes"

# Lengths of the size tier's reductions and vectors: around the sizes where kernels switch code
# paths (a vector width's remainder, a block of 256, 512, 768, 1024 or 2048 elements), each with
# its odd neighbours.
REDUCTION_LENGTHS: tuple[int, ...] = tuple(n + d for n in (256, 512, 768, 1024, 2048) for d in (-1, 0, 1))
# Vector lengths 2^k − 1, 2^k and 2^k + 1 up to 4,097: every vector width's multiples and remainders.
VECTOR_LENGTHS: tuple[int, ...] = tuple(2**k + d for k in range(2, 13) for d in (-1, 0, 1))
# Rows past 65,535: the largest grid dimension of a CUDA launch other than x (a kernel that maps
# rows to it breaks beyond).
MANY_ROWS = 65_537
# Rows past 2²¹ = 2,097,152: where a matmul kernel's row index outgrew its grid (TensorFlow 1.5-1.8),
# and a mean over that many rows sums more than LONG_SUM terms.
HUGE_ROWS = 2**21 + 1
# A reduction long enough that a sequential float32 sum loses digits that a pairwise or blocked one keeps.
LONG_REDUCTION = 10_000_000


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
class Accuracy:
    """How close ``<op>.matches_reference`` requires a backend's result to be to the reference.

    ``"relative"``: ``|ŷ − y| ≤ k·u·(|y| + s(x)) + a(x) + λ`` elementwise, where u
    is the unit roundoff of the dtype, λ its smallest normal number, ``s`` the
    op's *sensitivity* (``κ(x)·|y|``, κ the condition number), named by
    ``sensitivity``, and ``a`` what its steps may add beyond that (a sum's
    ``γ_n·Σ|terms|`` in the accumulator's precision; a factor's floor, such as
    ``|x|·λ`` for x·σ(x)), named by ``accumulation`` ("" for an op with
    neither); both are defined in :mod:`dlterms.conformance.tolerances`.
    ``"absolute"``: the dtype's ``atol + rtol·|y|`` (for ops whose result can
    cancel, such as dot products, where no bound relative to the value holds).
    ``why`` says why the model fits the op. The model and its sources are on
    the *How far to trust the reference* page.
    """

    model: Model
    sensitivity: str = ""
    why: str = ""
    accumulation: str = ""

    def __post_init__(self) -> None:
        if self.model not in ("relative", "absolute"):
            raise ValueError(f"Accuracy: model={self.model!r}; expected 'relative' or 'absolute'")
        if (self.model == "relative") != bool(self.sensitivity):
            raise ValueError(
                f"Accuracy: sensitivity={self.sensitivity!r} with model={self.model!r}; "
                "expected a sensitivity name exactly for the relative model"
            )
        if not self.why:
            raise ValueError(f"Accuracy({self.model!r}, {self.sensitivity!r}): why is empty; expected the reason")
        if self.accumulation and self.model != "relative":
            raise ValueError(
                f"Accuracy: accumulation={self.accumulation!r} with model={self.model!r}; "
                "expected an accumulation only for the relative model"
            )


def relative(sensitivity: str, why: str, accumulation: str = "") -> Accuracy:
    """The relative accuracy model with the named sensitivity and accumulation functions."""
    return Accuracy("relative", sensitivity, why, accumulation)


ABSOLUTE = Accuracy(
    "absolute",
    why="a sum of products that can cancel (a dot product, a convolution, a difference): "
    "its error is relative to the size of the terms, not to the result",
)


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

    ``kind`` says whether the definition fixes the value (``"definition"``:
    NaN in gives NaN out, the limits at ±∞, a masked logit's probability 0),
    which ``<op>.special_values`` checks and fails, or leaves a choice
    (``"choice"``: a row holding +∞, the −100 clamp, the mean of nothing),
    which is only reported as a fact; ``because`` gives the reason in one line.
    A refusal (:data:`REFUSED`) that the definition fixes is met by an error
    or by a NaN result (IEEE 754's result of an invalid operation), never by a number.
    """

    name: str
    expect: str
    why: str
    args: dict[str, Any]
    value: Any
    signed_zeros: bool = False  # whether +0.0 and −0.0 count as different here
    kind: SpecialKind = "definition"
    because: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("definition", "choice"):
            raise ValueError(f"Special {self.name!r}: kind={self.kind!r}; expected 'definition' or 'choice'")
        if not self.because:
            raise ValueError(f"Special {self.name!r}: because is empty; expected why it is a {self.kind}")

    @property
    def fixed(self) -> bool:
        """Whether the definition fixes the value (then a backend that differs fails)."""
        return self.kind == "definition"

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
    accuracy: Accuracy = ABSOLUTE  # how close matches_reference requires the result to be
    # The size tier (``dlterms conform --sizes``): realistic shapes, named like ``cases`` but the
    # function yields concrete calls from a NumPy generator (dlterms.conformance.sizes).
    sizes: Cases | None = None

    def __post_init__(self) -> None:
        names = [a.name for a in self.args]
        if len(set(names)) != len(names):
            raise ValueError(f"op {self.name!r}: an argument is declared twice in {names}")
        for sv in self.special_values:
            unknown = sorted(set(sv.args) - set(names))
            if unknown:
                raise ValueError(f"op {self.name!r}: special value {sv.name!r} has unknown arguments {unknown}")

    @cached_property  # read for every example of every check
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)

    @cached_property  # read for every example of every check
    def tensors(self) -> tuple[str, ...]:
        """Floating-point tensor arguments: converted with ``asarray(value, dtype)``."""
        return tuple(a.name for a in self.args if a.role == "tensor")

    @cached_property  # read for every example of every check
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
    def definitions(self) -> tuple[Special, ...]:
        """The special values the definition fixes (checked by ``<op>.special_values``)."""
        return tuple(sv for sv in self.special_values if sv.fixed)

    @property
    def invariant_ids(self) -> tuple[str, ...]:
        """The IDs of the invariants generated from this record (``special_values`` if it has definitions,
        ``matches_reference_at_sizes``, the size tier's, if it declares sizes)."""
        generated = GENERATED + ((SPECIAL_VALUES,) if self.definitions else ()) + ((AT_SIZES,) if self.sizes else ())
        return tuple(f"{self.name}.{g}" for g in generated)

    @property
    def special_value_ids(self) -> tuple[str, ...]:
        return tuple(f"{self.name}.{sv.name}" for sv in self.special_values)
