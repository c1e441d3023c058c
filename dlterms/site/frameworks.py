"""The framework tabs of a term page: each adapter function's own source, from ``conformance/backends/<fw>.py``.

Which ops a term shows comes from :data:`dlterms.ops.OPS` (see :func:`framework_ops`); the
frameworks and their tab labels from :data:`dlterms.frameworks.FRAMEWORKS`.

The source is read from the adapter file itself (the file the conformance suite imports, found
with ``importlib.util.find_spec``) and cut at the function with :mod:`ast`, without importing the
framework: importing TensorFlow and JAX would cost the build about ten seconds for text that is
already in the file, and the source is shown whether or not the framework is installed where the
site is built. The version a tab states is the one the reports read by the build checked
(:func:`dlterms.site.reports.version_text`), never the installed package's: a tab with no
report of its framework says so.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlterms import ops, reference
from dlterms.frameworks import FRAMEWORKS, Framework
from dlterms.glossary import Term

from .reports import Reports, version_text
from .text import code, fenced, indent, md_text


@dataclass
class Adapter:
    label: str
    backend: str
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
        """One :class:`Adapter` per framework of :data:`~dlterms.frameworks.FRAMEWORKS`, in its order."""
        for fw in FRAMEWORKS:
            if fw.name not in self._loaded:
                self._loaded[fw.name] = self._load(fw)
        return [self._loaded[fw.name] for fw in FRAMEWORKS]

    def _load(self, fw: Framework) -> Adapter:
        label, backend = fw.label, fw.name
        spec = importlib.util.find_spec(fw.adapter)
        if spec is None or not spec.origin:
            return Adapter(label, backend, why_missing=f"dlterms has no {label} adapter yet ({fw.adapter}).")
        file = Path(spec.origin).resolve()
        try:
            path = file.relative_to(self.repo_root).as_posix()
        except ValueError:
            path = file.name
        return Adapter(label, backend, path=path, _defs=_top_level_defs(file.read_text("utf-8")))


# --- which ops a term shows -------------------------------------------------------------------


def _called_names(fn: Callable[..., Any]) -> set[str]:
    try:
        tree = ast.parse(inspect.getsource(fn).lstrip())
    except (OSError, SyntaxError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _ops_called(roots: list[Callable[..., Any]], depth: int = 3) -> set[str]:
    """The canonical ops that ``roots`` call by name, following reference functions ``depth`` calls deep.

    Only calls count: unlike :func:`dlterms.fingerprint.fingerprint_callables`, which also follows the
    functions held in module constants (a table of activations) and has no depth limit, this asks
    which ops a concept is *built on*, not which code defines its meaning.
    """
    found: set[str] = set()
    seen: set[Callable[..., Any]] = set()
    frontier = roots
    for _ in range(depth):
        nxt = []
        for fn in frontier:
            if fn in seen:
                continue
            seen.add(fn)
            module = inspect.getmodule(fn)
            for name in _called_names(fn):
                target = getattr(module, name, None) or getattr(reference, name, None)
                if name in ops.OPS and callable(target):
                    found.add(name)
                elif inspect.isfunction(target) and target.__module__.startswith(reference.__name__):
                    nxt.append(target)
        frontier = nxt
    return found


def framework_ops(term: Term) -> tuple[list[str], bool]:
    """The canonical ops (:data:`dlterms.ops.OPS`) that show ``term``, and whether they are its own.

    The term's reference functions that are canonical ops; failing that, the ops they are built
    on: a function's own VJP names its op (``sigmoid_vjp``), a mode names its network
    (``rnn_many_to_one``), and the canonical ops reached through the functions they call, three
    calls deep (``batch_gradient_descent`` → ``gradient_descent`` → ``sgd_step``).
    """
    own = [r for r in term.reference if r in ops.OPS]
    if own:
        return own, True
    found = {r.removesuffix("_vjp") for r in term.reference} & set(ops.OPS)
    found |= {op for op in ops.OPS for r in term.reference if r.startswith(op + "_")}
    found |= _ops_called([getattr(reference, r) for r in term.reference if callable(getattr(reference, r, None))])
    return [op for op in ops.OPS if op in found], False


def checked_text(backend: str, reports: Reports | None) -> str:
    """Which versions of ``backend`` the reports checked: ``checked: 2.21.0 · keras 3.15.1 on /CPU:0, 2026-11-28``."""
    if reports is None:
        return ""
    cols = [c for c in reports.columns if c.name == backend]
    if not cols:
        return "no report of it was read by this build"
    return "checked: " + "; ".join(f"{version_text(c)} on {c.device}" + (f", {c.date}" if c.date else "") for c in cols)


def frameworks_markdown(adapters: Adapters, term: Term, reports: Reports | None = None) -> str:
    """The "In frameworks" section: the contract's signature of each op, then one tab per framework
    (with the versions ``reports`` checked; None leaves them out)."""
    names, own = framework_ops(term)
    if not names:
        return ""
    parts = ["## In frameworks · 框架实现", ""]
    via = "" if own else f" This term's functions are built on {', '.join(code(o) for o in names)}, shown here."
    parts.append(
        "Each tab shows the adapter the conformance suite calls: the framework's own op, with layouts and "
        "defaults translated to the canonical ones ([write an adapter](../how-to/write-an-adapter.md))." + via
    )
    parts += ["", "The contract · 接口: " + "; ".join(code(ops.OPS[o].signature) for o in names) + "."]
    for a in adapters.all():
        if not a.installed:
            body = f"*Adapter not installed.* {md_text(a.why_missing)}"
        else:
            blocks = []
            for op in names:
                src = a.source(op)
                if src is None:
                    blocks.append(f"{code(op)}: no adapter; the suite reports its invariants *unsupported*.")
                else:
                    blocks.append(f"<div markdown data-search-exclude>\n\n{fenced(src)}\n\n</div>")
            checked = checked_text(a.backend, reports)
            checked = f" · {md_text(checked)}" if checked else ""
            body = f"{code(a.backend)} · adapter {code(a.path)}{checked}\n\n" + "\n\n".join(blocks)
        parts += ["", f'=== "{a.label}"', "", indent(body)]
    return "\n".join(parts)
