"""The framework tabs: each adapter function's own source, from ``conformance/backends/<fw>.py``.

The source is read from the adapter file itself (the file the conformance suite imports) and cut
at the function with :mod:`ast`, without importing the framework: importing TensorFlow and JAX
would cost the build about ten seconds for text that is already in the file. Whether the
framework is installed is asked with ``importlib.util.find_spec`` and its version with
``importlib.metadata``; a framework that is not installed reads "adapter not installed".
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

# (tab label, built-in backend name, the framework's import name, its distribution name)
FRAMEWORKS = (
    ("PyTorch", "torch", "torch", "torch"),
    ("NumPy", "numpy", "numpy", "numpy"),
    ("JAX", "jax", "jax", "jax"),
    ("TensorFlow", "tensorflow", "tensorflow", "tensorflow"),
)


@dataclass
class Adapter:
    label: str
    backend: str
    version: str = ""
    why_missing: str = ""  # set when the adapter cannot be shown
    path: str = ""  # repository-relative path of the adapter file
    _defs: dict[str, str] = field(default_factory=dict)  # op -> source segment

    @property
    def installed(self) -> bool:
        return not self.why_missing

    def source(self, op: str) -> str | None:
        """The adapter's definition of ``op`` (a ``def`` or a binding), or None when it has none."""
        return self._defs.get(op)


def _top_level_defs(text: str) -> dict[str, str]:
    """Every module-level function (with its decorators) and simple binding, by name."""
    tree = ast.parse(text)
    lines = text.splitlines()
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out[node.name] = "\n".join(lines[first - 1 : node.end_lineno]) + "\n"
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out.setdefault(node.targets[0].id, "\n".join(lines[node.lineno - 1 : node.end_lineno]) + "\n")
    return out


@dataclass
class Adapters:
    repo_root: Path
    _loaded: dict[str, Adapter] = field(default_factory=dict)

    def all(self) -> list[Adapter]:
        for fw in FRAMEWORKS:
            if fw[1] not in self._loaded:
                self._loaded[fw[1]] = self._load(*fw)
        return [self._loaded[fw[1]] for fw in FRAMEWORKS]

    def _load(self, label: str, backend: str, package: str, dist: str) -> Adapter:
        name = f"dlterms.conformance.backends.{backend}"
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            return Adapter(label, backend, why_missing=f"dlterms has no {label} adapter yet ({name}).")
        if importlib.util.find_spec(package) is None:
            return Adapter(label, backend, why_missing=f"{package} is not installed where this site was built.")
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = ""
        file = Path(spec.origin).resolve()
        try:
            path = file.relative_to(self.repo_root).as_posix()
        except ValueError:
            path = file.name
        return Adapter(label, backend, version=version, path=path, _defs=_top_level_defs(file.read_text("utf-8")))
