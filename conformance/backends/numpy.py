"""NumPy as a backend: forward ops only (NumPy has no autodiff, so no ``vjp``).

Each op is the direct NumPy expression of the definition, written the way a
careful NumPy user would (stable forms included), so the suite checks NumPy's
elementwise kernels and reductions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

name = "numpy"
version = np.__version__
dtypes = ("float16", "float32", "float64")


def asarray(data: Any, dtype: str = "float64") -> np.ndarray:
    return np.asarray(data, dtype=np.dtype(dtype))


def to_numpy(x: Any) -> np.ndarray:
    return np.asarray(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # never overflows; then the two-branch form
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.zeros_like(x))


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
