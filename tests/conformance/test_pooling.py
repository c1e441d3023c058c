"""The pooling and CNN-block invariants: correct frameworks pass, deliberately broken ones are caught by name.

Also checks that the pooling strategies generate what their names say.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance.strategies import distinct_grid_arrays, pool_params
from hypothesis import given

POOL_TERMS = "pooling,convolutional-neural-network"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_pooling_and_cnn_block_invariant(conform, backend: str) -> None:
    """A correct framework exits 0, with rows for pooling and for the CNN block."""
    run = conform(backend, "--terms", POOL_TERMS, "--max-examples", "10")
    assert run.code == 0, run.out
    assert not run.rows("fail") and not run.rows("error")
    assert {r["term"] for r in run.rows("pass")} == set(POOL_TERMS.split(","))


# --- deliberately broken adapters -------------------------------------------------------------


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def _hw(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _avg_pool_always_excludes_padding(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    return F.avg_pool2d(x, _hw(kernel_size), _hw(stride), _hw(padding), count_include_pad=False)


def _max_pool_pads_with_zeros(x, kernel_size, stride=None, padding=0):
    ph, pw = _pair(padding)
    return F.max_pool2d(F.pad(x, (pw, pw, ph, ph), value=0.0), _hw(kernel_size), _hw(stride), 0)


def _max_pool_stride_one(x, kernel_size, stride=None, padding=0):
    return F.max_pool2d(x, _hw(kernel_size), 1 if stride is None else _hw(stride), _hw(padding))


def _weighted_avg_pool(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    # A fixed, non-uniform weighting of each window: what a pooling with a (learnt) kernel would compute.
    kh, kw = _pair(kernel_size)
    w = torch.arange(1, kh * kw + 1, dtype=x.dtype).reshape(1, 1, kh, kw)
    w = (w / w.sum()).expand(x.shape[1], 1, kh, kw)
    s = (kh, kw) if stride is None else _hw(stride)
    return F.conv2d(x, w, None, stride=s, padding=_hw(padding), groups=x.shape[1])


class _MaxPoolGradientSpread(torch.autograd.Function):
    """A correct max pooling whose backward shares each window's gradient equally, as average pooling does."""

    @staticmethod
    def forward(ctx, x, hyper):
        ctx.save_for_backward(x)
        ctx.hyper = hyper
        return F.max_pool2d(x, **hyper)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            xx = x.detach().requires_grad_(True)
            (dx,) = torch.autograd.grad(F.avg_pool2d(xx, **ctx.hyper), xx, g)
        return dx, None


def _max_pool_wrong_gradient(x, kernel_size, stride=None, padding=0):
    return _MaxPoolGradientSpread.apply(
        x, {"kernel_size": _hw(kernel_size), "stride": _hw(stride), "padding": _hw(padding)}
    )


@pytest.mark.parametrize(
    ("op", "impl", "expected", "still_pass"),
    [
        (
            "avg_pool2d",
            _avg_pool_always_excludes_padding,
            {"avg_pool2d.constant_input", "avg_pool2d.equals_uniform_depthwise_conv", "avg_pool2d.matches_reference"},
            {"avg_pool2d.output_shape", "avg_pool2d.no_parameters"},
        ),
        (
            "max_pool2d",
            _max_pool_pads_with_zeros,
            {"max_pool2d.constant_input", "max_pool2d.matches_reference"},
            {"max_pool2d.output_shape", "max_pool2d.no_parameters", "max_pool2d.at_least_avg_pool2d"},
        ),
        (
            "max_pool2d",
            _max_pool_stride_one,
            {"max_pool2d.output_shape", "conv_block.output_shape"},
            {"max_pool2d.constant_input"},
        ),
        (
            "avg_pool2d",
            _weighted_avg_pool,
            {"avg_pool2d.no_parameters", "avg_pool2d.matches_reference"},
            {"avg_pool2d.output_shape", "max_pool2d.at_least_avg_pool2d"},
        ),
        (
            "max_pool2d",
            _max_pool_wrong_gradient,
            {"max_pool2d.vjp_matches_reference", "max_pool2d.grad_matches_finite_difference"},
            {"max_pool2d.matches_reference", "max_pool2d.no_parameters"},
        ),
    ],
)
def test_broken_pooling_exits_1_naming_the_invariant(
    conform, broken_backend, op: str, impl, expected: set[str], still_pass: set[str]
) -> None:
    """A deliberately broken pooling makes `dlterms conform` exit 1, naming exactly the invariants it violates."""
    run = conform(
        broken_backend("torch", **{op: impl}), "--terms", POOL_TERMS, "--max-examples", "25", "--dtype", "float64"
    )
    assert run.code == 1
    failed = run.failed_invariants()
    assert expected <= failed
    assert not still_pass & failed  # the other invariants tell this bug apart from others
    for name in expected:
        row = next(r for r in run.rows("fail") if r["invariant"] == name)
        assert row["counterexample"] is not None
        assert name in run.out


# --- the strategies generate what their names say ---------------------------------------------------


@given(pool_params("float32", op="avg"))
def test_pool_params_give_valid_small_poolings(case: dict[str, Any]) -> None:
    """pool_params: k ≤ 3, padding ≤ k // 2 (PyTorch's rule), the window fits, H, W ≤ 6; avg cases carry the flag."""
    n, c, h, w = np.shape(case["x"])
    (kh, kw), (ph, pw) = _pair(case["kernel_size"]), _pair(case["padding"])
    assert n <= 2 and c <= 3 and h <= 6 and w <= 6 and kh <= 3 and kw <= 3
    assert ph <= kh // 2 and pw <= kw // 2
    assert kh <= h + 2 * ph and kw <= w + 2 * pw
    assert case["stride"] is None or all(1 <= s <= 3 for s in _pair(case["stride"]))
    assert isinstance(case["count_include_pad"], bool)


@given(pool_params("float16", op="max", distinct=True))
def test_pool_params_distinct_have_no_ties_and_are_exact(case: dict[str, Any]) -> None:
    """distinct=True: all values differ by at least 1/4 and are exact in float16 (so no window has a tie)."""
    a = np.asarray(case["x"])
    assert "count_include_pad" not in case
    values = np.sort(a.ravel())
    assert np.all(np.diff(values) >= 0.25)
    assert np.array_equal(a.astype(np.float16).astype(np.float64), a)


@given(distinct_grid_arrays("bfloat16", (2, 3, 6, 6)))
def test_distinct_grid_arrays_are_distinct_at_the_largest_size(values: Any) -> None:
    """The largest arrays the suite draws (216 values) stay distinct and exact in bfloat16."""
    a = np.asarray(values)
    assert len(np.unique(a)) == a.size
    assert np.array_equal(a * 4, np.round(a * 4)) and np.abs(a).max() <= 27
