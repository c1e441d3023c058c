"""Conventions measured through any backend's canonical ops: the same probes for a built-in adapter and a plug-in.

Some conventions are about a canonical op itself, called the way the adapter
calls its framework: the derivative its autodiff gives ReLU and leaky ReLU at
0 (through the adapter's ``vjp``), where a max-pooling gradient goes when a
window ties, the sign of relu(−0.0), whether a float32 subnormal survives an op.
:data:`ADAPTER_PROBES` measures those through
:class:`~dlterms.conformance.backends.Backend` alone, with the inputs and
readers of :mod:`.readings`, so they run on any backend. A backend whose
framework has no probe module (a plug-in) gets them in its report
(:func:`.registry.measure_backend`); the built-in frameworks keep the probes
of their own modules, which call the framework's API directly.

A probe applies when the backend has its ops (and ``vjp`` where it needs one)
in its dtype: float64 where the backend has it, else its widest dtype, or a
fixed dtype (float32 for the subnormal probes). Conventions about a
framework's own API defaults (softmax with no axis, the default reduction of
its cross-entropy) cannot be measured through the canonical ops, whose
arguments are always given: an adapter declares probes for them
(``conventions``, :func:`.registry.declared_probes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends import DTYPES, Backend, OpCall
from .readings import SUBNORMAL_X, TINY32, Value, num, sign_of_zero, subnormal, tie_rule

__all__ = ["ADAPTER_PROBES", "AdapterProbe"]


@dataclass(frozen=True)
class AdapterProbe:
    """Convention ``convention`` measured through a backend's ``ops`` (and ``vjp``), in ``dtype``.

    ``dtype=None`` takes float64, or the widest dtype the backend has every op
    in; ``measure(bk, dtype)`` calls the ops and reads the value.
    """

    convention: str
    ops: tuple[str, ...]
    measure: Callable[[Backend, str], Value]
    needs_vjp: bool = False
    dtype: str | None = None

    def dtype_on(self, bk: Backend) -> str | None:
        """The dtype this probe runs in on ``bk``, or None where the backend lacks an op, ``vjp`` or the dtype."""
        if self.needs_vjp and not bk.has_vjp:
            return None
        candidates = (self.dtype,) if self.dtype else tuple(reversed(DTYPES))
        return next((d for d in candidates if all(bk.supports(op, d) for op in self.ops)), None)

    def api(self, bk: Backend, dtype: str) -> str:
        """What the probe calls, as the report's ``api``: ``tinynp adapter: relu + vjp (float64)``."""
        return f"{bk.name} adapter: {' + '.join((*self.ops, 'vjp') if self.needs_vjp else self.ops)} ({dtype})"


def _first(bk: Backend, y: Any) -> float:
    """The first element of a native result, as a float."""
    return float(np.asarray(bk.to_numpy(y), dtype=np.float64).reshape(-1)[0])


def _gradient(bk: Backend, op: str, x: Any, dtype: str, **kwargs: Any) -> np.ndarray:
    """The gradient of ``sum(op(x))`` at ``x`` through the backend's ``vjp`` (cotangent of ones), as NumPy."""
    fn = OpCall(bk, op, kwargs, ("x",))
    xn = bk.asarray(x, dtype)
    ones = np.ones_like(np.asarray(bk.to_numpy(fn(xn)), dtype=np.float64))
    grads = bk.vjp(fn, (xn,), bk.asarray(ones.tolist(), dtype))
    return np.asarray(bk.to_numpy(grads[0]), dtype=np.float64)


def relu_derivative_at_zero(bk: Backend, dtype: str) -> Value:
    return num(_gradient(bk, "relu", [0.0], dtype)[0])


def leaky_relu_derivative_at_zero(bk: Backend, dtype: str) -> Value:
    return num(_gradient(bk, "leaky_relu", [0.0], dtype, negative_slope=0.25)[0])


def relu_sign_of_negative_zero(bk: Backend, dtype: str) -> Value:
    return sign_of_zero(_first(bk, bk.relu(x=bk.asarray([-0.0], dtype))))


def max_pool2d_gradient_on_ties(bk: Backend, dtype: str) -> Value:
    return tie_rule(_gradient(bk, "max_pool2d", [[[[1.0, 1.0], [1.0, 1.0]]]], dtype, kernel_size=2))


def sigmoid_subnormal_result(bk: Backend, dtype: str) -> Value:
    return subnormal(_first(bk, bk.sigmoid(x=bk.asarray([SUBNORMAL_X], dtype))))


def float32_subnormal_arithmetic(bk: Backend, dtype: str) -> Value:
    # linear of x = [[2^−126]] and weight = [[0.5]], no bias: the one product 2^−126 × 0.5.
    return subnormal(_first(bk, bk.linear(x=bk.asarray([[TINY32]], dtype), weight=bk.asarray([[0.5]], dtype))))


ADAPTER_PROBES: tuple[AdapterProbe, ...] = (
    AdapterProbe("relu.derivative_at_zero", ("relu",), relu_derivative_at_zero, needs_vjp=True),
    AdapterProbe("leaky_relu.derivative_at_zero", ("leaky_relu",), leaky_relu_derivative_at_zero, needs_vjp=True),
    AdapterProbe("relu.sign_of_negative_zero", ("relu",), relu_sign_of_negative_zero),
    AdapterProbe("max_pool2d.gradient_on_ties", ("max_pool2d",), max_pool2d_gradient_on_ties, needs_vjp=True),
    AdapterProbe("sigmoid.subnormal_result", ("sigmoid",), sigmoid_subnormal_result, dtype="float32"),
    AdapterProbe("float32.subnormal_arithmetic", ("linear",), float32_subnormal_arithmetic, dtype="float32"),
)
