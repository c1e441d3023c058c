"""Invariants of the adaptive optimisers: Adam and AdamW (beyond the seed, section gradient descent).

A backend's ``adam_step`` and ``adamw_step`` are pure steps: parameters, gradient and state
``(m, v, step)`` in, parameters and state out. Besides the generated comparisons with the
reference, each is held to what the papers prove about it: Adam's first step from zero moments
moves every parameter by about ``lr`` against the sign of its gradient, whatever the gradient's
size (Kingma and Ba 2015, §2.1); Adam is invariant to a rescaling of the gradient (§2.1, with
ε = 0); AdamW's decay multiplies the parameters by ``1 − lr·λ`` and never enters the moments
(Loshchilov and Hutter 2019, Algorithm 2); and ten steps, each fed the backend's own state, follow
the reference's trajectory on a convex quadratic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close
from ..registry import invariant, register_ops
from ..sensitivities import sensitivity
from ..strategies import float_arrays, representable, shapes

# Learning rates that are powers of two (and 0): exact in float32, where Keras keeps the rate (a
# float32 variable, whatever the parameters' dtype: the convention adam.learning_rate_dtype).
_LEARNING_RATES = [0.0, 2.0**-10, 2.0**-7, 2.0**-4, 0.5]
_BETA1 = [0.9, 0.0, 0.5, 0.95]
# β₂ ≥ 0.9: at β₂ = 0 the form v + (1 − β₂)(g² − v) (Keras') leaves v′ = g² an error of u·|v|, which √ and
# the division turn into a wrong step where g² < u·v (ill-conditioned: the first-order bound does not hold).
_BETA2 = [0.999, 0.99, 0.9]
_EPS = [1e-8, 1e-6, 1e-3]
_STEPS = [1, 2, 3, 10, 100, 1000, 10**6]
_DECAYS = [1e-2, 0.0, 0.1, 1.0]
_MOMENTS = ("param", "m", "v")


def adam_cases(dtype: str, *, decay: bool = False, v_min: float = 0.0) -> Any:
    """Calls of ``adam_step`` (``adamw_step`` with ``decay``): any state with ``v ≥ v_min``, any step.

    ``v_min > 0`` (the gradient cases) keeps ``v′ ≥ β₂·v_min > 0``.
    """

    def build(shape: tuple[int, ...]) -> Any:
        fields = {
            "param": float_arrays(dtype, shape),
            "grad": float_arrays(dtype, shape),
            "m": float_arrays(dtype, shape),
            "v": float_arrays(dtype, shape, min_value=v_min, max_value=400.0),
            "step": st.sampled_from(_STEPS),
            "lr": st.sampled_from(_LEARNING_RATES),
            "beta1": st.sampled_from(_BETA1),
            "beta2": st.sampled_from(_BETA2),
            "eps": st.sampled_from(_EPS),
        }
        if decay:
            fields["weight_decay"] = st.sampled_from(_DECAYS)
        return st.fixed_dictionaries(fields)

    return shapes().flatmap(build)


register_ops(op_records.adaptive_optim.OPS)


def _call(bk: Backend, op: str, dtype: str, case: dict[str, Any]) -> list[np.ndarray]:
    """The backend's ``(param, m, v)`` for ``case``, as float64 arrays."""
    native = {k: bk.asarray(case[k], dtype) if k in ("param", "grad", "m", "v") else case[k] for k in case}
    return [as_float64(bk, o) for o in getattr(bk, op)(**native)]


def _bound(op: str, dtype: str, case: dict[str, Any]) -> tuple[tolerances.Relative, list[np.ndarray], list[np.ndarray]]:
    """The relative bound of ``op`` in ``dtype``, and its sensitivities and floors per output, at ``case``.

    The record's own (``adam_step`` for both ops): the floor carries a flushed subnormal m′ through the step.
    """
    outputs = [np.asarray(o, dtype=np.float64) for o in getattr(reference, op)(**case)]
    floors = tolerances.accumulation("adam_step", case, outputs, dtype)
    return tolerances.relative(dtype, "adam_step"), sensitivity("adam_step", case, outputs), floors


def _hyper(decay: bool) -> dict[str, Any]:
    fields = {
        "lr": st.sampled_from(_LEARNING_RATES),
        "beta1": st.sampled_from(_BETA1),
        "beta2": st.sampled_from(_BETA2),
        "eps": st.sampled_from(_EPS),
    }
    return {**fields, "weight_decay": st.sampled_from(_DECAYS)} if decay else fields


# --- Adam -------------------------------------------------------------------------------------


