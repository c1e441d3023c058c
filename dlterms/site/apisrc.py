"""A source tree in which ``dlterms.reference`` is the folder ``dlterms/reference``, for Griffe.

The repository maps folders onto one namespace with setuptools' ``package-dir``
(``dlterms.reference`` = ``reference/``). Griffe, which mkdocstrings uses to read the docstrings
statically, looks for ``dlterms/reference/`` and does not find it; loading the package
dynamically instead would import every module, ``dlterms.__main__`` included. So the build lays
out ``build/api-src/dlterms/`` with links to the real folders (copies where links are refused),
read from ``pyproject.toml``, and mkdocstrings searches there (``paths`` in ``mkdocs.yml``).
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

API_SRC = Path("build") / "api-src"


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    try:
        os.symlink(target, link, target_is_directory=target.is_dir())
    except OSError:  # no symlinks here (some Windows setups): copy
        (shutil.copytree if target.is_dir() else shutil.copy2)(target, link)


def api_source_tree(repo_root: Path) -> Path:
    """Lay out ``build/api-src`` from ``[tool.setuptools] package-dir``; return it."""
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = pyproject["tool"]["setuptools"]["package-dir"]
    root = repo_root / API_SRC
    top = {name: folder for name, folder in mapping.items() if "." not in name}
    for name, folder in top.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for entry in (repo_root / folder).iterdir():
            if entry.name != "__pycache__":
                _link(entry, root / name / entry.name)
    linked: list[str] = []
    for name in sorted(mapping, key=lambda n: n.count(".")):
        if "." not in name or any(name.startswith(p + ".") for p in linked):
            continue  # a top-level package, or inside a folder already linked
        _link(repo_root / mapping[name], root / Path(*name.split(".")))
        linked.append(name)
    return root
