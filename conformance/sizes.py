"""The size tier (``dlterms conform --sizes``): each op's calls at realistic shapes.

Kernels switch code paths at sizes the default strategies never reach: the
remainder of a vector width, a reduction of 512 to 1024 elements, more than
65,535 rows, a channel count that is a multiple of 16 with few channels per
group, a sum of millions of elements. An op record names its size function and
the shapes (:attr:`dlterms.ops.Op.sizes`, with the lengths declared in
:mod:`dlterms.ops.record`); each function here yields concrete calls, values
drawn from a NumPy generator, so one seed (the example Hypothesis draws) fixes
every value and a failure is reproduced by its seed. The values mix ordinary
numbers with the op's edges (:mod:`dlterms.conformance.edges`), so an edge that
shows only in a vectorised loop's body or tail is met there.

The comparison is ``<op>.matches_reference``'s, with one difference in the
accumulation term: a sum of more than :data:`~dlterms.conformance.tolerances.LONG_SUM`
terms is held to the bound of a blocked or pairwise sum (see the tolerances).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .edges import EDGES, LIMITS
from .strategies import representable

__all__ = [
    "adaptive_steps",
    "conv",
    "elementwise",
    "gated_cells",
    "linear",
    "logits",
    "losses",
    "pooling",
    "rate_scaled_steps",
    "recurrent",
    "steps",
    "values",
]

Case = dict[str, Any]

# Ordinary values: uniform in [−SPAN, SPAN]; one element in EDGE_SHARE is an edge value instead.
SPAN = 8.0
EDGE_SHARE = 8


def values(
    dtype: str, rng: np.random.Generator, shape: tuple[int, ...], edges: tuple[str, ...] = (), span: float = SPAN
) -> np.ndarray:
    """An array of ``shape`` (float64, representable in ``dtype``): uniform in ``[−span, span]``,
    with about one element in :data:`EDGE_SHARE` drawn from the named element edges."""
    x = rng.uniform(-span, span, size=shape)
    names = [e for e in edges if e in EDGES and e != "large_offsets"]
    if names and x.size:
        where = rng.random(size=shape) < 1.0 / EDGE_SHARE
        picks = rng.integers(0, len(names), size=int(where.sum()))
        x[where] = [_edge_value(dtype, rng, names[i]) for i in picks]
    return representable(x, dtype)


def _edge_value(dtype: str, rng: np.random.Generator, name: str) -> float:
    m = LIMITS[dtype]
    lo, hi = EDGES[name].band(m)
    sign = -1.0 if rng.random() < 0.5 else 1.0
    if name == "signed_zeros":
        return sign * 0.0
    if name in ("full_range", "probability_ends"):
        v = 2.0 ** rng.uniform(math.log2(lo), math.log2(hi))
        return min(v, hi) if name == "probability_ends" else sign * min(v, m.largest)
    return sign * rng.uniform(lo, min(hi, m.largest))


def elementwise(
    dtype: str,
    rng: np.random.Generator,
    *,
    lengths: tuple[int, ...],
    edges: tuple[str, ...] = (),
    slopes: tuple[float, ...] = (),
) -> Iterator[Case]:
    """``{"x": a vector}`` of each length (and each ``negative_slope`` given, for leaky ReLU)."""
    for n in lengths:
        x = values(dtype, rng, (n,), edges).tolist()
        if slopes:
            for a in slopes:
                yield {"x": x, "negative_slope": a}
        else:
            yield {"x": x}


def logits(
    dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...], rows: int, edges: tuple[str, ...] = ()
) -> Iterator[Case]:
    """Softmax calls: 4 rows of each length along the last axis, ordinary values with one row
    shifted by a large offset (with ``"large_offsets"``), and 4 columns of each length along
    axis 0 with the element edges mixed in (a large value dominates its row, so the ordinary
    rows are what show an error in the others' share); then ``rows`` rows of 3."""
    for n in lengths:
        x = values(dtype, rng, (4, n))
        if "large_offsets" in edges:
            x[1] = representable(x[1] + 10.0 ** rng.uniform(3, 7), dtype)
        yield {"x": x.tolist(), "axis": -1}
        yield {"x": values(dtype, rng, (n, 4), edges).tolist(), "axis": 0}
    yield {"x": values(dtype, rng, (rows, 3), edges).tolist(), "axis": -1}


def normalized(dtype: str, rng: np.random.Generator, *, op: str, lengths: tuple[int, ...]) -> Iterator[Case]:
    """Normalization calls: 4 rows of each length normalised over the last axis (layer and RMS norm), or
    (2, 4, length) normalised in 2 groups of 2 channels (group norm), or a batch of length examples of 3
    channels (batch norm and its running statistics); weight and bias of ordinary values."""
    for n in lengths:
        if op.startswith("batch_norm"):  # a batch of n examples of 3 channels, each channel normalized over n
            case = {"x": values(dtype, rng, (n, 3)).tolist(), "running_mean": values(dtype, rng, (3,)).tolist()}
            case["running_var"] = np.abs(values(dtype, rng, (3,))).tolist()
            if op == "batch_norm":
                case.update(weight=values(dtype, rng, (3,)).tolist(), bias=values(dtype, rng, (3,)).tolist())
                case.update(training=bool(n % 2), eps=1e-5)  # odd lengths in training, even in evaluation
            yield case
            continue
        if op == "group_norm":
            yield {
                "x": values(dtype, rng, (2, 4, n)).tolist(),
                "num_groups": 2,
                "weight": values(dtype, rng, (4,)).tolist(),
                "bias": values(dtype, rng, (4,)).tolist(),
                "eps": 1e-5,
            }
            continue
        case: Case = {"x": values(dtype, rng, (4, n)).tolist(), "normalized_shape": [n]}
        case["weight"] = values(dtype, rng, (n,)).tolist()
        if op == "layer_norm":
            case["bias"] = values(dtype, rng, (n,)).tolist()
        case["eps"] = 1e-5 if op == "layer_norm" else 1e-6
        yield case


def losses(
    dtype: str,
    rng: np.random.Generator,
    *,
    loss: str,
    lengths: tuple[int, ...],
    rows: int = 0,
    long: int = 0,
    edges: tuple[str, ...] = (),
) -> Iterator[Case]:
    """Calls of ``loss`` ("mse", "bce", "cross_entropy", "kl"; any other name: input and target values,
    as "mse") with each reduction on vectors of each length (for cross-entropy and kl: that many
    classes, 4 rows), ``rows`` rows of 3 classes (kl: their batchmean), and one mean over ``long``
    elements (rows of 3 classes for cross-entropy): the sum that a sequential
    float32 loop gets wrong."""
    for n in lengths:
        for reduction in ("mean", "sum"):
            yield _loss_case(dtype, rng, loss, n, reduction, edges)
    if rows:
        yield _loss_case(dtype, rng, loss, rows, "mean", edges, classes=3)
    if long:
        yield _loss_case(dtype, rng, loss, long, "mean", (), classes=3 if loss == "cross_entropy" else 0)


def _loss_case(
    dtype: str,
    rng: np.random.Generator,
    loss: str,
    n: int,
    reduction: str,
    edges: tuple[str, ...],
    classes: int = 0,
) -> Case:
    if loss == "cross_entropy":
        rows, c = (n, classes) if classes else (4, n)
        return {
            "logits": values(dtype, rng, (rows, c), edges).tolist(),
            "target": rng.integers(0, c, size=rows).tolist(),
            "reduction": reduction,
        }
    if loss == "kl":  # rows that are distributions: log q and p from logits in [−2, 2] (4 rows, or n rows of 3)
        rows, c = (n, classes) if classes else (4, n)
        q, p = (values(dtype, rng, (rows, c), span=2.0) for _ in range(2))
        log_q = q - np.log(np.sum(np.exp(q), axis=1, keepdims=True))
        p = np.exp(p) / np.sum(np.exp(p), axis=1, keepdims=True)
        return {
            "input": representable(log_q, dtype).tolist(),
            "target": representable(p, dtype).tolist(),
            "reduction": "batchmean" if reduction == "mean" and classes else reduction,
        }
    if loss == "bce":
        p = representable(rng.uniform(0.0, 1.0, size=n), dtype)
        return {"input": p.tolist(), "target": representable(rng.random(n), dtype).tolist(), "reduction": reduction}
    return {
        "input": values(dtype, rng, (n,), edges).tolist(),
        "target": values(dtype, rng, (n,)).tolist(),
        "reduction": reduction,
    }


def linear(dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...], rows: int = 0) -> Iterator[Case]:
    """``linear`` with ``in_features`` of each length (3 rows, 5 outputs, with a bias), then ``rows``
    rows of 2 features (a batch beyond a kernel's grid)."""
    shapes = [(3, k, 5) for k in lengths] + ([(rows, 2, 3)] if rows else [])
    for n, k, out in shapes:
        yield {
            "x": values(dtype, rng, (n, k), span=1.0).tolist(),
            "weight": values(dtype, rng, (out, k), span=1.0).tolist(),
            "bias": values(dtype, rng, (out,), span=1.0).tolist(),
        }


