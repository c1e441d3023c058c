"""The convolution invariants: correct frameworks pass, deliberately broken ones are caught by name.

Also checks that the conv strategies generate what their names say.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance.strategies import conv_params, grid_arrays
from hypothesis import given
from hypothesis import strategies as st

CONV_TERMS = "convolution,kernel,feature-map,stride,padding"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_convolution_invariant(conform, backend: str) -> None:
    """A correct framework exits 0, and every convolution term is in the report."""
    run = conform(backend, "--terms", CONV_TERMS, "--max-examples", "10")
    assert run.code == 0, run.out
    assert not run.rows("fail") and not run.rows("error")
    assert {r["term"] for r in run.rows("pass")} == set(CONV_TERMS.split(","))


# --- deliberately broken adapters ------------------------------------------------------------


def _hw(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _true_convolution(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    # Mathematical convolution: the kernel flipped in both spatial axes.
    return F.conv2d(x, weight.flip(-2, -1), bias, _hw(stride), _hw(padding), _hw(dilation), groups)


def _padding_ignored(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(x, weight, bias, _hw(stride), 0, _hw(dilation), groups)


def _stride_ignored(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(x, weight, bias, 1, _hw(padding), _hw(dilation), groups)


def _padding_with_ones(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    padded = F.pad(x, (pw, pw, ph, ph), value=1.0)
    return F.conv2d(padded, weight, bias, _hw(stride), 0, _hw(dilation), groups)


class _BiasGradientMean(torch.autograd.Function):
    """A correct forward pass whose backward averages the bias gradient instead of summing it."""

    @staticmethod
    def forward(ctx, x, weight, bias, hyper):
        ctx.save_for_backward(x, weight)
        ctx.hyper = hyper
        return F.conv2d(x, weight, bias, **hyper)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        dx = torch.nn.grad.conv2d_input(x.shape, weight, g, **ctx.hyper)
        dw = torch.nn.grad.conv2d_weight(x, weight.shape, g, **ctx.hyper)
        return dx, dw, g.mean(dim=(0, 2, 3)), None


def _wrong_bias_gradient(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    hyper = {"stride": _hw(stride), "padding": _hw(padding), "dilation": _hw(dilation), "groups": groups}
    if bias is None:
        return F.conv2d(x, weight, None, **hyper)
    return _BiasGradientMean.apply(x, weight, bias, hyper)


@pytest.mark.parametrize(
    ("impl", "terms", "expected", "still_pass"),
    [
        (
            _true_convolution,
            "convolution,kernel",
            {"conv2d.delta_kernel_is_identity", "conv2d.equals_im2col_matmul", "conv2d.matches_reference"},
            {"conv2d.output_shape", "conv2d.linear_in_input", "conv2d.translation_equivariant"},
        ),
        (_padding_ignored, "padding", {"conv2d.padding_is_zeros"}, set()),
        (_padding_with_ones, "padding", {"conv2d.padding_is_zeros"}, set()),
        (_stride_ignored, "stride", {"conv2d.stride_subsamples"}, set()),
        (
            _wrong_bias_gradient,
            "convolution",
            {"conv2d.vjp_matches_reference", "conv2d.grad_matches_finite_difference"},
            {"conv2d.matches_reference", "conv2d.equals_im2col_matmul"},
        ),
    ],
)
def test_broken_conv2d_exits_1_naming_the_invariant(
    conform, broken_backend, impl, terms: str, expected: set[str], still_pass: set[str]
) -> None:
    """A deliberately broken conv2d makes `dlterms conform` exit 1, naming exactly the invariants it violates."""
    run = conform(broken_backend("torch", conv2d=impl), "--terms", terms, "--max-examples", "25", "--dtype", "float64")
    assert run.code == 1
    failed = run.failed_invariants()
    assert expected <= failed
    assert not still_pass & failed  # the other invariants tell this bug apart from others
    for name in expected:
        row = next(r for r in run.rows("fail") if r["invariant"] == name)
        assert row["counterexample"] is not None
        assert name in run.out


def test_a_backend_without_conv2d_reports_it_unsupported(conform, broken_backend) -> None:
    """An adapter without conv2d reports the convolution invariants unsupported and still exits 0."""
    run = conform(broken_backend("torch", conv2d=None), "--terms", "convolution", "--max-examples", "5")
    assert run.code == 0
    assert run.rows() and all(r["status"] == "unsupported" for r in run.rows())


# --- the strategies generate what their names say ----------------------------------------------


def _axes(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


@given(conv_params("float32"))
def test_conv_params_give_small_valid_convolutions(case: dict[str, Any]) -> None:
    """conv_params: N ≤ 2, C ≤ 3, H, W ≤ 6, k ≤ 3; groups divide both channel counts; the kernel fits."""
    n, c, h, w = np.shape(case["x"])
    o, c_g, kh, kw = np.shape(case["weight"])
    g = case["groups"]
    assert n <= 2 and c <= 3 and h <= 6 and w <= 6 and kh <= 3 and kw <= 3
    assert c % g == 0 and o % g == 0 and c_g * g == c
    assert case["bias"] is None or np.shape(case["bias"]) == (o,)
    (ph, pw), (dh, dw), (sh, sw) = (_axes(case[k]) for k in ("padding", "dilation", "stride"))
    assert dh * (kh - 1) + 1 <= h + 2 * ph and dw * (kw - 1) + 1 <= w + 2 * pw
    assert 1 <= sh <= 3 and 1 <= sw <= 3 and 0 <= ph <= 2 and 0 <= pw <= 2 and dh >= 1 and dw >= 1


@given(conv_params("float64", bias=True, stride=1, padding=0, dilation=1, groups=1))
def test_conv_params_honour_fixed_hyper_parameters(case: dict[str, Any]) -> None:
    """Fixed keyword arguments of conv_params are what every case gets."""
    assert case["bias"] is not None and case["groups"] == 1
    assert _axes(case["stride"]) == (1, 1) and _axes(case["padding"]) == (0, 0) and _axes(case["dilation"]) == (1, 1)


@given(st.sampled_from(["float16", "bfloat16", "float32", "float64"]).flatmap(lambda d: grid_arrays(d, (2, 3))))
def test_grid_arrays_are_quarter_multiples_within_two(values: Any) -> None:
    """grid_arrays: multiples of 1/4 in [−2, 2], so products and small sums are exact in every dtype."""
    a = np.asarray(values)
    assert a.shape == (2, 3) and np.all(np.abs(a) <= 2) and np.array_equal(a * 4, np.round(a * 4))
