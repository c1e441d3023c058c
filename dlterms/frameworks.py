"""The frameworks dlterms ships adapters for: declared once, read by every part that lists them.

The conformance backends (``--backend torch``), the conventions matrix, the
site's framework tabs and the CLI all derive their framework lists from
:data:`FRAMEWORKS`. Standard library only: reading this list imports no framework.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

__all__ = ["FRAMEWORKS", "Framework", "by_name", "installed"]


@dataclass(frozen=True)
class Framework:
    """One framework with a built-in adapter.

    ``name`` is the backend name (``dlterms conform --backend NAME``), ``label``
    the title shown to people, ``modules`` what must be importable for the
    adapter to load, and ``extra`` the dlterms extra that installs it (the
    version a page shows is the one a conformance report records).
    """

    name: str
    label: str
    modules: tuple[str, ...]
    extra: str

    @property
    def adapter(self) -> str:
        """The import path of the built-in adapter module."""
        return f"dlterms.conformance.backends.{self.name}"

    def is_installed(self) -> bool:
        """Whether every module the adapter needs can be imported here (nothing is imported)."""
        return all(importlib.util.find_spec(m) is not None for m in self.modules)


# In the order of every table: the site's tabs, the conventions matrix, the CLI's lists.
FRAMEWORKS: tuple[Framework, ...] = (
    Framework("torch", "PyTorch", ("torch",), "torch"),
    Framework("numpy", "NumPy", ("numpy",), "conformance"),
    Framework("jax", "JAX", ("jax",), "jax"),
    Framework("tensorflow", "TensorFlow/Keras", ("tensorflow", "keras"), "tensorflow"),
)


def by_name(name: str) -> Framework:
    """The framework called ``name``; ValueError naming the known ones otherwise."""
    for fw in FRAMEWORKS:
        if fw.name == name:
            return fw
    raise ValueError(f"unknown framework {name!r}; expected one of {', '.join(f.name for f in FRAMEWORKS)}")


def installed() -> tuple[Framework, ...]:
    """The frameworks of :data:`FRAMEWORKS` whose modules are importable here, in table order."""
    return tuple(fw for fw in FRAMEWORKS if fw.is_installed())
