"""Pure-Python reference implementations of the deep-learning terms.

Standard library only. Tensors are nested lists of floats; class indices are
ints. Every function checks its input at one choke point
(:mod:`dlterms.reference._tensor`) and computes in float64 with a stable
formula; its docstring gives the formula, the citation key (see
``dlterms/glossary/citations.bib``), the invariants it satisfies and an example.

When sources disagree, the cited definition wins over this reference, and
this reference wins over a framework adapter.
"""

from .activations import (
    leaky_relu,
    leaky_relu_vjp,
    log_softmax,
    log_softmax_vjp,
    relu,
    relu_vjp,
    sigmoid,
    sigmoid_vjp,
    softmax,
    softmax_vjp,
    tanh,
    tanh_vjp,
)

__all__ = [
    "leaky_relu",
    "leaky_relu_vjp",
    "log_softmax",
    "log_softmax_vjp",
    "relu",
    "relu_vjp",
    "sigmoid",
    "sigmoid_vjp",
    "softmax",
    "softmax_vjp",
    "tanh",
    "tanh_vjp",
]
