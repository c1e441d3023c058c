"""Invariants of SGD with momentum and of L2 weight decay (beyond the seed, section gradient descent).

A backend's ``sgd_momentum_step`` is a pure step: parameters, gradient and momentum buffer in,
parameters and buffer out. Besides the generated comparisons with the reference, it is held to
what the definitions say: with no momentum it is plain SGD (``sgd_step``), whatever the dampening;
a constant gradient fills the buffer geometrically, ``b_k = μ^{k−1}·g + (1 − τ)·(1 − μ^{k−1})/(1 − μ)·g``
(``(1 − μᵏ)/(1 − μ)·g`` undamped: Polyak 1964's heavy ball), the first step undamped; Nesterov's
step is along ``g + μ·b′``, the new buffer (Sutskever et al. 2013, as PyTorch writes it); ten steps
fed the backend's own state follow the reference trajectory. L2 weight decay (Krogh and Hertz 1992)
at a zero gradient puts ``λ·param`` into the buffer and scales the parameters by ``1 − lr·λ`` on the
first step; for plain SGD it is the decoupled decay (Loshchilov and Hutter 2019, §2).
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

# Learning rates that are powers of two (and 0): exact in float32, where Keras keeps the rate, and
# lr·b exact, so Keras' velocity −lr·b holds the buffer without rounding it.
_LEARNING_RATES = [0.0, 2.0**-10, 2.0**-7, 2.0**-4, 0.5]
_NONZERO_RATES = _LEARNING_RATES[1:]
_MOMENTA = [0.9, 0.0, 0.5, 0.99, 0.75]
_DAMPENINGS = [0.0, 0.0, 0.1, 0.5]
_DECAYS = [0.0, 0.0, 1e-4, 1e-2, 0.5]
_TENSORS = ("param", "grad", "momentum_buffer")
_OUTPUTS = ("param", "momentum_buffer")


def _undamped_if_nesterov(case: dict[str, Any]) -> dict[str, Any]:
    return {**case, "dampening": 0.0} if case["nesterov"] else case


def _hyper(rates: list[float] = _LEARNING_RATES) -> dict[str, Any]:
    return {
        "lr": st.sampled_from(rates),
        "momentum": st.sampled_from(_MOMENTA),
        "dampening": st.sampled_from(_DAMPENINGS),
        "nesterov": st.booleans(),
        "weight_decay": st.sampled_from(_DECAYS),
        "first_step": st.sampled_from([False, False, False, True]),
    }


def momentum_cases(dtype: str) -> Any:
    """Calls of ``sgd_momentum_step``: any buffer, every option (dampening 0 with Nesterov, as PyTorch requires)."""

    def build(shape: tuple[int, ...]) -> Any:
        fields = {name: float_arrays(dtype, shape) for name in _TENSORS}
        return st.fixed_dictionaries({**fields, **_hyper()}).map(_undamped_if_nesterov)

    return shapes().flatmap(build)


register_ops(op_records.momentum.OPS)


def _call(bk: Backend, dtype: str, case: dict[str, Any], op: str = "sgd_momentum_step") -> list[np.ndarray]:
    """The backend's outputs of ``op`` for ``case``, as float64 arrays (one list per output)."""
    native = {k: bk.asarray(v, dtype) if k in _TENSORS else v for k, v in case.items()}
    out = getattr(bk, op)(**native)
    return [as_float64(bk, o) for o in (out if len(op_records.OPS[op].returns) > 1 else (out,))]


def _bound(dtype: str, case: dict[str, Any]) -> tuple[tolerances.Relative, list[np.ndarray], list[np.ndarray]]:
    """The record's relative bound in ``dtype``, with its sensitivities and floors per output, at ``case``."""
    outputs = [np.asarray(o, dtype=np.float64) for o in reference.sgd_momentum_step(**case)]
    floors = tolerances.accumulation("sgd_momentum_step", case, outputs, dtype)
    return tolerances.relative(dtype, "sgd_momentum_step"), sensitivity("sgd_momentum_step", case, outputs), floors


# --- momentum 0 is plain SGD ----------------------------------------------------------------------


def _plain(dtype: str) -> Any:
    def build(shape: tuple[int, ...]) -> Any:
        fields = {name: float_arrays(dtype, shape) for name in _TENSORS}
        hyper = {**_hyper(), "momentum": st.just(0.0), "weight_decay": st.just(0.0)}
        return st.fixed_dictionaries({**fields, **hyper}).map(_undamped_if_nesterov)

    return shapes().flatmap(build)


