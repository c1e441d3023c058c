"""MkDocs hook: publish the site's ``objects.inv`` (Sphinx inventory v2) for intersphinx.

Sphinx projects can then write ``:term:`softmax``` and ``:py:func:`dlterms.reference.softmax```
with ``intersphinx_mapping = {"dlterms": ("https://dlterms.example.org/", None)}``. The entries
(``std:term`` for every English and Chinese name, alias and variant of a term -> ``terms/<id>/#<id>``;
``py:function`` for every public reference function -> ``api/reference/#dlterms.reference.<name>``)
come from :func:`dlterms.citing.inventory_entries`. Written after the build, atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from dlterms.citing import objects_inv


def write_objects_inv(site_dir: Path, *, directory_urls: bool = True) -> Path:
    """Write ``site_dir/objects.inv`` through a temporary file and an atomic rename."""
    site_dir.mkdir(parents=True, exist_ok=True)
    target = site_dir / "objects.inv"
    fd, tmp = tempfile.mkstemp(dir=site_dir, prefix=".objects.inv.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(objects_inv(directory_urls=directory_urls))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the site is served to everyone
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def on_post_build(config: Any, **kwargs: Any) -> None:
    write_objects_inv(Path(config["site_dir"]), directory_urls=bool(config.get("use_directory_urls", True)))
