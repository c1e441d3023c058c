"""The basic block of a convolutional neural network: convolution → ReLU → pooling.

Seed section: *a basic understanding of CNNs* ("the three most common layers
are convolution, activation or ReLU, and pooling"). The block is only the
composition of :func:`~dlterms.reference.conv.conv2d`,
:func:`~dlterms.reference.activations.relu` and a pooling function, and its
VJP is the chain of theirs in reverse order: backpropagation through a CNN,
one layer at a time.
"""

from __future__ import annotations

from ._tensor import Nested, choice, on_behalf_of
from ._windows import Pair
from .activations import relu, relu_vjp
from .conv import conv2d, conv2d_vjp
from .pooling import avg_pool2d, avg_pool2d_vjp, max_pool2d, max_pool2d_vjp

__all__ = ["conv_block", "conv_block_vjp"]

_POOLS = {"max": (max_pool2d, max_pool2d_vjp), "avg": (avg_pool2d, avg_pool2d_vjp)}


def _pooling_note(z: Nested, pool_size: object) -> str:
    """How the pooling step's arguments come from the block's, for a refusal by that step."""
    shape = []
    while isinstance(z, list) and z:
        shape.append(len(z))
        z = z[0]
    return (
        f"the pooling's x is conv2d's output, of shape {tuple(shape)} given by x, weight, stride and padding, "
        f"and its kernel_size is pool_size={pool_size!r}"
    )


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

    >>> conv_block([[[[1.0, -2.0, 3.0], [0.0, 4.0, -1.0], [2.0, 1.0, 0.0]]]], [[[[1.0]]]], pool_size=2)
    [[[[4.0]]]]
    """
    fn = "conv_block"
    pool_fn, _ = _POOLS[choice(fn, "pool", pool, tuple(_POOLS))]
    # Each step checks its own arguments; its refusal names conv_block too (and pool_size for the pooling).
    with on_behalf_of(fn):
        z = conv2d(x, weight, bias, stride=stride, padding=padding)
    with on_behalf_of(fn, note=_pooling_note(z, pool_size)):
        return pool_fn(relu(z), pool_size)


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
    fn = "conv_block_vjp"
    _, pool_vjp = _POOLS[choice(fn, "pool", pool, tuple(_POOLS))]
    # Forward pass, keeping each layer's input.
    with on_behalf_of(fn):
        z = conv2d(x, weight, bias, stride=stride, padding=padding)
    a = relu(z)
    # Backward pass: the cotangent flows through pooling, then ReLU, then the convolution.
    with on_behalf_of(fn, note=_pooling_note(z, pool_size)):
        g_a = pool_vjp(a, cotangent, pool_size)
    g_z = relu_vjp(z, g_a)
    return conv2d_vjp(x, weight, bias, g_z, stride=stride, padding=padding)
