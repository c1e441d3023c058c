"""Invariants of RMSprop and Adagrad (beyond the seed, section gradient descent).

A backend's ``rmsprop_step`` and ``adagrad_step`` are pure steps: parameters, gradient and state
(``square_avg``; ``state_sum`` and ``step``) in, parameters and state out. Besides the generated
comparisons with the reference, each is held to what defines it: from a zero state with ε = 0,
the first step moves every parameter by a fixed amount against the sign of its gradient
(``lr/√(1 − α)`` for RMSprop, ``lr`` for Adagrad: Duchi et al. 2011, §1), whatever the gradient's
size; both are invariant to a rescaling of the gradient (with ε = 0, the state rescaled by c²);
Adagrad's effective rate never increases (its sum of squares only grows); and ten steps, each fed
the backend's own state, follow the reference's trajectory on a convex quadratic.

ε's placement is drawn half the time each way (``eps_in_sqrt``): PyTorch has only ε outside the
root, Keras only under it, and an adapter sets the other form's cases aside (``UnsupportedCase``);
at ε = 0 the two forms are one.
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
from ..sensitivities import sensitivity
from ..strategies import float_arrays, representable, shapes

# Learning rates that are powers of two (and 0): exact in float32, where Keras keeps the rate.
_LEARNING_RATES = [0.0, 2.0**-10, 2.0**-7, 2.0**-4, 0.5]
_ALPHAS = [0.99, 0.9, 0.5, 0.0]
_RMS_EPS = [1e-8, 1e-6, 1e-3]
_ADAGRAD_EPS = [1e-10, 1e-6, 1e-3]
# (step t, lr_decay): 1 + (t − 1)·lr_decay is a power of two, so the decayed rate lr_t stays exact in
# float32 (optax and Keras have no lr_decay: their adapters pass lr_t as the rate).
_STEP_DECAYS = [(1, 0.0), (2, 0.0), (10, 0.0), (1000, 0.0), (2, 1.0), (8, 1.0), (3, 0.5), (7, 0.5), (5, 0.25)]
_STATE = {"rmsprop_step": "square_avg", "adagrad_step": "state_sum"}
_DTYPES = ("float32", "float64")


def _rmsprop_hyper(eps: Any, alphas: list[float] = _ALPHAS) -> dict[str, Any]:
    return {
        "lr": st.sampled_from(_LEARNING_RATES),
        "alpha": st.sampled_from(alphas),
        "eps": eps,
        "eps_in_sqrt": st.booleans(),
    }


def _adagrad_hyper(eps: Any, decays: list[tuple[int, float]] = _STEP_DECAYS) -> Any:
    fields = {"lr": st.sampled_from(_LEARNING_RATES), "eps": eps, "eps_in_sqrt": st.booleans()}
    return st.tuples(st.sampled_from(decays), st.fixed_dictionaries(fields)).map(
        lambda pair: {"step": pair[0][0], "lr_decay": pair[0][1], **pair[1]}
    )


def _with(dtype: str, op: str, state_min: float, hyper: Any) -> Any:
    """Cases of ``op``: param, grad (|g| ≥ √λ) and a state in [state_min, 400] of one shape, and ``hyper``'s draws."""

    # Gradients whose squares are normal numbers: where g² underflows to 0, optax's Adagrad takes its guard
    # where(s > 0, …, 0) and no step at all (a discontinuity at s = 0 no rounding bound covers).
    tiny = float(np.sqrt(tolerances.SMALLEST_NORMAL[dtype]))

    def build(shape: tuple[int, ...]) -> Any:
        tensors = {
            "param": float_arrays(dtype, shape),
            "grad": float_arrays(dtype, shape, away_from=0.0, margin=tiny),
            _STATE[op]: float_arrays(dtype, shape, min_value=state_min, max_value=400.0),
        }
        return st.tuples(st.fixed_dictionaries(tensors), hyper).map(lambda p: {**p[0], **p[1]})

    return shapes().flatmap(build)


