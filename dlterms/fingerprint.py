"""Semantic fingerprints of the terms' reference functions.

A term's *fingerprint* says "the reference computes exactly this". It is the
SHA-256 of a canonical text built from

* the canonical signature of each reference function the term names, and of
  its backward ``<name>_vjp`` when there is one (parameter kinds, names and
  default values);
* the abstract syntax tree of each of those functions **with docstrings and
  type annotations removed** (docstrings, comments, type hints, formatting and
  line numbers are not semantics, so editing them changes nothing; nor does
  moving a function to another reference module: names enter without their module);
* the same for every function or class of :mod:`dlterms.reference` that they
  call, transitively (``softmax`` is computed by ``_softmax_lane``), and the
  values of the module constants they read; the validation choke point
  :mod:`dlterms.reference._tensor` is not followed: it checks and unpacks
  inputs, it does not define what a term computes.

The tree is written out by :func:`canonical_ast`, not :func:`ast.dump`, whose
text changes between Python versions (3.13 omits empty fields); empty fields
and expression contexts are left out, so the same code gives the same
fingerprint on every supported Python.

*Concept* terms have no fingerprint (``None``): their ``reference`` names the
functions that *show* them (``dying-relu`` lists ``relu``), not a definition of
their own, and a change to ``relu`` does not change what "dying ReLU" means.
Their ``version`` is bumped by hand when their meaning changes.

``glossary/fingerprints.json`` records ``{term: {version, fingerprint}}`` for
the current release. A test fails when a term's fingerprint differs from the
record while its ``version`` is unchanged. Then bump ``version`` in
``glossary/terms/<id>.toml`` and run::

    python -m dlterms.fingerprint --update

which refuses to record a changed fingerprint under an unchanged version.
``python -m dlterms.fingerprint`` (or ``--check``) lists the terms whose record
is stale and exits 1 if there is one. ``--rebuild`` remakes the record from the
glossary alone, for a record that was never released (before the first release).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import inspect
import json
import sys
import textwrap
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlterms.files import atomic_write_text
from dlterms.glossary import GLOSSARY_DIR

__all__ = [
    "ALGORITHM",
    "FINGERPRINTS_PATH",
    "Drift",
    "canonical_ast",
    "canonical_signature",
    "check",
    "fingerprint",
    "fingerprint_callables",
    "load_record",
    "main",
    "record_algorithm",
    "term_functions",
    "update",
]

ALGORITHM = "dlterms.fingerprint/1"  # bump when the canonical text below changes
FINGERPRINTS_PATH = GLOSSARY_DIR / "fingerprints.json"
_SKIPPED_FIELDS = {"ctx", "type_comment", "kind", "annotation", "returns", "type_params"}
_NOT_FOLLOWED = "dlterms.reference._tensor"


# --- canonical text ----------------------------------------------------------


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return body[1:] or [ast.Pass()]
    return body


def _canon(node: object) -> str:
    if isinstance(node, ast.AST):
        parts = []
        for name, value in ast.iter_fields(node):
            if name in _SKIPPED_FIELDS or value is None or value == []:
                continue
            if name == "body" and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                value = _strip_docstring(value)
            parts.append(f"{name}={_canon(value)}")
        return f"{type(node).__name__}({', '.join(parts)})"
    if isinstance(node, list):
        return "[" + ", ".join(_canon(v) for v in node) + "]"
    return f"{type(node).__name__}:{node!r}"


def canonical_ast(obj: Callable[..., Any] | type) -> str:
    """The syntax tree of a function or class, without docstrings, annotations, comments or positions."""
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(obj)))
    tree = ast.parse(source)
    return _canon(tree.body[0])


def canonical_signature(obj: Callable[..., Any] | type) -> str:
    """``(POSITIONAL_OR_KEYWORD x, KEYWORD_ONLY axis=-1)``: kinds, names and defaults, no annotations."""
    if isinstance(obj, type):
        return "(class)"
    params = []
    for p in inspect.signature(inspect.unwrap(obj)).parameters.values():
        default = "" if p.default is inspect.Parameter.empty else f"={p.default!r}"
        params.append(f"{p.kind.name} {p.name}{default}")
    return "(" + ", ".join(params) + ")"


def _qualified(obj: object) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"  # type: ignore[attr-defined]


def _is_reference_code(obj: object) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return (
        isinstance(obj, types.FunctionType | type)
        and (module == "dlterms.reference" or module.startswith("dlterms.reference."))
        and module != _NOT_FOLLOWED
    )


def _describe_value(value: object, found: list[object]) -> str | None:
    """A canonical text for a module constant; reference callables inside it are followed."""
    if _is_reference_code(value):
        found.append(value)
        return f"<{_qualified(value)}>"
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return repr(value)
    if isinstance(value, tuple | list | frozenset | set):
        items = [_describe_value(v, found) for v in value]
        if None in items:
            return None
        if isinstance(value, frozenset | set):
            items.sort()
        return f"{type(value).__name__}[{', '.join(items)}]"  # type: ignore[arg-type]
    if isinstance(value, dict):
        pairs = [(_describe_value(k, found), _describe_value(v, found)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "dict{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return None  # modules, typing aliases, ...: not part of what the term computes


def _globals_read(obj: Callable[..., Any] | type) -> list[tuple[str, object]]:
    """The module-level names (and ``module.attribute`` pairs) the code of ``obj`` reads."""
    obj = inspect.unwrap(obj)
    namespace = vars(sys.modules[obj.__module__])
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    out: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in namespace:
            out[node.id] = namespace[node.id]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = namespace.get(node.value.id)
            if isinstance(module, types.ModuleType) and hasattr(module, node.attr):
                out[f"{node.value.id}.{node.attr}"] = getattr(module, node.attr)
    return sorted(out.items())


def fingerprint_callables(roots: Iterable[Callable[..., Any]]) -> tuple[str, list[str]]:
    """``("sha256:<hex>", [qualified names covered])`` for the given functions and what they call."""
    seen: dict[str, Callable[..., Any] | type] = {}
    constants: set[str] = set()
    todo: list[object] = [inspect.unwrap(r) for r in roots]
    while todo:
        obj = todo.pop()
        name = _qualified(obj)
        if name in seen:
            continue
        seen[name] = obj  # type: ignore[assignment]
        for global_name, value in _globals_read(obj):  # type: ignore[arg-type]
            found: list[object] = []
            text = _describe_value(value, found)
            if text is not None and not _is_reference_code(value):
                constants.add(f"const {global_name} = {text}")
            todo.extend(found)
    # Names without their module: moving code between reference modules is not a change of meaning.
    defs = sorted((f"def {obj.__qualname__}{canonical_signature(obj)}", canonical_ast(obj)) for obj in seen.values())
    lines = [ALGORITHM, *(line for pair in defs for line in pair), *sorted(constants)]
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    return f"sha256:{digest}", sorted(seen)


# --- terms -------------------------------------------------------------------


def term_functions(term: Any) -> list[Callable[..., Any]]:
    """The reference functions a *function* term names, each followed by its ``_vjp`` when there is one."""
    import dlterms.reference as reference

    out = []
    for name in term.reference:
        fn = getattr(reference, name, None)
        if not callable(fn):
            raise LookupError(
                f"{term.path}: field 'reference' names dlterms.reference.{name}, which does not exist; "
                f"expected one of the public functions in dlterms.reference.__all__"
            )
        out.append(fn)
        if callable(vjp := getattr(reference, f"{name}_vjp", None)):
            out.append(vjp)
    return out


def fingerprint(term: Any) -> str | None:
    """The term's fingerprint (``"sha256:..."``), or ``None`` for a concept term."""
    if isinstance(term, str):
        from dlterms.glossary import get_term

        term = get_term(term)
    if term.kind != "function":
        return None
    return fingerprint_callables(term_functions(term))[0]


