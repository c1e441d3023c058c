"""dlterms: a bilingual glossary of deep-learning terms that you can run.

* :mod:`dlterms.reference`: pure-Python reference implementations;
* :mod:`dlterms.glossary`: the term entries (English and Simplified Chinese);
* :mod:`dlterms.conformance`: property tests of any framework against them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dlterms")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from dlterms.citing import cite  # after __version__, which it reads

__all__ = ["__version__", "cite"]