def rmsprop_cases(dtype: str, *, state_min: float = 0.0) -> Any:
    """Calls of ``rmsprop_step``: any state ``≥ state_min``, ε > 0 on the root or under it.

    ``state_min > 0`` (the gradient cases) keeps α ≥ 0.5, so that v′ ≥ α·state_min > 0.
    """
    alphas = [a for a in _ALPHAS if a >= 0.5] if state_min > 0 else _ALPHAS
    hyper = _rmsprop_hyper(st.sampled_from(_RMS_EPS), alphas)
    return _with(dtype, "rmsprop_step", state_min, st.fixed_dictionaries(hyper))


def adagrad_cases(dtype: str, *, state_min: float = 0.0) -> Any:
    """Calls of ``adagrad_step``: any sum ``≥ state_min``, a step and a decay, ε > 0 on the root or under it."""
    return _with(dtype, "adagrad_step", state_min, _adagrad_hyper(st.sampled_from(_ADAGRAD_EPS)))


register_ops(op_records.rmsprop.OPS)


def _call(bk: Backend, op: str, dtype: str, case: dict[str, Any]) -> list[np.ndarray]:
    """The backend's ``(param, state)`` for ``case``, as float64 arrays."""
    tensors = ("param", "grad", _STATE[op])
    native = {k: bk.asarray(case[k], dtype) if k in tensors else case[k] for k in case}
    return [as_float64(bk, o) for o in getattr(bk, op)(**native)]


def _bound(op: str, dtype: str, case: dict[str, Any]) -> tuple[tolerances.Relative, list[np.ndarray], list[np.ndarray]]:
    """The relative bound of ``op`` in ``dtype``, and its sensitivities and floors per output, at ``case``."""
    outputs = [np.asarray(o, dtype=np.float64) for o in getattr(reference, op)(**case)]
    floors = tolerances.accumulation("rmsprop_step", case, outputs, dtype)
    return tolerances.relative(dtype, "rmsprop_step"), sensitivity("rmsprop_step", case, outputs), floors


def _check(op: str, dtype: str, case: dict[str, Any], got: list[np.ndarray], expected: list[Any], what: str) -> None:
    tol, scales, floors = _bound(op, dtype, case)
    for name, a, e, s, f in zip(("param", _STATE[op]), got, expected, scales, floors, strict=True):
        assert_close(a, e, tol, f"{op}'s {name} {what}", scale=s, extra=f)


# --- the first step from a zero state ---------------------------------------------------------


def _first_steps(dtype: str, op: str) -> Any:
    # Gradients from 10⁻³ to 10⁴ (never 0: at ε = 0 a zero gradient is 0/0): the move must not follow them.
    hyper = (
        st.fixed_dictionaries(_rmsprop_hyper(st.just(0.0)))
        if op == "rmsprop_step"
        else _adagrad_hyper(st.just(0.0), [(1, 0.0)])
    )

    def build(s: tuple[int, ...]) -> Any:
        grad = float_arrays(dtype, s, away_from=0.0, magnitudes=(1e-3, 1e4))
        tensors = st.fixed_dictionaries({"param": float_arrays(dtype, s), "grad": grad})
        return st.tuples(tensors, hyper).map(lambda p: {**p[0], **p[1]})

    return shapes().flatmap(build)


@invariant(
    "rmsprop_step.first_step_from_zero_state",
    term="rmsprop",
    statement="From a zero mean square with ε = 0, RMSprop's first step moves each parameter by "
    "lr/√(1 − α) against the sign of its gradient g, whatever its size, and the mean square becomes (1 − α)·g².",
    cases=lambda d: _first_steps(d, "rmsprop_step"),
    dtypes=_DTYPES,
)
def rmsprop_first_step(bk: Backend, dtype: str, param: Any, grad: Any, **hyper: Any) -> None:
    case = {"param": param, "grad": grad, "square_avg": np.zeros(np.shape(param)).tolist(), **hyper}
    p, g = np.asarray(param, dtype=np.float64), np.asarray(grad, dtype=np.float64)
    keep = 1.0 - hyper["alpha"]
    expected = [p - hyper["lr"] * np.sign(g) / np.sqrt(keep), keep * g * g]  # by hand: g/√((1 − α)g²)
    _check("rmsprop_step", dtype, case, _call(bk, "rmsprop_step", dtype, case), expected, "after a first step")