def load_record(path: Path = FINGERPRINTS_PATH) -> dict[str, dict[str, Any]]:
    """``{term id: {"version": ..., "fingerprint": ...}}`` as recorded; empty if there is no record yet."""
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["terms"]


def _semver(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@dataclass(frozen=True)
class Drift:
    """A term whose record is stale. ``blocking``: ``--update`` refuses until the developer acts."""

    term: str
    message: str
    blocking: bool


def record_algorithm(path: Path = FINGERPRINTS_PATH) -> str | None:
    """The fingerprint algorithm the record was made with (``None`` if there is no record)."""
    return json.loads(path.read_text(encoding="utf-8")).get("algorithm") if path.exists() else None


def check(
    terms: dict[str, Any] | None = None, record: dict[str, dict[str, Any]] | None = None, algorithm: str = ALGORITHM
) -> list[Drift]:
    """Every difference between the glossary and the record, with what to do about it.

    ``algorithm`` is the one the record was made with: under another one fingerprints cannot be
    compared, so a difference only means the record must be remade (``--update``).
    """
    from dlterms.glossary import load_terms

    terms = load_terms() if terms is None else terms
    if record is None:
        record, algorithm = load_record(), record_algorithm() or ALGORITHM
    update = "run `python -m dlterms.fingerprint --update`"
    out = []
    for tid in sorted(set(record) - set(terms)):
        out.append(
            Drift(
                tid,
                f"term {tid!r} is recorded in glossary/fingerprints.json but glossary/terms/{tid}.toml is gone; "
                f"term IDs are stable: restore it (if it was never released, delete its entry from the record by hand)",
                True,
            )
        )
    for tid, term in terms.items():
        fp = fingerprint(term)
        old = record.get(tid)
        if old is None:
            out.append(Drift(tid, f"term {tid!r} (version {term.version}) is not recorded yet: {update}", False))
            continue
        if _semver(term.version) < _semver(old["version"]):
            out.append(
                Drift(
                    tid,
                    f"term {tid!r}: version {term.version} in {term.path.name} is lower than the recorded "
                    f"{old['version']}; versions only go up",
                    True,
                )
            )
        elif fp != old["fingerprint"] and term.version == old["version"] and algorithm == ALGORITHM:
            out.append(
                Drift(
                    tid,
                    f"term {tid!r}: its reference semantics changed (fingerprint {old['fingerprint']} -> {fp}, "
                    f"over dlterms.reference.{', '.join(term.reference)} and what they call) but its version is "
                    f"still {term.version}. Bump `version` in glossary/terms/{tid}.toml (patch: same meaning, "
                    f"e.g. a fix or refactor; minor: compatible addition; major: different results for inputs "
                    f"accepted before), then {update}",
                    True,
                )
            )
        elif fp != old["fingerprint"] or term.version != old["version"]:
            why = f"version {old['version']} -> {term.version}" if algorithm == ALGORITHM else f"algorithm {algorithm}"
            out.append(Drift(tid, f"term {tid!r}: the record is stale ({why}): {update}", False))
    return out


def update(path: Path = FINGERPRINTS_PATH, *, rebuild: bool = False) -> list[Drift]:
    """Record the current fingerprints, unless a blocking drift remains (returned, nothing written).

    ``rebuild=True`` remakes the record from the glossary alone, ignoring the old one: only for a
    record that was never released (before the first release, or for terms that never shipped).
    """
    from dlterms import __version__
    from dlterms.glossary import load_terms

    terms = load_terms()
    blocking = [d for d in check(terms, load_record(path), record_algorithm(path) or ALGORITHM) if d.blocking]
    if blocking and not rebuild:
        return blocking
    data = {
        "schema": "dlterms.fingerprints/1",
        "algorithm": ALGORITHM,
        "package_version": __version__,
        "terms": {
            tid: {"version": terms[tid].version, "fingerprint": fingerprint(terms[tid])} for tid in sorted(terms)
        },
    }
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return []


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dlterms.fingerprint", description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="list stale records, exit 1 if any (the default)")
    mode.add_argument("--update", action="store_true", help="record the current fingerprints in the record file")
    mode.add_argument(
        "--rebuild", action="store_true", help="remake the record ignoring the old one (only if it was never released)"
    )
    p.add_argument("--path", type=Path, default=FINGERPRINTS_PATH, help="record file (default: %(default)s)")
    args = p.parse_args(argv)
    if args.update or args.rebuild:
        refused = update(args.path, rebuild=args.rebuild)
        for d in refused:
            print(f"error: {d.message}", file=sys.stderr)
        if not refused:
            print(f"recorded {len(load_record(args.path))} terms in {args.path}")
        return 1 if refused else 0
    drifts = check(None, load_record(args.path), record_algorithm(args.path) or ALGORITHM)
    for d in drifts:
        print(("error: " if d.blocking else "stale: ") + d.message)
    if not drifts:
        print(f"{args.path}: up to date")
    return 1 if drifts else 0


if __name__ == "__main__":
    sys.exit(main())
