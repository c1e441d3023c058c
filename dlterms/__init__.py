"""dlterms: a bilingual glossary of deep-learning terms that you can run.

* :mod:`dlterms.reference`: pure-Python reference implementations;
* :mod:`dlterms.glossary`: the term entries (English and Simplified Chinese);
* :mod:`dlterms.conformance`: property tests of any framework against them.

``dlterms.cite`` (see :mod:`dlterms.citing`) is imported on first use, so
``import dlterms`` and the commands that do not cite stay quick.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("dlterms")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "cite"]


def __getattr__(name: str) -> Any:
    if name == "cite":
        from dlterms.citing import cite

        return cite
    raise AttributeError(f"module 'dlterms' has no attribute {name!r}")