@invariant(
    "adagrad_step.first_step_moves_by_lr_against_the_gradient",
    term="adagrad",
    statement="From a zero sum of squares with ε = 0, Adagrad's first step moves each parameter by exactly "
    "lr against the sign of its gradient g, whatever its size (g/√(g²)), and the sum becomes g².",
    cases=lambda d: _first_steps(d, "adagrad_step"),
    dtypes=_DTYPES,
)
def adagrad_first_step(bk: Backend, dtype: str, param: Any, grad: Any, **hyper: Any) -> None:
    case = {"param": param, "grad": grad, "state_sum": np.zeros(np.shape(param)).tolist(), **hyper}
    p, g = np.asarray(param, dtype=np.float64), np.asarray(grad, dtype=np.float64)
    expected = [p - hyper["lr"] * np.sign(g), g * g]
    _check("adagrad_step", dtype, case, _call(bk, "adagrad_step", dtype, case), expected, "after a first step")


# --- invariance to the gradient's scale ---------------------------------------------------------


def _rescalings(dtype: str, op: str) -> Any:
    # ε = 0 and a state ≥ 2⁻⁶: the root is > 0. c = 2^k: c·g and c²·state are exact in the dtype.
    hyper = (
        st.fixed_dictionaries(_rmsprop_hyper(st.just(0.0))) if op == "rmsprop_step" else _adagrad_hyper(st.just(0.0))
    )
    cases = _with(dtype, op, 2.0**-6, hyper)
    return st.tuples(cases, st.integers(-6, 6)).map(lambda p: {**p[0], "k": p[1]})


def _scale_invariance(op: str, term: str, name: str) -> None:
    @invariant(
        f"{op}.invariant_to_gradient_scale",
        term=term,
        statement=f"With ε = 0, multiplying the gradient by c > 0 and the {name} by c² leaves {term}'s new "
        f"parameters unchanged (and scales the new {name} by c²): the step is g/√v, a ratio of like powers.",
        cases=lambda d: _rescalings(d, op),
        dtypes=_DTYPES,
    )
    def scale_invariance(bk: Backend, dtype: str, k: int, **case: Any) -> None:
        c, state = 2.0**k, _STATE[op]
        scaled = {
            **case,
            "grad": (np.asarray(case["grad"]) * c).tolist(),
            state: (np.asarray(case[state]) * c * c).tolist(),
        }
        base, got = _call(bk, op, dtype, case), _call(bk, op, dtype, scaled)
        tol, scales, floors = _bound(op, dtype, case)
        _, _, scaled_floors = _bound(op, dtype, scaled)
        # Both calls are within the bound of the exact values, which differ by exactly c^power.
        for (what, power), a, b, s, f, g in zip(
            (("param", 0), (state, 2)), got, base, scales, floors, scaled_floors, strict=True
        ):
            where = f"{op}'s {what} with the gradient scaled by {c:g}"
            assert_close(a / c**power, b, tol, where, scale=2.0 * s, extra=f + g / c**power)


_scale_invariance("rmsprop_step", "rmsprop", "mean square")
_scale_invariance("adagrad_step", "adagrad", "sum of squares")


# --- Adagrad's effective rate never increases ---------------------------------------------------