def _first_steps(dtype: str) -> Any:
    # Gradients from 10⁻⁴ to 10⁴ (and ordinary ones): the step's size must not follow them.
    return shapes().flatmap(
        lambda s: st.fixed_dictionaries(
            {"param": float_arrays(dtype, s), "grad": float_arrays(dtype, s, magnitudes=(1e-4, 1e4)), **_hyper(False)}
        )
    )


@invariant(
    "adam_step.first_step_moves_by_lr_against_the_gradient",
    term="adam",
    statement="From zero moments, Adam's first step moves each parameter by lr·g/(|g| + ε) against its "
    "gradient g: about lr·sign(g), whatever the gradient's size (bias correction makes m̂ = g and v̂ = g²).",
    cases=_first_steps,
    dtypes=("float32", "float64"),
)
def adam_first_step(bk: Backend, dtype: str, param: Any, grad: Any, **hyper: Any) -> None:
    zeros = np.zeros(np.shape(param)).tolist()
    case = {"param": param, "grad": grad, "m": zeros, "v": zeros, "step": 1, **hyper}
    got = _call(bk, "adam_step", dtype, case)
    p, g = np.asarray(param, dtype=np.float64), np.asarray(grad, dtype=np.float64)
    lr, b1, b2, eps = hyper["lr"], hyper["beta1"], hyper["beta2"], hyper["eps"]
    expected = [p - lr * g / (np.abs(g) + eps), (1.0 - b1) * g, (1.0 - b2) * g * g]  # m̂ = g, v̂ = g², by hand
    tol, scales, floors = _bound("adam_step", dtype, case)
    for name, a, e, s, f in zip(_MOMENTS, got, expected, scales, floors, strict=True):
        assert_close(a, e, tol, f"adam_step's first {name}", scale=s, extra=f)


def _rescalings(dtype: str) -> Any:
    # ε = 0 and v ≥ 2⁻⁶ (β₂ ≥ 0.9): √v̂ > 0. c = 2^k: c·g, c·m and c²·v are exact in the dtype.
    def build(s: tuple[int, ...]) -> Any:
        return st.fixed_dictionaries(
            {
                "param": float_arrays(dtype, s),
                "grad": float_arrays(dtype, s),
                "m": float_arrays(dtype, s),
                "v": float_arrays(dtype, s, min_value=2.0**-6, max_value=400.0),
                "step": st.sampled_from(_STEPS),
                "lr": st.sampled_from(_LEARNING_RATES),
                "beta1": st.sampled_from(_BETA1),
                "beta2": st.sampled_from(_BETA2),
                "eps": st.just(0.0),
                "k": st.integers(-6, 6),
            }
        )

    return shapes().flatmap(build)


@invariant(
    "adam_step.invariant_to_gradient_scale",
    term="adam",
    statement="With ε = 0, multiplying the gradient and m by c > 0 and v by c² leaves Adam's new "
    "parameters unchanged (and scales the new m by c, v by c²): the step is m̂/√v̂, a ratio of moments.",
    cases=_rescalings,
    dtypes=("float32", "float64"),
)
def adam_scale_invariance(bk: Backend, dtype: str, k: int, **case: Any) -> None:
    c = 2.0**k
    scaled = dict(case)
    for name, power in (("grad", 1), ("m", 1), ("v", 2)):
        scaled[name] = (np.asarray(case[name], dtype=np.float64) * c**power).tolist()
    base, got = _call(bk, "adam_step", dtype, case), _call(bk, "adam_step", dtype, scaled)
    tol, scales, floors = _bound("adam_step", dtype, case)
    _, _, scaled_floors = _bound("adam_step", dtype, scaled)
    # Both calls are within the bound of the exact values, which differ by exactly c^power.
    powers = (("param", 0), ("m", 1), ("v", 2))
    for (name, power), a, b, s, f, g in zip(powers, got, base, scales, floors, scaled_floors, strict=True):
        what = f"adam_step's {name} with the gradient scaled by {c:g}"
        assert_close(a / c**power, b, tol, what, scale=2.0 * s, extra=f + g / c**power)


# --- AdamW ------------------------------------------------------------------------------------


def _stationary(dtype: str) -> Any:
    return shapes().flatmap(
        lambda s: st.fixed_dictionaries(
            {
                "param": float_arrays(dtype, s),
                "v": float_arrays(dtype, s, min_value=0.0, max_value=400.0),
                "step": st.sampled_from(_STEPS),
                **_hyper(True),
            }
        )
    )


