"""A plug-in backend with a fake second device, so that device comparisons are tested on a CPU-only machine.

It is the NumPy backend (``dlterms.conformance.backends.numpy``) with a
``use_device`` that accepts ``"cpu"`` and ``"fake"``, and keeps the device
in a module attribute, as the torch adapter does. On ``"cpu"`` every op is
NumPy's. On ``"fake"`` three ops behave as a GPU kernel might:

* ``sigmoid`` is a few ulp off: its result times ``1 − 3u`` (u the unit
  roundoff of the dtype), about 3 to 4 ulp low: the errors grow, inside the
  tolerance (16u relative, see ``conformance/tolerances.py``), so no row fails;
* ``max_pool2d`` drops NaN (C's ``fmax``, as TensorFlow does): a *choice*
  among the special values changes (``max_pool2d.nan_in_window``), no row fails;
* ``avg_pool2d`` returns NaN for a window holding +∞: a *definition* changes
  (``avg_pool2d.infinity_in_window``), so ``avg_pool2d.special_values`` fails.

Load it as ``fake_device`` with this folder on ``sys.path``
(``dlterms conform --backend fake_device --device fake``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dlterms.conformance.backends import numpy as base

name = "fake_device"
version = base.version
dtypes = ("float32", "float64")
DEVICES = ("cpu", "fake")
device = "cpu"

asarray, to_numpy = base.asarray, base.to_numpy
tanh, relu, leaky_relu, softmax, log_softmax = base.tanh, base.relu, base.leaky_relu, base.softmax, base.log_softmax
linear, mse_loss, binary_cross_entropy, cross_entropy = (
    base.linear,
    base.mse_loss,
    base.binary_cross_entropy,
    base.cross_entropy,
)
sgd_step, conv2d, rnn = base.sgd_step, base.conv2d, base.rnn


def use_device(spec: str) -> None:
    """Compute on ``spec``: ``"cpu"`` or ``"fake"``; ValueError for any other device."""
    global device
    if spec not in DEVICES:
        raise ValueError(f"fake_device has the devices {', '.join(DEVICES)}; there is no {spec!r}")
    device = spec


def facts() -> dict[str, Any]:
    return {"device": device}


def sigmoid(x: np.ndarray) -> np.ndarray:
    y = base.sigmoid(x)
    if device != "fake":
        return y
    u = np.finfo(y.dtype).eps / 2
    return y * y.dtype.type(1 - 3 * u)  # 1 − 3u is representable: just below 1 the spacing is u


def max_pool2d(x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0) -> np.ndarray:
    if device != "fake":
        return base.max_pool2d(x, kernel_size, stride, padding)
    nan = np.isnan(x)
    y = base.max_pool2d(np.where(nan, -np.inf, x).astype(x.dtype), kernel_size, stride, padding)  # NaN dropped
    has_a_number = base.max_pool2d((~nan).astype(x.dtype), kernel_size, stride, padding) > 0
    return np.where(has_a_number, y, np.nan).astype(x.dtype)  # a window of NaN only stays NaN, as with fmax


def avg_pool2d(
    x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True
) -> np.ndarray:
    y = base.avg_pool2d(x, kernel_size, stride, padding, count_include_pad)
    return np.where(np.isposinf(y), np.nan, y).astype(y.dtype) if device == "fake" else y
