"""The edges of a dtype's range where kernels go wrong, declared once, and the values that reach them.

Bugs that ship hide where an implementation's formula stops being valid:
``e^x`` overflows above ``log(max)`` (88.72 in float32), a tanh written with
``e^{2x}`` overflows above half that, ``e^{−x}`` turns subnormal and then zero
(the gradient of a naive sigmoid is ∞/∞ there), a function saturates where it
rounds to its limit, a logit of 10⁷ leaves no room below its last bit for a
log-sum-exp term, and ``−0.0`` tests a sign-based branch. An op record names
the edges its cases reach (the ``edges`` keyword of its :class:`~dlterms.ops.Cases`);
:func:`dlterms.conformance.strategies.float_arrays` mixes their values in
among the ordinary ones, so Hypothesis still shrinks a failure to a small
array, and to ordinary values wherever they suffice.

Each edge is a function of the dtype's own limits (:data:`LIMITS`), so a new
dtype gets its edges from its three numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from .tolerances import LARGEST, SMALLEST_NORMAL, SMALLEST_SUBNORMAL, UNIT_ROUNDOFF

__all__ = ["ARRAY_EDGES", "EDGES", "LIMITS", "OFFSET_SPREAD", "Edge", "Limits", "check_names", "edge_values", "offset"]


@dataclass(frozen=True)
class Limits:
    """A dtype's largest finite value, smallest normal and smallest subnormal value, and its unit roundoff."""

    largest: float
    tiny: float
    smallest: float
    u: float


# Each dtype's limits, as the tolerance model declares them (IEEE 754-2019 §3.3).
LIMITS: dict[str, Limits] = {
    d: Limits(LARGEST[d], SMALLEST_NORMAL[d], SMALLEST_SUBNORMAL[d], UNIT_ROUNDOFF[d]) for d in UNIT_ROUNDOFF
}


@dataclass(frozen=True)
class Edge:
    """One edge: the magnitudes ``[lo, hi]`` (both signs are drawn) where a formula breaks, and why."""

    name: str
    why: str
    band: Callable[[Limits], tuple[float, float]]


def _around(centre: float, width: float = 4.0) -> tuple[float, float]:
    return max(centre - width, 0.0), centre + width


EDGES: dict[str, Edge] = {
    e.name: e
    for e in (
        Edge(
            "exp_overflow",
            "e^x overflows to +inf above log(max) (88.72 in float32, 11.09 in float16, 709.78 in float64)",
            lambda m: _around(math.log(m.largest)),
        ),
        Edge(
            "half_exp_overflow",
            "e^{2x} (a tanh or softplus written with it) overflows above log(max)/2 (44.36 in float32)",
            lambda m: _around(math.log(m.largest) / 2),
        ),
        Edge(
            "exp_underflow",
            "e^{−|x|} turns subnormal below log(tiny) (−87.34 in float32) and zero below "
            "log(smallest subnormal) (−103.28): a quotient of two such values is 0/0",
            lambda m: (-math.log(m.tiny) - 4.0, -math.log(m.smallest) + 4.0),
        ),
        Edge(
            "saturation",
            "a function rounds to its limit (σ to 1 above log(1/u), 16.6 in float32; tanh to 1 above "
            "log(1/u)/2): where 1 − f(x) must not be computed by subtraction",
            lambda m: (math.log(1 / m.u) / 2 - 2.0, math.log(1 / m.u) + 4.0),
        ),
        Edge(
            "full_range",
            "magnitudes over the whole finite range, log-uniform from the smallest normal number to the "
            "largest finite one (overflowing products and squares, tiny values whose reciprocal overflows)",
            lambda m: (m.tiny, m.largest),
        ),
        Edge(
            "signed_zeros",
            "+0.0 and −0.0: a branch on the sign bit, or on x ≥ 0, sends −0.0 the other way",
            lambda m: (0.0, 0.0),
        ),
        Edge(
            "large_offsets",
            "whole arrays c + a spread in [−8, 8], c log-uniform in [10³, 16/u] (2.7·10⁸ in float32, or max/16): "
            "logits 10⁷ + a few units, where x − (max + log Σ) rounds the log term away and x² − 2xt + t² "
            "cancels catastrophically; up to 16/u the spread keeps a few ulps instead of rounding to c",
            lambda m: (1e3, min(m.largest / 16, 16 / m.u)),
        ),
        Edge(
            "probability_ends",
            "probabilities within a few ulp of 0 and of 1 (2^−k and 1 − 2^−k): log p and log(1 − p) "
            "where 1 − p is computed by a subtraction that rounds to 0",
            lambda m: (m.tiny, 1.0),
        ),
    )
}

# The edges that shape a whole array rather than draw its elements.
ARRAY_EDGES = ("large_offsets",)
OFFSET_SPREAD = 8.0  # large_offsets' values lie in c + [−8, 8]


def edge_values(dtype: str, names: tuple[str, ...] | list[str]) -> st.SearchStrategy[float]:
    """Values (float64, both signs, within ±max of ``dtype``) at the named element edges.

    They are not rounded to the dtype: :func:`~dlterms.conformance.strategies.float_arrays`
    rounds every array it draws.
    """
    check_names(names)
    m = LIMITS[dtype]
    parts: list[st.SearchStrategy[float]] = []
    for name in (n for n in names if n not in ARRAY_EDGES):
        lo, hi = EDGES[name].band(m)
        if name == "signed_zeros":
            parts.append(st.sampled_from([0.0, -0.0]))
        elif name == "full_range":
            parts.append(_log_uniform(lo, hi) | st.sampled_from([m.largest, -m.largest]))
        elif name == "probability_ends":
            # 2^−k and 1 − 2^−k, k from 1 to the significand's width + 2 (1 − 2^−k rounds to 1 there).
            bits = round(-math.log2(m.u)) + 2
            parts.append(
                st.integers(1, bits).flatmap(lambda k: st.sampled_from([2.0**-k, 1.0 - 2.0**-k]))
                | _log_uniform(lo, 0.5, signed=False)
            )
        else:
            parts.append(_uniform(lo, min(hi, m.largest)))
    return st.one_of(*parts)


def _uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.tuples(st.booleans(), st.floats(lo, hi)).map(lambda t: -t[1] if t[0] else t[1])


def _log_uniform(lo: float, hi: float, *, signed: bool = True) -> st.SearchStrategy[float]:
    a, b = math.log2(lo), math.log2(hi)

    def value(t: tuple[bool, float]) -> float:
        v = hi if t[1] >= b else min(2.0 ** t[1], hi)  # 2.0**1024 would overflow
        return -v if signed and t[0] else v

    return st.tuples(st.booleans(), st.floats(a, b)).map(value)


def offset(dtype: str) -> st.SearchStrategy[float]:
    """A large offset ``±c`` (the band of ``large_offsets``; float64, not rounded to ``dtype``)."""
    lo, hi = EDGES["large_offsets"].band(LIMITS[dtype])
    return _log_uniform(lo, hi)


def check_names(names: tuple[str, ...] | list[str]) -> None:
    """Refuse an edge name that :data:`EDGES` does not declare, naming the ones it does."""
    unknown = sorted(set(names) - set(EDGES))
    if unknown:
        raise ValueError(f"edges={list(names)}: unknown {unknown}; expected names from {sorted(EDGES)}")
