"""Invariants, one module per seed section; importing this package registers them all."""

from . import activations, backprop, conv, layers, losses, optim, pooling, rnn  # noqa: F401
