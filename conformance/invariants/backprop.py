"""Invariants of backpropagation (seed section: backpropagation).

The network is a small multilayer perceptron (1-3 dense layers of width 1-3,
``tanh`` or ``sigmoid`` between them) with the mean squared error of N = 1-3
input-output pairs as its loss. The backend's gradient is obtained the way
backpropagation obtains it: a forward pass through the backend's ``linear``
and activation ops that keeps every layer's input and pre-activation, then a
backward pass that chains the backend's ``vjp`` of each op, last layer first,
starting from the loss's gradient 2(ŷ − y)/size. The backward pass calls
``vjp`` once per op (an :class:`~dlterms.conformance.backends.OpCall`), as
every generic check does, so any backend with ``vjp`` is checked: a
framework's autodiff, or the reference's hand-written VJPs.

* ``backprop.matches_autograd``: that gradient equals the reference's
  :func:`~dlterms.reference.backprop.backpropagate` (forward and backward pass
  per pair, then combined), which runs independently of the backend;
* ``backprop.matches_finite_differences``: it equals central finite
  differences of the backend's own loss (float64);
* ``backprop.small_step_lowers_loss``: a small step against it lowers the
  loss, evaluated by the float64 reference.

Smooth activations only: at ReLU's kink a finite difference is meaningless.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import reference

from .. import tolerances
from ..backends import Backend, OpCall
from ..checks import Violation, as_float64, assert_close, assert_that
from ..registry import invariant
from ..strategies import float_arrays

ACTIVATIONS = ("tanh", "sigmoid")
OPS = ("linear", *ACTIVATIONS)


@st.composite
def training_cases(draw: Any, dtype: str) -> dict[str, Any]:
    """``{"inputs", "targets", "weights", "biases", "activation"}``: a small MLP and N = 1-3 pairs."""
    sizes = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 3)) + 1)]
    n = draw(st.integers(1, 3))

    def values(shape: tuple[int, ...], bound: float) -> Any:
        return draw(float_arrays(dtype, shape, min_value=-bound, max_value=bound))

    return {
        "inputs": values((n, sizes[0]), 2.0),
        "targets": values((n, sizes[-1]), 2.0),
        "weights": [values((o, i), 1.0) for i, o in itertools.pairwise(sizes)],
        "biases": [values((o,), 1.0) for o in sizes[1:]],
        "activation": draw(st.sampled_from(ACTIVATIONS)),
    }


def _params(case: dict[str, Any]) -> list[np.ndarray]:
    """Every weight and bias, in the order weights[0], biases[0], weights[1], ..."""
    return [
        np.asarray(p, dtype=np.float64) for w, b in zip(case["weights"], case["biases"], strict=True) for p in (w, b)
    ]


def _param_name(k: int) -> str:
    return f"{'weights' if k % 2 == 0 else 'biases'}[{k // 2}]"


def _forward(bk: Backend, dtype: str, inputs: Any, params: list[np.ndarray], activation: str) -> tuple[list, list, Any]:
    """The backend's forward pass: each layer's input and pre-activation, and the output."""
    h = bk.asarray(inputs, dtype)
    layer_inputs, pre = [], []
    n_layers = len(params) // 2
    for l in range(n_layers):
        layer_inputs.append(h)
        w, b = (bk.asarray(p.tolist(), dtype) for p in params[2 * l : 2 * l + 2])
        z = bk.linear(h, w, b)
        pre.append(z)
        h = getattr(bk, activation)(z) if l < n_layers - 1 else z
    return layer_inputs, pre, h


def _loss(bk: Backend, dtype: str, case: dict[str, Any], params: list[np.ndarray]) -> float:
    """The mean squared error of the backend's network, summed up in float64."""
    output = as_float64(bk, _forward(bk, dtype, case["inputs"], params, case["activation"])[2])
    return float(np.mean((output - np.asarray(case["targets"])) ** 2))