@invariant(
    "adagrad_step.effective_rate_never_increases",
    term="adagrad",
    statement="Two Adagrad steps with the same gradient, the second fed the backend's own state: the second "
    "move is no larger than the first (the sum of squares only grows and lr_t only decays), and the sum grows by g².",
    cases=lambda d: _with(d, "adagrad_step", 0.0, _adagrad_hyper(st.sampled_from(_ADAGRAD_EPS))),
    dtypes=_DTYPES,
)
def adagrad_rate_decays(bk: Backend, dtype: str, **case: Any) -> None:
    first = _call(bk, "adagrad_step", dtype, case)
    p1 = representable(first[0], dtype).tolist()
    second_case = {**case, "param": p1, "state_sum": first[1].tolist(), "step": case["step"] + 1}
    second = _call(bk, "adagrad_step", dtype, second_case)
    tol, scales, floors = _bound("adagrad_step", dtype, case)
    tol2, scales2, floors2 = _bound("adagrad_step", dtype, second_case)
    g = np.asarray(case["grad"], dtype=np.float64)
    assert_close(first[1], np.asarray(case["state_sum"]) + g * g, tol, "adagrad_step's state_sum", scale=scales[1])
    move1 = np.abs(first[0] - np.asarray(case["param"], dtype=np.float64))
    move2 = np.abs(second[0] - first[0])
    allowed = tol.allowed(first[0], scales[0], floors[0]) + tol2.allowed(second[0], scales2[0], floors2[0])
    assert_that(
        move2 <= move1 + allowed,
        "adagrad_step: the second of two steps with the same gradient moved further than the first",
        first_move=move1,
        second_move=move2,
        allowed=allowed,
    )


# --- both: ten steps on a quadratic -----------------------------------------------------------


def _quadratic(dtype: str, op: str) -> Any:
    """A convex quadratic ½Σ aᵢ(wᵢ − cᵢ)² (curvatures a, minimum c), a start w0 and the hyper-parameters."""
    if op == "rmsprop_step":
        hyper = st.fixed_dictionaries(_rmsprop_hyper(st.sampled_from(_RMS_EPS)))
    else:
        hyper = _adagrad_hyper(st.sampled_from(_ADAGRAD_EPS), [(1, d) for d in (0.0, 0.5, 1.0)])

    def build(n: int) -> Any:
        def vec(lo: float, hi: float) -> Any:
            return st.lists(st.floats(lo, hi), min_size=n, max_size=n)

        problem = st.fixed_dictionaries({"a": vec(0.1, 10.0), "c": vec(-5.0, 5.0), "w0": vec(-10.0, 10.0)})
        return st.tuples(problem, hyper).map(lambda p: {**p[0], **p[1]})

    return (
        st.integers(1, 4).flatmap(build).map(lambda q: {**q, "w0": representable(np.asarray(q["w0"]), dtype).tolist()})
    )


def _trajectory(op: str, term: str) -> None:
    state_name = _STATE[op]

    @invariant(
        f"{op}.trajectory_matches_reference",
        term=term,
        statement=f"Ten steps of the backend's {op} on a convex quadratic, each fed the backend's own "
        f"parameters and {state_name}, follow the reference trajectory.",
        cases=lambda d: _quadratic(d, op),
        # float64 only, as for adam_step: lower precisions' roundings add up over the steps.
        dtypes=("float64",),
    )
    def trajectory(bk: Backend, dtype: str, a: list[float], c: list[float], w0: list[float], **hyper: Any) -> None:
        zeros = [0.0] * len(w0)
        first = hyper.pop("step", None)
        got, expected = [np.asarray(w0)], [w0]
        state, ref_state = [bk.asarray(w0, dtype), bk.asarray(zeros, dtype)], (w0, zeros)
        for i in range(10):
            t = {} if first is None else {"step": first + i}
            grad = np.multiply(a, got[-1] - np.asarray(c))
            g = bk.asarray(grad.tolist(), dtype)
            state = list(getattr(bk, op)(param=state[0], grad=g, **{state_name: state[1]}, **t, **hyper))
            got.append(as_float64(bk, state[0]))
            ref_grad = [ai * (wi - ci) for ai, wi, ci in zip(a, ref_state[0], c, strict=True)]
            ref_state = getattr(reference, op)(ref_state[0], ref_grad, ref_state[1], **t, **hyper)
            expected.append(ref_state[0])
        assert_close(np.array(got), np.array(expected), tolerances.forward(dtype), f"{op} trajectory (rows = steps)")


_trajectory("rmsprop_step", "rmsprop")
_trajectory("adagrad_step", "adagrad")
