"""Invariants, one module per seed section; importing this package registers them all."""

from . import activations, backprop, conv, layers, losses, normalization, optim, pooling, rnn, smooth_rectifiers  # noqa: F401
