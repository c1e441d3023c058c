"""Invariants, one module per seed section; importing this package registers them all."""

from . import activations  # noqa: F401