def conv(dtype: str, rng: np.random.Generator, *, layouts: tuple[tuple[int, int, int], ...]) -> Iterator[Case]:
    """``conv2d`` on 2 images of 9×8 for each ``(in_channels, out_channels, groups)``, 3×3 kernels,
    stride 1 with padding 1, then stride (1, 2) with asymmetric padding (2, 1); values on a grid
    of quarters, so every sum is exact."""
    for c_in, c_out, groups in layouts:
        for stride, padding in ((1, 1), ([1, 2], [2, 1])):
            yield {
                "x": _grid(dtype, rng, (2, c_in, 9, 8)),
                "weight": _grid(dtype, rng, (c_out, c_in // groups, 3, 3)),
                "bias": _grid(dtype, rng, (c_out,)),
                "stride": stride,
                "padding": padding,
                "dilation": 1,
                "groups": groups,
            }


def _grid(dtype: str, rng: np.random.Generator, shape: tuple[int, ...]) -> list[Any]:
    return representable(rng.integers(-8, 9, size=shape) * 0.25, dtype).tolist()


def pooling(dtype: str, rng: np.random.Generator, *, op: str, sides: tuple[int, ...]) -> Iterator[Case]:
    """``max_pool2d`` or ``avg_pool2d`` on 2×16 planes of each side (odd and even), kernels 2 and 3."""
    for side in sides:
        for k, stride, pad in ((2, 2, 0), (3, 2, 1), (3, 1, 1)):
            case: Case = {
                "x": values(dtype, rng, (2, 16, side, side + 1)).tolist(),
                "kernel_size": k,
                "stride": stride,
                "padding": pad,
            }
            if op == "avg":
                case["count_include_pad"] = bool(rng.integers(0, 2))
            yield case


def recurrent(dtype: str, rng: np.random.Generator, *, shapes: tuple[tuple[int, int, int, int], ...]) -> Iterator[Case]:
    """``rnn`` for each ``(batch, steps, inputs, hidden)``, weights scaled by 1/√hidden."""
    for b, t, i, h in shapes:
        scale = 1.0 / math.sqrt(h)
        yield {
            "x": values(dtype, rng, (b, t, i), span=1.0).tolist(),
            "h0": values(dtype, rng, (b, h), span=1.0).tolist(),
            "w_ih": values(dtype, rng, (h, i), span=scale).tolist(),
            "w_hh": values(dtype, rng, (h, h), span=scale).tolist(),
            "b_ih": values(dtype, rng, (h,), span=scale).tolist(),
            "b_hh": values(dtype, rng, (h,), span=scale).tolist(),
        }


def gated_cells(
    dtype: str, rng: np.random.Generator, *, shapes: tuple[tuple[int, int, int], ...], gates: int
) -> Iterator[Case]:
    """``lstm_cell`` (``gates=4``, with ``c``) or ``gru_cell`` (``gates=3``) for each ``(batch, inputs, hidden)``,
    weights scaled by 1/√hidden."""
    for b, i, h in shapes:
        scale = 1.0 / math.sqrt(h)
        case = {
            "x": values(dtype, rng, (b, i), span=1.0).tolist(),
            "h": values(dtype, rng, (b, h), span=1.0).tolist(),
            "w_ih": values(dtype, rng, (gates * h, i), span=scale).tolist(),
            "w_hh": values(dtype, rng, (gates * h, h), span=scale).tolist(),
            "b_ih": values(dtype, rng, (gates * h,), span=scale).tolist(),
            "b_hh": values(dtype, rng, (gates * h,), span=scale).tolist(),
        }
        if gates == 4:
            case["c"] = values(dtype, rng, (b, h), span=2.0).tolist()
        yield case


def steps(dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...]) -> Iterator[Case]:
    """``sgd_step`` on parameter vectors of each length."""
    for n in lengths:
        yield {"param": values(dtype, rng, (n,)).tolist(), "grad": values(dtype, rng, (n,)).tolist(), "lr": 0.1}


def adaptive_steps(
    dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...], decay: bool = False
) -> Iterator[Case]:
    """``adam_step`` (``adamw_step`` with ``decay``) on parameter vectors of each length, at step 10."""
    for n in lengths:
        param, grad, m = (values(dtype, rng, (n,)).tolist() for _ in range(3))
        v = np.abs(values(dtype, rng, (n,), span=64.0)).tolist()
        case = {"param": param, "grad": grad, "m": m, "v": v, "step": 10, "lr": 2.0**-7}
        case.update({"beta1": 0.9, "beta2": 0.999, "eps": 1e-8})
        yield {**case, "weight_decay": 2.0**-6} if decay else case


