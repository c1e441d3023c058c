"""NumPy's conventions, measured through NumPy's own functions (it has no layers, losses or autodiff)."""

from __future__ import annotations

import numpy as np

from .readings import TINY32, XCORR_W, XCORR_X, Probe, Value, extra_cell_side, flip, sign_of_zero, subnormal, variance

__all__ = ["PROBES"]


def relu_sign_of_negative_zero() -> Value:
    return sign_of_zero(np.maximum(np.float64(-0.0), 0.0))


def padding_same_extra_cell() -> Value:
    return extra_cell_side(np.convolve([1.0, 2.0, 3.0, 4.0], [1.0, 1.0], mode="same")[0])


def variance_default_correction() -> Value:
    return variance(np.var([1.0, 2.0, 3.0, 4.0]))


def float32_subnormal_arithmetic() -> Value:
    return subnormal(np.float32(TINY32) * np.float32(0.5))


def conv2d_flips_kernel() -> Value:
    return flip(np.convolve(np.asarray(XCORR_X).reshape(-1), np.asarray(XCORR_W).reshape(-1), mode="valid"))


PROBES: tuple[Probe, ...] = (
    Probe("relu.sign_of_negative_zero", "numpy.maximum(x, 0)", relu_sign_of_negative_zero),
    Probe("padding.same_extra_cell", "numpy.convolve(mode='same')", padding_same_extra_cell),
    Probe("variance.default_correction", "numpy.var", variance_default_correction),
    Probe("float32.subnormal_arithmetic", "numpy.float32 *", float32_subnormal_arithmetic),
    Probe("conv2d.flips_kernel", "numpy.convolve", conv2d_flips_kernel),
)