@invariant(
    "adamw_step.zero_gradient_decays_parameters",
    term="adamw",
    statement="With a zero gradient and a zero first moment, AdamW multiplies the parameters by "
    "(1 − lr·weight_decay), keeps m = 0 and decays v to β₂·v: the decay acts alone.",
    cases=_stationary,
    dtypes=("float32", "float64"),
)
def adamw_zero_gradient(bk: Backend, dtype: str, param: Any, v: Any, **hyper: Any) -> None:
    zeros = np.zeros(np.shape(param)).tolist()
    case = {"param": param, "grad": zeros, "m": zeros, "v": v, **hyper}
    got = _call(bk, "adamw_step", dtype, case)
    p = np.asarray(param, dtype=np.float64)
    expected = [p * (1.0 - hyper["lr"] * hyper["weight_decay"]), np.zeros_like(p), hyper["beta2"] * np.asarray(v)]
    tol, scales, floors = _bound("adamw_step", dtype, case)
    for name, a, e, s, f in zip(_MOMENTS, got, expected, scales, floors, strict=True):
        assert_close(a, e, tol, f"adamw_step's {name} with a zero gradient", scale=s, extra=f)


@invariant(
    "adamw_step.decay_is_decoupled_from_the_moments",
    term="adamw",
    statement="AdamW's weight decay never enters the moments: with and without it, m and v are the same, "
    "and the new parameters differ by exactly −lr·weight_decay·param.",
    cases=lambda d: adam_cases(d, decay=True),
    dtypes=("float32", "float64"),
)
def adamw_decoupled(bk: Backend, dtype: str, **case: Any) -> None:
    plain = {**case, "weight_decay": 0.0}
    decayed, undecayed = _call(bk, "adamw_step", dtype, case), _call(bk, "adamw_step", dtype, plain)
    tol, scales, floors = _bound("adamw_step", dtype, case)
    _, plain_scales, plain_floors = _bound("adamw_step", dtype, plain)
    shift = -case["lr"] * case["weight_decay"] * np.asarray(case["param"], dtype=np.float64)
    assert_close(
        decayed[0] - undecayed[0],
        shift,
        tol,
        "adamw_step's param with − without decay",
        scale=scales[0] + plain_scales[0],
        extra=floors[0] + plain_floors[0],
    )
    for name, a, b, s in zip(("m", "v"), decayed[1:], undecayed[1:], scales[1:], strict=True):
        assert_close(a, b, tol, f"adamw_step's {name} with decay against without", scale=2.0 * s)


# --- both: ten steps on a quadratic -----------------------------------------------------------


def _quadratic(dtype: str, decay: bool) -> Any:
    """A convex quadratic ½Σ aᵢ(wᵢ − cᵢ)² (curvatures a, minimum c), a start w0 and the hyper-parameters."""

    def build(n: int) -> Any:
        def vec(lo: float, hi: float) -> Any:
            return st.lists(st.floats(lo, hi), min_size=n, max_size=n)

        return st.fixed_dictionaries(
            {"a": vec(0.1, 10.0), "c": vec(-5.0, 5.0), "w0": vec(-10.0, 10.0), **_hyper(decay)}
        )

    return (
        st.integers(1, 4).flatmap(build).map(lambda q: {**q, "w0": representable(np.asarray(q["w0"]), dtype).tolist()})
    )


def _trajectory(op: str, decay: bool) -> None:
    extra = " and weight decay" if decay else ""

    @invariant(
        f"{op}.trajectory_matches_reference",
        term="adamw" if decay else "adam",
        statement=f"Ten steps of the backend's {op} on a convex quadratic, each fed the backend's own "
        f"parameters and state (m, v, step t = 1..10{extra}), follow the reference trajectory.",
        cases=lambda d: _quadratic(d, decay),
        # float64 only, as for sgd_step: lower precisions' roundings add up over the steps.
        dtypes=("float64",),
    )
    def trajectory(bk: Backend, dtype: str, a: list[float], c: list[float], w0: list[float], **hyper: Any) -> None:
        zeros = [0.0] * len(w0)
        got, expected = [np.asarray(w0)], [w0]
        state = [bk.asarray(w0, dtype), bk.asarray(zeros, dtype), bk.asarray(zeros, dtype)]
        ref_state = (w0, zeros, zeros)
        for t in range(1, 11):
            grad = np.multiply(a, got[-1] - np.asarray(c))
            g = bk.asarray(grad.tolist(), dtype)
            state = list(getattr(bk, op)(param=state[0], grad=g, m=state[1], v=state[2], step=t, **hyper))
            got.append(as_float64(bk, state[0]))
            ref_grad = [ai * (wi - ci) for ai, wi, ci in zip(a, ref_state[0], c, strict=True)]
            ref_state = getattr(reference, op)(ref_state[0], ref_grad, ref_state[1], ref_state[2], t, **hyper)
            expected.append(ref_state[0])
        assert_close(np.array(got), np.array(expected), tolerances.forward(dtype), f"{op} trajectory (rows = steps)")


_trajectory("adam_step", decay=False)
_trajectory("adamw_step", decay=True)
