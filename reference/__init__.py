"""Pure-Python reference implementations of the deep-learning terms.

Standard library only. Tensors are nested lists of floats; class indices are
ints. Every function checks its input at one choke point
(:mod:`dlterms.reference._tensor`) and computes in float64 with a stable
formula; its docstring gives the formula, the citation key (see
``dlterms/glossary/citations.bib``), its accuracy and an example. What it
returns on special inputs (NaN, ±inf) is declared once, in the op records of
:mod:`dlterms.ops`, and the invariants it satisfies in :mod:`dlterms.conformance`.
Each differentiable function ``f`` has ``f_vjp`` beside it.

When sources disagree, the cited definition wins over this reference, and
this reference wins over a framework adapter.
"""

import sys as _sys

from .activations import *  # noqa: F403
from .adaptive_optim import *  # noqa: F403
from .adaptive_pooling import *  # noqa: F403
from .attention import *  # noqa: F403
from .backprop import *  # noqa: F403
from .batch_norm import *  # noqa: F403
from .classification_losses import *  # noqa: F403
from .clipping import *  # noqa: F403
from .cnn import *  # noqa: F403
from .conv import *  # noqa: F403
from .conv_transpose import *  # noqa: F403
from .divergences import *  # noqa: F403
from .embedding import *  # noqa: F403
from .gated_rnn import *  # noqa: F403
from .initialization import *  # noqa: F403
from .interpolate import *  # noqa: F403
from .layers import *  # noqa: F403
from .losses import *  # noqa: F403
from .momentum import *  # noqa: F403
from .multi_head_attention import *  # noqa: F403
from .normalization import *  # noqa: F403
from .optim import *  # noqa: F403
from .perplexity import *  # noqa: F403
from .pooling import *  # noqa: F403
from .positional import *  # noqa: F403
from .recurrent_layers import *  # noqa: F403
from .regression_losses import *  # noqa: F403
from .regularization import *  # noqa: F403
from .rmsprop import *  # noqa: F403
from .rnn import *  # noqa: F403
from .schedules import *  # noqa: F403
from .smooth_rectifiers import *  # noqa: F403
from .transformer import *  # noqa: F403

# One module per seed section, each listing its public functions in __all__. The
# modules are read from sys.modules: a function may share its module's name
# (rnn, backprop), and the star import then rebinds that name to the function.
_MODULES = (
    "activations",
    "smooth_rectifiers",
    "layers",
    "normalization",
    "batch_norm",
    "regularization",
    "clipping",
    "initialization",
    "losses",
    "regression_losses",
    "classification_losses",
    "divergences",
    "optim",
    "momentum",
    "adaptive_optim",
    "rmsprop",
    "schedules",
    "backprop",
    "conv",
    "conv_transpose",
    "pooling",
    "adaptive_pooling",
    "interpolate",
    "cnn",
    "rnn",
    "gated_rnn",
    "recurrent_layers",
    "embedding",
    "attention",
    "multi_head_attention",
    "transformer",
    "positional",
    "perplexity",
)
__all__ = [name for m in _MODULES for name in _sys.modules[f"{__name__}.{m}"].__all__]
