"""Small text helpers shared by the page generators: Markdown escaping, front matter, MathML, file writes.

Warnings go to the logger ``mkdocs.plugins.dlterms``: under MkDocs they count for ``--strict``;
elsewhere (``dlterms site generate``) they are ordinary ``logging`` records.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from dlterms.files import atomic_write

from .mathml import tex_to_mathml

log = logging.getLogger("mkdocs.plugins.dlterms")

_MD_SPECIAL = re.compile(r"([\\`*_\[\]])")
_BLOCK_START = re.compile(r"^(\s*)([#>+\-]|\d+\.)(\s)")


def md_text(text: str) -> str:
    """Plain glossary text as Markdown that shows exactly that text (paragraphs kept, wrapping undone)."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out = []
    for p in paragraphs:
        p = _MD_SPECIAL.sub(r"\\\1", html.escape(p, quote=False))
        out.append(_BLOCK_START.sub(r"\1\\\2\3", p))
    return "\n\n".join(out)


def md_cell(text: str) -> str:
    """Text for one cell of a Markdown table."""
    return md_text(text).replace("\n\n", "<br>").replace("|", "\\|")


def html_cell(markup: str) -> str:
    """HTML (an element, an attribute's text, MathML) for one cell of a Markdown table: a "|" in it would end the
    cell (|B_t|), so it is written as a character reference."""
    return markup.replace("|", "&#124;")


def code(text: str) -> str:
    """Inline code, with a fence long enough for backticks inside."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def indent(text: str, prefix: str = "    ") -> str:
    """Indent every non-empty line (content of a tab, an admonition, a details block)."""
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def fenced(source: str, lang: str = "python") -> str:
    fence = "```"
    while fence in source:
        fence += "`"
    return f"{fence}{lang}\n{source.rstrip()}\n{fence}"


def front_matter(meta: dict[str, object]) -> str:
    """YAML front matter; values are written as JSON, which YAML reads as is."""
    lines = ["---"]
    for key, value in meta.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()]
        elif isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"  - {json.dumps(v, ensure_ascii=False)}" for v in value]
        else:
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def mathml(tex: str, *, display: bool, where: str) -> str:
    """TeX as one line of MathML, converted at build time (no script, no font download).

    TeX that latex2mathml cannot read is logged as a warning (so ``--strict`` fails)
    and shown as code rather than dropped.
    """
    try:
        return tex_to_mathml(tex, display=display)
    except Exception as exc:  # latex2mathml raises several exception types for bad TeX
        log.warning("dlterms: %s: cannot convert TeX to MathML (%s): %s", where, type(exc).__name__, tex)
        return f"<code>{html.escape(tex)}</code>"


def write_if_changed(path: Path, content: str | bytes) -> bool:
    """Write ``content`` atomically unless the file already holds it (so `mkdocs serve` does not loop).

    Returns True if the file was written.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.exists() and path.read_bytes() == data:
        return False
    atomic_write(path, data)
    return True


MANIFEST = ".dlterms-generated"  # in the output folder: the files the last build wrote, one per line


def remove_stale(folder: Path, keep: Iterable[Path]) -> None:
    """Delete the files the previous build wrote into ``folder`` that this build did not (a removed term).

    Only files listed in ``folder/.dlterms-generated`` are deleted, so a folder given to
    ``dlterms site generate`` loses nothing it held before; the list is then rewritten.
    """
    keep = sorted({p.resolve().relative_to(folder.resolve()).as_posix() for p in keep})
    manifest = folder / MANIFEST
    before = manifest.read_text(encoding="utf-8").splitlines() if manifest.is_file() else []
    for name in sorted(set(before) - set(keep), reverse=True):
        path = folder / name
        if path.is_file() and ".." not in Path(name).parts:
            path.unlink()
            if path.parent != folder and not any(path.parent.iterdir()):
                path.parent.rmdir()
    write_if_changed(manifest, "\n".join(keep) + "\n")