@invariant(
    "sgd_momentum_step.momentum_zero_is_sgd_step",
    term="momentum",
    statement="With momentum 0, sgd_momentum_step is the backend's plain sgd_step, param − lr·grad, whatever "
    "the dampening, Nesterov or first step (PyTorch applies neither without momentum), and the buffer is "
    "returned unchanged.",
    cases=_plain,
    ops=("sgd_momentum_step", "sgd_step"),
    dtypes=("float32", "float64"),
)
def momentum_zero_is_sgd_step(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, case)
    plain = _call(bk, dtype, {k: case[k] for k in ("param", "grad", "lr")}, op="sgd_step")[0]
    tol, scales, floors = _bound(dtype, case)
    assert_close(got[0], plain, tol, "sgd_momentum_step's param against sgd_step's", scale=2.0 * scales[0])
    buffer = np.asarray(case["momentum_buffer"], dtype=np.float64)
    assert_close(got[1], buffer, tol, "sgd_momentum_step's buffer with momentum 0", scale=scales[1], extra=floors[1])


# --- a constant gradient: the geometric buffer ----------------------------------------------------


def _constant(dtype: str) -> Any:
    def build(shape: tuple[int, ...]) -> Any:
        return st.fixed_dictionaries(
            {
                "param": float_arrays(dtype, shape),
                "grad": float_arrays(dtype, shape),
                "lr": st.sampled_from(_NONZERO_RATES),
                "momentum": st.sampled_from([m for m in _MOMENTA if m]),
                "dampening": st.sampled_from(_DAMPENINGS),
                "k": st.integers(1, 8),
            }
        )

    return shapes().flatmap(build)


@invariant(
    "sgd_momentum_step.constant_gradient_fills_the_buffer_geometrically",
    term="momentum",
    statement="Fed one gradient g for k steps from the first, the buffer is μ^{k−1}·g + (1 − τ)(1 − μ^{k−1})/(1 − μ)·g "
    "((1 − μᵏ)/(1 − μ)·g without dampening; the first step is undamped) and the parameters moved by lr times "
    "the sum of the buffers.",
    cases=_constant,
    dtypes=("float32", "float64"),
)
def constant_gradient(bk: Backend, dtype: str, param: Any, grad: Any, k: int, **hyper: Any) -> None:
    g = np.asarray(grad, dtype=np.float64)
    state = [bk.asarray(param, dtype), bk.asarray(np.zeros_like(g).tolist(), dtype)]
    native_grad = bk.asarray(grad, dtype)
    for t in range(1, k + 1):
        state = list(bk.sgd_momentum_step(state[0], native_grad, state[1], first_step=t == 1, **hyper))
    mu, tau, lr = hyper["momentum"], hyper["dampening"], hyper["lr"]
    # By hand: b_1 = g, b_t = μ·b_{t−1} + (1 − τ)·g; Σ_{t ≤ k} b_t for the parameters.
    buffers = [mu ** (t - 1) + (1.0 - tau) * (1.0 - mu ** (t - 1)) / (1.0 - mu) for t in range(1, k + 1)]
    tol = tolerances.forward(dtype)
    assert_close(as_float64(bk, state[1]), buffers[-1] * g, tol, f"the buffer after {k} steps of one gradient")
    # The parameters: |param| + lr·Σ|b_t| is the size of what was added, each step rounding once.
    moved = np.asarray(param, dtype=np.float64) - lr * sum(buffers) * g
    scale = np.abs(np.asarray(param, dtype=np.float64)) + lr * sum(buffers) * np.abs(g)
    extra = 4 * k * tolerances.UNIT_ROUNDOFF[dtype] * scale  # k steps, a few roundings each, of these sizes
    assert_close(as_float64(bk, state[0]), moved, tol, f"param after {k} steps of one gradient", extra=extra)


# --- Nesterov: along the new buffer --------------------------------------------------------------


def _nesterov(dtype: str) -> Any:
    def build(shape: tuple[int, ...]) -> Any:
        fields = {name: float_arrays(dtype, shape) for name in _TENSORS}
        hyper = {**_hyper(_NONZERO_RATES), "nesterov": st.just(True), "dampening": st.just(0.0)}
        hyper["momentum"] = st.sampled_from([m for m in _MOMENTA if m])
        return st.fixed_dictionaries({**fields, **hyper})

    return shapes().flatmap(build)


@invariant(
    "sgd_momentum_step.nesterov_steps_along_the_new_buffer",
    term="momentum",
    statement="Nesterov's step moves the parameters by lr·(g̃ + μ·b′), b′ the buffer the step returns (the "
    "look-ahead through the new velocity, not the old one), g̃ = grad + weight_decay·param.",
    cases=_nesterov,
    dtypes=("float32", "float64"),
)
def nesterov_new_buffer(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, case)
    p, g = (np.asarray(case[k], dtype=np.float64) for k in ("param", "grad"))
    g_tilde = g + case["weight_decay"] * p
    expected = p - case["lr"] * (g_tilde + case["momentum"] * got[1])
    tol, scales, floors = _bound(dtype, case)
    assert_close(
        got[0], expected, tol, "Nesterov's param against lr·(g̃ + μ·b′)", scale=2.0 * scales[0], extra=floors[0]
    )


# --- ten steps on a quadratic -------------------------------------------------------------------


