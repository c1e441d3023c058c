"""Invariants of dropout (section: training), the deterministic op and the framework's own random draw.

The canonical op ``dropout(x, mask, p, training)`` takes the keep mask, so it is compared with the
reference like any op. A framework's *own* random dropout is reached through the optional backend
function ``random_dropout(x, p, seed)`` (training mode, the framework's generator seeded with
``seed``; a backend without it reports these checks unsupported). Its draw is checked
statistically, each check with a false-alarm probability of at most :data:`FALSE_ALARM`, from
Hoeffding's inequality (``hoeffding1963probability``, Theorem 2): for independent Xᵢ in [aᵢ, bᵢ],
P(|Σ Xᵢ − E Σ Xᵢ| ≥ t) ≤ 2·exp(−2t²/Σ(bᵢ − aᵢ)²). A correct framework (independent draws, each
unit kept with probability 1 − p) fails a check with probability at most 10⁻⁶ per seed drawn; a
framework that drops with the wrong probability, or forgets the scale, fails it almost surely.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_that
from ..registry import invariant, register_ops
from ..sizes import values
from ..strategies import float_arrays, representable

# Drop probabilities: PyTorch's and Keras' examples' 0.5, and rates on either side of it (0.5 alone
# cannot tell the drop probability from the keep probability); 0 keeps everything.
RATES = (0.0, 0.1, 0.25, 0.5, 0.8)
STAT_RATES = (0.1, 0.5, 0.8)
FALSE_ALARM = 1e-6  # the probability that a correct framework fails one statistical check
UNITS = 65_536  # units drawn per statistical check: the fraction dropped is then known to ±0.0105


def hoeffding_bound(ranges_squared: float, alpha: float = FALSE_ALARM) -> float:
    """The t with 2·exp(−2t²/Σ(bᵢ − aᵢ)²) = alpha: a sum of independent bounded terms strays from its
    expectation by t or more with probability at most alpha (Hoeffding 1963, Theorem 2)."""
    return math.sqrt(math.log(2.0 / alpha) * ranges_squared / 2.0)


def _mask_like(shape: tuple[int, ...], p: float) -> st.SearchStrategy[Any]:
    """A keep mask of ``shape`` (nested lists of 0.0 and 1.0; a float when 0-d): all ones when p = 0."""
    size = math.prod(shape)
    bits = st.just([1.0] * size) if p == 0.0 else st.lists(st.sampled_from((0.0, 1.0)), min_size=size, max_size=size)
    return bits.map(lambda b: np.asarray(b, dtype=np.float64).reshape(shape).tolist())


@st.composite
def dropout_cases(
    draw: Any, dtype: str, *, edges: tuple[str, ...] = (), training: bool | None = True
) -> dict[str, Any]:
    """``{"x", "mask", "p", "training"}``: x as :func:`float_arrays` (``edges``), a keep mask of its shape
    (all ones for p = 0), p in :data:`RATES`; ``training`` True, False or either (None)."""
    x = draw(float_arrays(dtype, edges=edges))
    p = draw(st.sampled_from(RATES))
    mode = draw(st.booleans()) if training is None else training
    return {"x": x, "mask": draw(_mask_like(np.shape(x), p)), "p": p, "training": mode}


def dropout_sizes(
    dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...], edges: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    """``dropout`` calls on vectors of each length, a mask drawn with p = 0.5 (the size tier)."""
    for n in lengths:
        x = values(dtype, rng, (n,), edges).tolist()
        mask = (rng.random(n) >= 0.5).astype(np.float64).tolist()
        yield {"x": x, "mask": mask, "p": 0.5, "training": True}


def random_dropout_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """``{"p", "seed", "data_seed"}``: a rate of :data:`STAT_RATES`, the framework's seed and the inputs' seed."""
    seeds = st.integers(0, 2**31 - 1)
    return st.fixed_dictionaries({"p": st.sampled_from(STAT_RATES), "seed": seeds, "data_seed": seeds})


register_ops(op_records.regularization.OPS)


def _units(dtype: str, data_seed: int) -> np.ndarray:
    """:data:`UNITS` inputs in [1, 2]: no zero (a dropped unit is told by its 0), and a sum far from 0 (1.5 per
    unit), so that a missing or wrong scale moves the output's sum by far more than Hoeffding's bound."""
    x = np.random.default_rng(data_seed).uniform(1.0, 2.0, UNITS)
    return representable(x, dtype)


def _draw(bk: Backend, dtype: str, p: float, seed: int, data_seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = _units(dtype, data_seed)
    y = as_float64(bk, bk.random_dropout(bk.asarray(x.tolist(), dtype), p=p, seed=seed))
    return x, y


@invariant(
    "dropout.random_kept_scaled_dropped_zero",
    term="dropout",
    statement="The framework's own random dropout returns each unit either 0 (dropped) or x/(1 − p) (kept, "
    "within rounding): nothing in between, and no unit unscaled.",
    cases=random_dropout_cases,
    ops=("random_dropout",),
    max_examples=4,
)
def random_kept_scaled(bk: Backend, dtype: str, p: float, seed: int, data_seed: int) -> None:
    x, y = _draw(bk, dtype, p, seed, data_seed)
    kept = x / (1.0 - p)
    tol = tolerances.forward(dtype)
    near_kept = np.abs(y - kept) <= tol.rtol * np.abs(kept) + tol.atol
    assert_that((y == 0.0) | near_kept, f"a unit is neither 0 nor x/(1 - p) with p={p}", x=x, y=y, expected_kept=kept)


@invariant(
    "dropout.random_drops_a_fraction_p",
    term="dropout",
    statement="The framework's own random dropout drops a fraction p of the units (p the drop probability): "
    "within Hoeffding's bound √(ln(2/α)/2n) of p, α = 10⁻⁶ the false-alarm probability, n = 65,536 units.",
    cases=random_dropout_cases,
    ops=("random_dropout",),
    max_examples=4,
)
def random_fraction(bk: Backend, dtype: str, p: float, seed: int, data_seed: int) -> None:
    _, y = _draw(bk, dtype, p, seed, data_seed)
    n = y.size
    dropped = float(np.count_nonzero(y == 0.0)) / n
    # D = the number dropped is a sum of n independent indicators in [0, 1]: |D − np| < t with
    # t = hoeffding_bound(n) except with probability FALSE_ALARM; as a fraction, t/n.
    allowed = hoeffding_bound(float(n)) / n
    assert_that(
        abs(dropped - p) < allowed,
        f"dropout drops a fraction {dropped:.4f} of the units with p={p}, beyond ±{allowed:.4f} of p",
        dropped=dropped,
        p=p,
    )


@invariant(
    "dropout.random_keeps_the_mean",
    term="dropout",
    statement="The framework's own random dropout keeps the expectation: Σ dropout(x) = Σ x within Hoeffding's "
    "bound (each term in [0, x/(1 − p)]) at a false-alarm probability of 10⁻⁶, plus rounding.",
    cases=random_dropout_cases,
    ops=("random_dropout",),
    max_examples=4,
)
def random_mean(bk: Backend, dtype: str, p: float, seed: int, data_seed: int) -> None:
    x, y = _draw(bk, dtype, p, seed, data_seed)
    c = np.abs(x) / (1.0 - p)  # each yᵢ = xᵢ·mᵢ/(1 − p) lies between 0 and xᵢ/(1 − p): a range of |xᵢ|/(1 − p)
    rounding = tolerances.forward(dtype).rtol * float(np.sum(c))  # each kept yᵢ within rtol of its value
    allowed = hoeffding_bound(float(np.sum(c * c))) + rounding
    total, expected = float(np.sum(y)), float(np.sum(x))
    assert_that(
        abs(total - expected) < allowed,
        f"dropout's output sums to {total:.6g} where its expectation is {expected:.6g} (p={p})",
        allowed=allowed,
    )


@invariant(
    "dropout.evaluation_is_identity",
    term="dropout",
    statement="dropout(x, mask, p, training=False) = x exactly, whatever the mask and p: evaluation mode "
    "neither drops nor scales.",
    cases=lambda d: dropout_cases(d, edges=("full_range", "signed_zeros"), training=False),
)
def evaluation_identity(bk: Backend, dtype: str, x: Any, mask: Any, p: float, training: bool) -> None:
    y = as_float64(bk, bk.dropout(x=bk.asarray(x, dtype), mask=bk.asarray(mask, dtype), p=p, training=False))
    xs = np.asarray(x, dtype=np.float64)
    same = (y == xs) & (np.signbit(y) == np.signbit(xs))
    assert_that(bool(np.all(same)), f"dropout(training=False) changed x (p={p})", x=xs, y=y)
