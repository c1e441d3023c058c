"""MkDocs hook: publish the site's ``objects.inv`` after the build (see :mod:`dlterms.site.inventory`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlterms.site.inventory import write_objects_inv


def on_post_build(config: Any, **kwargs: Any) -> None:
    write_objects_inv(Path(config["site_dir"]), directory_urls=bool(config.get("use_directory_urls", True)))