def backend_gradients(bk: Backend, dtype: str, case: dict[str, Any]) -> list[np.ndarray]:
    """Backpropagation with the backend's ops: forward pass, then the chain of the backend's VJPs."""
    params = _params(case)
    layer_inputs, pre, output = _forward(bk, dtype, case["inputs"], params, case["activation"])
    y_hat = as_float64(bk, output)
    g = bk.asarray((2.0 * (y_hat - np.asarray(case["targets"])) / y_hat.size).tolist(), dtype)  # d MSE / d ŷ
    grads: list[np.ndarray] = [np.empty(0)] * len(params)
    for l in reversed(range(len(params) // 2)):
        w, b = (bk.asarray(p.tolist(), dtype) for p in params[2 * l : 2 * l + 2])
        dx, dw, db = bk.vjp(OpCall(bk, "linear"), (layer_inputs[l], w, b), g)[:3]
        grads[2 * l], grads[2 * l + 1] = as_float64(bk, dw), as_float64(bk, db)
        if l > 0:
            g = bk.vjp(OpCall(bk, case["activation"]), (pre[l - 1],), dx)[0]
    return grads


@invariant(
    "backprop.matches_autograd",
    term="backpropagation",
    statement="Backpropagation through the backend's ops (its vjp of each layer, chained over the whole batch) "
    "gives the same weight and bias gradients of the mean squared error as the reference's "
    "per-pair forward and backward passes, combined.",
    cases=training_cases,
    ops=OPS,
    needs_vjp=True,
    kind="gradient",
)
def backprop_matches_autograd(bk: Backend, dtype: str, **case: Any) -> None:
    got = backend_gradients(bk, dtype, case)
    _, expected = reference.backpropagate(
        case["inputs"], case["targets"], case["weights"], case["biases"], case["activation"]
    )
    tol = tolerances.gradient(dtype, "backprop.matches_autograd")
    for l, (dw, db) in enumerate(zip(expected.weights, expected.biases, strict=True)):
        assert_close(got[2 * l], dw, tol, f"dL/dweights[{l}]")
        assert_close(got[2 * l + 1], db, tol, f"dL/dbiases[{l}]")


@invariant(
    "backprop.matches_finite_differences",
    term="finite-difference",
    statement="The gradient that backpropagation through the backend's ops gives matches central finite "
    "differences of the backend's own loss (random-direction check over all weights and biases, float64).",
    cases=training_cases,
    ops=OPS,
    dtypes=("float64",),
    needs_vjp=True,
    kind="gradient",
)
def backprop_matches_finite_differences(bk: Backend, dtype: str, **case: Any) -> None:
    params = _params(case)
    grads = backend_gradients(bk, dtype, case)
    digest = hashlib.sha256(json.dumps(case, sort_keys=True).encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))  # the direction: a function of the case
    u = [rng.standard_normal(p.shape) for p in params]
    norm = np.sqrt(sum(float(np.sum(ui * ui)) for ui in u))
    u = [ui / norm for ui in u]
    eps = tolerances.FD_EPS
    plus = _loss(bk, dtype, case, [p + eps * ui for p, ui in zip(params, u, strict=True)])
    minus = _loss(bk, dtype, case, [p - eps * ui for p, ui in zip(params, u, strict=True)])
    numeric = (plus - minus) / (2 * eps)
    analytic = float(sum(np.sum(g * ui) for g, ui in zip(grads, u, strict=True)))
    scale = float(sum(np.sum(np.abs(g * ui)) for g, ui in zip(grads, u, strict=True)))
    tol = tolerances.gradient(dtype, "backprop.matches_finite_differences")
    err = abs(analytic - numeric)
    if err <= tol.atol + tol.rtol * max(scale, abs(numeric)):
        return
    worst = _worst_entry(bk, dtype, case, params, grads, eps)
    raise Violation(
        f"the directional derivative of the loss is {analytic:.10g} by backpropagation but {numeric:.10g} by "
        f"central differences; worst entry: dL/d{worst['parameter']}{tuple(worst['index'])} is "
        f"{worst['got']:.10g} by backpropagation, {worst['expected']:.10g} by finite differences",
        {"max_abs_err": err, "tolerance": tol.as_dict(), "eps": eps, **worst},
    )


def _worst_entry(
    bk: Backend, dtype: str, case: dict[str, Any], params: list[np.ndarray], grads: list[np.ndarray], eps: float
) -> dict[str, Any]:
    """The parameter entry whose backpropagated gradient is furthest from its finite difference."""
    worst: dict[str, Any] = {"score": -1.0}
    for k, (p, g) in enumerate(zip(params, grads, strict=True)):
        for idx in np.ndindex(p.shape):
            shifted = [q.copy() for q in params]
            shifted[k][idx] += eps
            plus = _loss(bk, dtype, case, shifted)
            shifted[k][idx] -= 2 * eps
            fd = (plus - _loss(bk, dtype, case, shifted)) / (2 * eps)
            if abs(fd - float(g[idx])) > worst["score"]:
                worst = {"score": abs(fd - float(g[idx])), "parameter": _param_name(k), "index": list(idx)}
                worst.update(expected=fd, got=float(g[idx]))
    worst.pop("score")
    return worst


# A step of length 1e-6 in parameter space: the first-order decrease (1e-6·|∇L| ≥ 1e-9 for the
# gradients kept) dwarfs both the second-order term (≈ 1e-12·curvature) and float64 rounding of the loss.
_STEP = 1e-6
_FLAT = 1e-3  # below this gradient norm the loss is flat to first order: nothing to check


@invariant(
    "backprop.small_step_lowers_loss",
    term="gradient",
    statement="The gradient points uphill: a small step against the backend's backpropagated gradient "
    "lowers the loss, L(θ − η∇L) < L(θ) with η·|∇L| = 1e-6 (loss evaluated by the float64 reference).",
    cases=training_cases,
    ops=OPS,
    needs_vjp=True,
    kind="gradient",
)
def backprop_small_step(bk: Backend, dtype: str, **case: Any) -> None:
    grads = backend_gradients(bk, dtype, case)
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    if not norm > _FLAT:
        return
    eta = _STEP / norm
    params = _params(case)
    stepped = [p - eta * g for p, g in zip(params, grads, strict=True)]

    def loss(ps: list[np.ndarray]) -> float:
        weights, biases = [p.tolist() for p in ps[0::2]], [p.tolist() for p in ps[1::2]]
        return reference.mse_loss(reference.mlp(case["inputs"], weights, biases, case["activation"]), case["targets"])

    before, after = loss(params), loss(stepped)
    assert_that(
        after < before,
        f"a step of length {_STEP:g} against the gradient did not lower the loss: {before!r} -> {after!r}",
        loss_before=before,
        loss_after=after,
        gradient_norm=norm,
    )
