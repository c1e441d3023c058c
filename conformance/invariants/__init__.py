"""Invariants, one module per seed section; importing this package registers them all."""

from . import activations, losses, optim  # noqa: F401
