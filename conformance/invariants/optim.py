"""Invariants of the gradient-descent step (seed section: gradient descent and the learning rate).

The backend's ``sgd_step`` is iterated on a convex quadratic

.. math:: J(w) = \\tfrac12 \\sum_i a_i (w_i - c_i)^2, \\qquad \\nabla J(w) = a \\odot (w - c),

whose largest curvature (the largest eigenvalue of the Hessian) is
``L = max a``. Gradient descent multiplies ``w_i − c_i`` by ``1 − lr·a_i``
at every step, so it converges for ``0 < lr < 2/L`` and diverges for
``lr > 2/L``. The gradient is computed in float64 from the backend's current
parameters and handed to it in the dtype under test; the backend's own
output is fed back in, so a step that keeps hidden state (momentum) or
mutates its input shows up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_that
from ..registry import invariant, register_ops
from ..strategies import float_arrays, representable, shapes

# Learning rates that are powers of two (and 0): lr·grad is then exact in
# every dtype, so param − lr·grad is one correctly rounded operation whatever
# order a backend multiplies in, and the float64 reference is a fair oracle.
_LEARNING_RATES = [0.0, 1.0, 0.5, 0.25, 0.125, 2.0**-4, 2.0**-7, 2.0**-10]


def step_cases(dtype: str) -> Any:
    return shapes().flatmap(
        lambda s: st.fixed_dictionaries(
            {
                "param": float_arrays(dtype, s),
                "grad": float_arrays(dtype, s),
                "lr": st.sampled_from(_LEARNING_RATES),
            }
        )
    )


register_ops(op_records.optim.OPS)


def _quadratic(dtype: str, lr_factor: tuple[float, float]) -> Any:
    """A convex quadratic (curvatures ``a``, minimum ``c``), a start ``w0`` and ``lr = factor·2/L``.

    ``w0`` is at least 0.5 from ``c`` in every coordinate, so the direction of
    largest curvature is always excited.
    """

    def build(n: int) -> Any:
        vec = st.lists(st.floats(0.1, 10.0), min_size=n, max_size=n)
        return st.fixed_dictionaries(
            {
                "a": vec,
                "c": st.lists(st.floats(-5.0, 5.0), min_size=n, max_size=n),
                "d": st.lists(st.floats(0.5, 10.0), min_size=n, max_size=n),
                "sign": st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n),
                "factor": st.floats(*lr_factor),
            }
        ).map(
            lambda q: {
                "a": q["a"],
                "c": q["c"],
                "w0": representable(np.add(q["c"], np.multiply(q["sign"], q["d"])), dtype).tolist(),
                "lr": q["factor"] * 2.0 / max(q["a"]),
            }
        )

    return st.integers(1, 4).flatmap(build)


def _descend(bk: Backend, dtype: str, a: list[float], c: list[float], w0: list[float], lr: float, steps: int) -> Any:
    """The backend's trajectory, ``steps + 1`` rows, each step fed the backend's previous output."""
    w = bk.asarray(w0, dtype)
    rows = [as_float64(bk, w)]
    for _ in range(steps):
        grad = np.multiply(a, rows[-1] - np.asarray(c))
        w = bk.sgd_step(w, bk.asarray(grad.tolist(), dtype), lr)
        rows.append(as_float64(bk, w))
    return np.array(rows)


def _cost(a: list[float], c: list[float], w: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum(np.asarray(a) * (w - np.asarray(c)) ** 2, axis=-1)


@invariant(
    "sgd_step.trajectory_matches_reference",
    term="gradient-descent",
    statement="Iterating the backend's sgd_step on a convex quadratic, feeding back its own output, "
    "follows the reference trajectory (10 steps, 0 < lr < 2/L).",
    cases=lambda d: _quadratic(d, (0.05, 0.95)),
    # float64 only: rounding errors of lower precisions add up over the steps;
    # one step in every dtype is sgd_step.matches_reference.
    dtypes=("float64",),
)
def sgd_trajectory(bk: Backend, dtype: str, a: list[float], c: list[float], w0: list[float], lr: float) -> None:
    got = _descend(bk, dtype, a, c, w0, lr, steps=10)
    expected = [w0]
    for _ in range(10):
        grad = [ai * (wi - ci) for ai, wi, ci in zip(a, expected[-1], c, strict=True)]
        expected.append(reference.sgd_step(expected[-1], grad, lr))
    assert_close(got, np.array(expected), tolerances.forward(dtype), "sgd_step trajectory (rows = steps)")


@invariant(
    "sgd_step.converges_when_lr_below_two_over_curvature",
    term="learning-rate",
    statement="With 0 < lr < 2/L (L the largest curvature of a convex quadratic), gradient descent "
    "never increases the cost and reaches the minimum at the rate max|1 − lr·a_i| per step.",
    cases=lambda d: _quadratic(d, (0.05, 0.95)),
    # Exact arithmetic's rate. In float16 and bfloat16 an update smaller than half an ulp of w
    # (lr·a_i·|w_i − c_i| < u·|w_i|) rounds to nothing, so descent stalls at a distance the dtype
    # sets, far above the rate's bound (bfloat16: cost 0.0078 where 0.0006 is allowed).
    dtypes=("float32", "float64"),
)
def sgd_converges(bk: Backend, dtype: str, a: list[float], c: list[float], w0: list[float], lr: float) -> None:
    steps = 20
    cost = _cost(a, c, _descend(bk, dtype, a, c, w0, lr, steps))
    tol = tolerances.forward(dtype)
    # Rounding of the parameters to the dtype is what the tolerance allows for.
    slack = tol.atol + tol.rtol * cost[:-1]
    assert_that(cost[1:] <= cost[:-1] + slack, f"the cost increased with lr={lr:g} < 2/L", cost=cost)
    rate = max(abs(1.0 - lr * ai) for ai in a)
    bound = rate ** (2 * steps) * cost[0]
    assert_that(
        cost[-1] <= bound + tol.atol + tol.rtol * cost[0],
        f"after {steps} steps the cost {cost[-1]:.3g} exceeds the linear-rate bound {bound:.3g}",
        cost=cost,
    )


@invariant(
    "sgd_step.diverges_when_lr_above_two_over_curvature",
    term="learning-rate",
    statement="With lr > 2/L, the distance to the minimum along the direction of largest curvature L "
    "grows at every step (by the factor |1 − lr·L| > 1): gradient descent diverges.",
    # 8 steps: |1 − lr·L| ≤ 2 keeps every value (≤ 10·2⁸, gradient ≤ 10·10·2⁸) finite in float16.
    cases=lambda d: _quadratic(d, (1.05, 1.5)),
)
def sgd_diverges(bk: Backend, dtype: str, a: list[float], c: list[float], w0: list[float], lr: float) -> None:
    k = int(np.argmax(a))
    dist = np.abs(_descend(bk, dtype, a, c, w0, lr, steps=8)[:, k] - c[k])
    assert_that(np.diff(dist) > 0, f"|w − c| along the largest curvature did not grow with lr={lr:g} > 2/L", dist=dist)
