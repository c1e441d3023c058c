"""The reference itself as a backend: the oracle checked against its own invariants.

Tensors stay nested lists of Python floats (float64 only). ``vjp`` calls the
hand-written ``<op>_vjp`` functions of :mod:`dlterms.reference`, so the
gradient invariants check them against finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dlterms.reference import *  # noqa: F403  (the backend's ops are the reference functions)

import dlterms
from dlterms import reference as _ref

name = "reference"
version = dlterms.__version__
dtypes = ("float64",)


def asarray(data: Any, dtype: str = "float64") -> Any:
    if dtype == "int64":
        return np.asarray(data, dtype=np.int64).tolist()
    if dtype != "float64":
        raise ValueError(f"reference backend: dtype={dtype!r}; expected 'float64' (the reference computes in float64)")
    return np.asarray(data, dtype=np.float64).tolist()


def to_numpy(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def vjp(fn: Any, primals: tuple[Any, ...], cotangent: Any) -> tuple[Any, ...]:
    """Gradients of ``fn`` at ``primals`` from the reference's ``<op>_vjp``.

    ``fn`` must be an :class:`~dlterms.conformance.backends.OpCall` (one
    canonical op with bound keyword arguments); the reference has no tape.
    A VJP of several differentiable arguments returns a tuple in the order of
    ``fn.diff_args`` (the op's differentiable arguments in signature order).
    """
    op = getattr(fn, "op", None)
    backward = getattr(_ref, f"{op}_vjp", None)
    if backward is None:
        raise TypeError(f"reference backend: vjp needs an OpCall of an op with a <op>_vjp; got {fn!r}")
    kwargs = dict(fn.kwargs)
    kwargs.update(zip(fn.diff_args, primals, strict=True))
    grads = backward(**kwargs, cotangent=cotangent)
    return grads if isinstance(grads, tuple) else (grads,)