def momentum_steps(dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...]) -> Iterator[Case]:
    """``sgd_momentum_step`` on parameter vectors of each length, Nesterov at every other length.

    μ = 0.875 is exact in float32, where Keras keeps its momentum (the convention sgd.float64_momentum).
    """
    for i, n in enumerate(lengths):
        param, grad, buffer = (values(dtype, rng, (n,)).tolist() for _ in range(3))
        case = {"param": param, "grad": grad, "momentum_buffer": buffer, "lr": 2.0**-7, "momentum": 0.875}
        yield {**case, "nesterov": i % 2 == 1, "weight_decay": 2.0**-6}


def rate_scaled_steps(
    dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...], adagrad: bool = False
) -> Iterator[Case]:
    """``rmsprop_step`` (``adagrad_step`` with ``adagrad``, at step 10) on parameter vectors of each length.

    ε = 0, where its two placements are one: a size is one example, and every framework can compute it
    (PyTorch has ε only on the root, Keras and optax's Adagrad only under it).
    """
    for n in lengths:
        param, grad = (values(dtype, rng, (n,)).tolist() for _ in range(2))
        state = np.abs(values(dtype, rng, (n,), span=64.0)).tolist()
        case = {"param": param, "grad": grad, "lr": 2.0**-7, "eps": 0.0, "eps_in_sqrt": True}
        if adagrad:
            yield {**case, "state_sum": state, "step": 10, "lr_decay": 0.0}
        else:
            yield {**case, "square_avg": state, "alpha": 0.99}
