"""Pure-Python reference implementations of the deep-learning terms.

Standard library only. Tensors are nested lists of floats; class indices are
ints. Every function checks its input at one choke point
(:mod:`dlterms.reference._tensor`) and computes in float64 with a stable
formula; its docstring gives the formula, the citation key (see
``dlterms/glossary/citations.bib``), the invariants it satisfies and an example.
Each differentiable function ``f`` has ``f_vjp`` beside it.

When sources disagree, the cited definition wins over this reference, and
this reference wins over a framework adapter.
"""

from . import activations, cnn, conv, losses, optim, pooling
from .activations import *  # noqa: F403
from .cnn import *  # noqa: F403
from .conv import *  # noqa: F403
from .losses import *  # noqa: F403
from .optim import *  # noqa: F403
from .pooling import *  # noqa: F403

# One module per seed section; each lists its public functions in __all__.
__all__ = [*activations.__all__, *losses.__all__, *optim.__all__, *conv.__all__, *pooling.__all__, *cnn.__all__]
