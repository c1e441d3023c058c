"""NumPy's conventions, measured through NumPy's own functions (it has no layers, losses, autodiff, softmax
or bfloat16)."""

from __future__ import annotations

import numpy as np

from .readings import (
    ACCUMULATION_X,
    F16_EXP_X,
    F16_LINEAR_OVERFLOW_X,
    F16_MAX,
    F16_MAX_STEPS,
    F16_PARTIAL_SUM_X,
    TINY32,
    XCORR_W,
    XCORR_X,
    Probe,
    Value,
    extra_cell_side,
    flip,
    largest_finite,
    num,
    sign_of_zero,
    subnormal,
    variance,
)

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


def float16_exp_overflow() -> Value:
    with np.errstate(over="ignore"):  # the overflow is what is measured
        return num(np.exp(np.float16(F16_EXP_X)))


def float16_largest_finite() -> Value:
    with np.errstate(over="ignore"):
        return largest_finite(np.full(2, F16_MAX, np.float16) + np.array(F16_MAX_STEPS, np.float16))


def _matmul_of_ones(x: list[list[float]]) -> Value:
    """``numpy.matmul(x, ones)`` in float16: the dot product x · ones, as a linear layer computes it."""
    a = np.array(x, np.float16)
    with np.errstate(over="ignore", invalid="ignore"):
        return num(np.matmul(a, np.ones((a.shape[1], 1), np.float16))[0, 0])


def float16_linear_overflow() -> Value:
    return _matmul_of_ones(F16_LINEAR_OVERFLOW_X)


def float16_linear_partial_sum_overflow() -> Value:
    return _matmul_of_ones(F16_PARTIAL_SUM_X)


def float16_sum_accumulation() -> Value:
    return num(np.sum(np.array(ACCUMULATION_X["float16"], np.float16)))


def float16_linear_accumulation() -> Value:
    return _matmul_of_ones([ACCUMULATION_X["float16"]])


def _row(index: int) -> np.ndarray:
    from .reference import INDEX_TABLE

    return np.asarray(INDEX_TABLE)[np.asarray([index])]


def embedding_out_of_range_index() -> Value:
    from .reference import index_read

    return index_read(lambda: _row(3))


def embedding_negative_index() -> Value:
    from .reference import index_read

    return index_read(lambda: _row(-1))


PROBES: tuple[Probe, ...] = (
    Probe("relu.sign_of_negative_zero", "numpy.maximum(x, 0)", relu_sign_of_negative_zero),
    Probe("padding.same_extra_cell", "numpy.convolve(mode='same')", padding_same_extra_cell),
    Probe("variance.default_correction", "numpy.var", variance_default_correction),
    Probe("float32.subnormal_arithmetic", "numpy.float32 *", float32_subnormal_arithmetic),
    Probe("conv2d.flips_kernel", "numpy.convolve", conv2d_flips_kernel),
    Probe("float16.exp_overflow", "numpy.exp (float16)", float16_exp_overflow),
    Probe("float16.largest_finite", "numpy.add (float16)", float16_largest_finite),
    Probe("float16.linear_overflow", "numpy.matmul (float16)", float16_linear_overflow),
    Probe("float16.linear_partial_sum_overflow", "numpy.matmul (float16)", float16_linear_partial_sum_overflow),
    Probe("float16.sum_accumulation", "numpy.sum (float16)", float16_sum_accumulation),
    Probe("float16.linear_accumulation", "numpy.matmul (float16)", float16_linear_accumulation),
    Probe("embedding.out_of_range_index", "numpy indexing (weight[indices])", embedding_out_of_range_index),
    Probe("embedding.negative_index", "numpy indexing (weight[indices])", embedding_negative_index),
)