def _quadratic(dtype: str) -> Any:
    """A convex quadratic ½Σ aᵢ(wᵢ − cᵢ)² (curvatures a, minimum c), a start w0 and the hyper-parameters."""

    def build(n: int) -> Any:
        def vec(lo: float, hi: float) -> Any:
            return st.lists(st.floats(lo, hi), min_size=n, max_size=n)

        hyper = {**_hyper(_NONZERO_RATES), "first_step": st.just(True)}
        return st.fixed_dictionaries({"a": vec(0.1, 10.0), "c": vec(-5.0, 5.0), "w0": vec(-10.0, 10.0), **hyper})

    return (
        st.integers(1, 4)
        .flatmap(build)
        .map(_undamped_if_nesterov)
        .map(lambda q: {**q, "w0": representable(np.asarray(q["w0"]), dtype).tolist()})
    )


@invariant(
    "sgd_momentum_step.trajectory_matches_reference",
    term="momentum",
    statement="Ten steps of the backend's sgd_momentum_step on a convex quadratic, each fed the backend's own "
    "parameters and buffer (the first with first_step=True), follow the reference trajectory.",
    cases=_quadratic,
    # float64 only, as for sgd_step: lower precisions' roundings add up over the steps.
    dtypes=("float64",),
)
def trajectory(bk: Backend, dtype: str, a: list[float], c: list[float], w0: list[float], **hyper: Any) -> None:
    hyper.pop("first_step")
    zeros = [0.0] * len(w0)
    got, expected = [np.asarray(w0)], [w0]
    state = [bk.asarray(w0, dtype), bk.asarray(zeros, dtype)]
    ref_state = (w0, zeros)
    for t in range(1, 11):
        grad = np.multiply(a, got[-1] - np.asarray(c))
        state = list(
            bk.sgd_momentum_step(state[0], bk.asarray(grad.tolist(), dtype), state[1], first_step=t == 1, **hyper)
        )
        got.append(as_float64(bk, state[0]))
        ref_grad = [ai * (wi - ci) for ai, wi, ci in zip(a, ref_state[0], c, strict=True)]
        ref_state = reference.sgd_momentum_step(ref_state[0], ref_grad, ref_state[1], first_step=t == 1, **hyper)
        expected.append(ref_state[0])
    tol = tolerances.forward(dtype)
    assert_close(np.array(got), np.array(expected), tol, "sgd_momentum_step trajectory (rows = steps)")


# --- weight decay: L2 in the gradient -----------------------------------------------------------------


def _decay_alone(dtype: str) -> Any:
    def build(shape: tuple[int, ...]) -> Any:
        return st.fixed_dictionaries(
            {
                "param": float_arrays(dtype, shape),
                "momentum_buffer": float_arrays(dtype, shape),
                "lr": st.sampled_from(_NONZERO_RATES),
                "momentum": st.sampled_from([m for m in _MOMENTA if m]),
                "dampening": st.sampled_from(_DAMPENINGS),
                "weight_decay": st.sampled_from([d for d in _DECAYS if d]),
            }
        )

    return shapes().flatmap(build)


@invariant(
    "sgd_momentum_step.l2_decay_enters_the_buffer",
    term="weight-decay",
    statement="SGD's L2 weight decay λ on a first step with a zero gradient puts λ·param into the momentum "
    "buffer and multiplies the parameters by (1 − lr·λ): the decay is a gradient (coupled), which the "
    "momentum carries on, not a shrink beside the step (decoupled, AdamW's).",
    cases=_decay_alone,
    dtypes=("float32", "float64"),
)
def l2_enters_the_buffer(bk: Backend, dtype: str, **hyper: Any) -> None:
    case = {**hyper, "grad": np.zeros(np.shape(hyper["param"])).tolist(), "first_step": True}
    got = _call(bk, dtype, case)
    p, wd = np.asarray(case["param"], dtype=np.float64), case["weight_decay"]
    tol, scales, floors = _bound(dtype, case)
    expected = (p * (1.0 - case["lr"] * wd), wd * p)  # by hand: b = λ·θ, θ − lr·b
    for name, a, e, s, f in zip(_OUTPUTS, got, expected, scales, floors, strict=True):
        assert_close(a, e, tol, f"sgd_momentum_step's {name} with decay alone", scale=s, extra=f)


@invariant(
    "sgd_momentum_step.l2_decay_is_decoupled_without_momentum",
    term="weight-decay",
    statement="Without momentum, SGD's L2 weight decay λ is the decoupled decay: the new parameters are "
    "(1 − lr·λ)·param − lr·grad (for Adam the two differ: the L2 term is divided by √v̂).",
    cases=lambda d: _plain(d).map(lambda c: {**c, "weight_decay": 0.5, "first_step": False}),
    dtypes=("float32", "float64"),
)
def l2_is_decoupled_for_plain_sgd(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, case)
    p, g = (np.asarray(case[k], dtype=np.float64) for k in ("param", "grad"))
    expected = p * (1.0 - case["lr"] * case["weight_decay"]) - case["lr"] * g
    tol, scales, floors = _bound(dtype, case)
    assert_close(got[0], expected, tol, "plain SGD's param with L2 decay", scale=scales[0], extra=floors[0])
