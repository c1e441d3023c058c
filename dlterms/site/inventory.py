"""The site's ``objects.inv`` (Sphinx inventory v2), for intersphinx.

Sphinx projects can then write ``:term:`softmax``` and ``:py:func:`dlterms.reference.softmax```
with ``intersphinx_mapping = {"dlterms": ("<the site's address>", None)}``. The entries
(``std:term`` for every English and Chinese name, alias and variant of a term -> ``terms/<id>/#<id>``;
``py:function`` for every public reference function -> ``api/reference/#dlterms.reference.<name>``)
come from :func:`dlterms.citing.objects_inv`; this module only writes the file.
"""

from __future__ import annotations

from pathlib import Path

from dlterms.citing import objects_inv
from dlterms.files import atomic_write

__all__ = ["write_objects_inv"]


def write_objects_inv(site_dir: Path, *, directory_urls: bool = True) -> Path:
    """Write ``site_dir/objects.inv`` atomically; return its path."""
    return atomic_write(Path(site_dir) / "objects.inv", objects_inv(directory_urls=directory_urls))
