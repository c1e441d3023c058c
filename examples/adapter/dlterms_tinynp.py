"""tinynp: a small, partial dlterms adapter written with NumPy.

The module is the backend (and the whole framework: tinynp is its five ops).
It has what every backend must have (``name``, ``version``, ``dtypes``,
``asarray``, ``to_numpy``) and five of the canonical ops; the others are
absent, and ``dlterms conform`` reports their invariants ``unsupported`` and
the coverage as 5/15. It has no ``vjp`` (NumPy has no autodiff), so the
gradient invariants are ``unsupported`` too. Its ``conventions`` declare two
probes of its own API's defaults, which the report's ``conventions`` section
shows beside those dlterms measures through the ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dlterms.conformance.conventions import Probe, readings

# --- what every backend has --------------------------------------------------------

name = "tinynp"
version = "0.1.0"
dtypes = ("float32", "float64")  # the dtypes it claims; the suite checks each


def asarray(data: Any, dtype: str = "float64") -> np.ndarray:
    """Nested lists of floats (or of ints, for dtype="int64") -> a native array."""
    return np.asarray(data, dtype=dtype)


def to_numpy(x: np.ndarray) -> np.ndarray:
    """A native array -> numpy.ndarray (the suite compares in NumPy)."""
    return np.asarray(x)


# --- some canonical ops, with the signatures of dlterms.reference --------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-|x|) never overflows; the two branches give 1/(1+e^-x) and e^x/(1+e^x).
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.zeros_like(x))


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    # The canonical default slope is 0.01; a framework with another default
    # (TensorFlow: 0.2) must still use the slope it is given.
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def softmax(x: np.ndarray, axis: int | None = -1) -> np.ndarray:  # axis=None: over every element
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))  # shift by the max: exp never overflows
    return e / np.sum(e, axis=axis, keepdims=True)


def mse_loss(input: np.ndarray, target: np.ndarray, reduction: str = "mean") -> np.ndarray:
    squared = np.square(input - target)
    if reduction == "none":
        return squared
    if reduction == "sum":
        return np.sum(squared)
    return np.sum(squared) / squared.size if squared.size else np.full((), np.nan, squared.dtype)


# --- conventions: the defaults of the framework's own API (optional) -----------------
# dlterms measures the conventions about a canonical op through the ops above (the sign
# of relu(-0.0), a float32 subnormal through sigmoid). Those about the framework's own
# defaults it cannot reach, since it always passes every argument: the adapter declares
# a probe for each, calling its API as a user would, on the input and with the reader
# of dlterms.conformance.conventions.readings that every framework's probe uses.


def softmax_default_axis() -> str:
    return readings.softmax_axis(softmax(readings.X3))  # no axis: tinynp's default, -1


def softmax_axis_none() -> str:
    return readings.softmax_axis(softmax(readings.X3, axis=None))


conventions = (
    Probe("softmax.default_axis", "tinynp.softmax (no axis)", softmax_default_axis),
    Probe("softmax.axis_none", "tinynp.softmax(axis=None)", softmax_axis_none),
)
