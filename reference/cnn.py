"""The basic block of a convolutional neural network: convolution → ReLU → pooling.

Seed section: *a basic understanding of CNNs* ("the three most common layers
are convolution, activation or ReLU, and pooling"). The block is only the
composition of :func:`~dlterms.reference.conv.conv2d`,
:func:`~dlterms.reference.activations.relu` and a pooling function, and its
VJP is the chain of theirs in reverse order: backpropagation through a CNN,
one layer at a time.
"""

from __future__ import annotations

from ._tensor import Nested, choice
from .activations import relu, relu_vjp
from .conv import Pair, conv2d, conv2d_vjp
from .pooling import avg_pool2d, avg_pool2d_vjp, max_pool2d, max_pool2d_vjp

__all__ = ["conv_block", "conv_block_vjp"]

_POOLS = {"max": (max_pool2d, max_pool2d_vjp), "avg": (avg_pool2d, avg_pool2d_vjp)}


def conv_block(
    x: Nested,
    weight: Nested,
    bias: Nested | None = None,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    pool: str = "max",
    pool_size: int | Pair = 2,
) -> Nested:
    r"""One CNN block: ``pool(relu(conv2d(x, weight, bias, stride, padding)), pool_size)``.

    .. math:: Y = \operatorname{pool}_{k}\bigl(\max(0,\; W \star X + b)\bigr)

    where :math:`\star` is the cross-correlation of :func:`conv2d` and the
    pooling (``"max"`` or ``"avg"``) uses non-overlapping ``pool_size``
    windows (stride = ``pool_size``, no padding). Citation:
    ``lecun1989backpropagation``; ``fukushima1980neocognitron``.

    Invariants: ``conv_block.output_shape``, ``conv_block.equals_composition``.

    >>> conv_block([[[[1.0, -2.0, 3.0], [0.0, 4.0, -1.0], [2.0, 1.0, 0.0]]]], [[[[1.0]]]], pool_size=2)
    [[[[4.0]]]]
    """
    pool_fn, _ = _POOLS[choice("conv_block", "pool", pool, tuple(_POOLS))]
    return pool_fn(relu(conv2d(x, weight, bias, stride=stride, padding=padding)), pool_size)


def conv_block_vjp(
    x: Nested,
    weight: Nested,
    bias: Nested | None,
    cotangent: Nested,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    pool: str = "max",
    pool_size: int | Pair = 2,
) -> tuple[Nested, Nested, Nested | None]:
    """VJP of :func:`conv_block`, ``(dx, dweight, dbias)``: the three layers' VJPs chained backwards."""
    _, pool_vjp = _POOLS[choice("conv_block_vjp", "pool", pool, tuple(_POOLS))]
    # Forward pass, keeping each layer's input.
    z = conv2d(x, weight, bias, stride=stride, padding=padding)
    a = relu(z)
    # Backward pass: the cotangent flows through pooling, then ReLU, then the convolution.
    g_a = pool_vjp(a, cotangent, pool_size)
    g_z = relu_vjp(z, g_a)
    return conv2d_vjp(x, weight, bias, g_z, stride=stride, padding=padding)
