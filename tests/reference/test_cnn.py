"""The CNN block conv → ReLU → pool and its VJP against PyTorch, a hand-checked case and bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors gain nothing from intra-op threads, which only contend for shared CI cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@st.composite
def block_cases(draw) -> dict[str, Any]:
    """Shapes and hyper-parameters of a block whose convolution output holds at least one pooling window."""
    c_in, c_out, k, s, p = (draw(st.integers(lo, hi)) for lo, hi in ((1, 2), (1, 3), (1, 3), (1, 2), (0, 1)))
    pool_size = draw(st.integers(1, 2))
    # The conv output (H + 2p − k)//s + 1 must be at least pool_size.
    h, w = (draw(st.integers(max(1, k - 2 * p + (pool_size - 1) * s), 6)) for _ in range(2))
    return {
        "shapes": ((draw(st.integers(1, 2)), c_in, h, w), (c_out, c_in, k, k)),
        "bias": draw(st.booleans()),
        "stride": s,
        "padding": p,
        "pool": draw(st.sampled_from(["max", "avg"])),
        "pool_size": pool_size,
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def _torch_block(x, w, b, stride, padding, pool, pool_size):
    pooling = F.max_pool2d if pool == "max" else F.avg_pool2d
    return pooling(F.relu(F.conv2d(x, w, b, stride=stride, padding=padding)), pool_size)


@settings(max_examples=40)
@given(block_cases())
def test_conv_block_and_its_vjp_equal_pytorchs_composition(case: dict[str, Any]) -> None:
    """conv_block equals F.conv2d → F.relu → pooling, and conv_block_vjp equals autograd through them (float64)."""
    rng = np.random.default_rng(case["seed"])
    # Continuous random values: no conv output is exactly 0 (ReLU's kink) and no window has a tie.
    x_shape, w_shape = case["shapes"]
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if case["bias"] else None
    hyper = {k: case[k] for k in ("stride", "padding", "pool", "pool_size")}
    tensors = [None if v is None else torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    y = _torch_block(*tensors, **hyper)
    g = rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(g))
    lists = [None if v is None else v.tolist() for v in (x, w, b)]
    np.testing.assert_allclose(ref.conv_block(*lists, **hyper), y.detach().numpy(), rtol=1e-12, atol=1e-12)
    grads = ref.conv_block_vjp(*lists, g.tolist(), **hyper)
    for got, t in zip(grads, tensors, strict=True):
        assert (got is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12, atol=1e-12)


X = [[[[1.0, -2.0, 3.0], [0.0, 4.0, -1.0], [2.0, 1.0, 0.0]]]]


def test_conv_block_golden() -> None:
    """1×1 kernel of 1: ReLU zeroes the negatives, then the top-left 2×2 window gives max 4 or mean (1+0+0+4)/4."""
    assert ref.conv_block(X, [[[[1.0]]]]) == [[[[4.0]]]]
    assert ref.conv_block(X, [[[[1.0]]]], pool="avg") == [[[[1.25]]]]
    assert ref.conv_block(X, [[[[1.0]]]], [-3.5], pool_size=1) == [
        [[[0.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.0]]]
    ]


def test_conv_block_vjp_golden_dead_units_get_no_gradient() -> None:
    """The gradient reaches only the window's maximum, and only if ReLU let it through."""
    dx, dw, db = ref.conv_block_vjp(X, [[[[2.0]]]], None, [[[[1.0]]]])
    assert dx == [[[[0.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]]]  # d(2·x)/dx at the max, 4
    assert dw == [[[[4.0]]]] and db is None


def test_conv_block_rejects_an_unknown_pooling() -> None:
    """pool must be 'max' or 'avg', and the message lists both."""
    with pytest.raises(ValueError, match=r"conv_block: pool='min'; expected one of 'max', 'avg'"):
        ref.conv_block(X, [[[[1.0]]]], pool="min")
    with pytest.raises(ValueError, match=r"conv_block_vjp: pool='sum'"):
        ref.conv_block_vjp(X, [[[[1.0]]]], None, [[[[1.0]]]], pool="sum")


def test_conv_block_reports_a_pool_larger_than_the_feature_map() -> None:
    """A pooling window larger than the conv output is refused by the pooling step, with both sizes."""
    with pytest.raises(ValueError, match=r"max_pool2d: the kernel spans 4 positions .* padded input has only 3"):
        ref.conv_block(X, [[[[1.0]]]], pool_size=4)
