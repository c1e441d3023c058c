"""Invariants, one module per seed section; importing this package registers them all."""

from . import (  # noqa: F401
    activations,
    adaptive_optim,
    attention,
    backprop,
    batch_norm,
    classification_losses,
    conv,
    divergences,
    embedding,
    layers,
    losses,
    normalization,
    optim,
    pooling,
    regression_losses,
    regularization,
    rnn,
    smooth_rectifiers,
)
