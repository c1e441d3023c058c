"""A Griffe extension: the reST bits of dlterms docstrings, rewritten as Markdown for mkdocstrings.

The reference docstrings are written for ``help()`` and doctest, in reST: ``.. math::``
blocks, ``:math:`` and ``:func:`` roles, bare ``>>>`` examples. mkdocstrings renders
Markdown, so each docstring is rewritten once, when Griffe loads it:

* ``.. math:: TeX`` and ``:math:`TeX``` become MathML (latex2mathml, at build time: no script);
* ``:func:`name``` and the other Python roles become inline code;
* a run of ``>>>`` lines and their output becomes a ``pycon`` code block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

from dlterms.site.mathml import tex_to_mathml

_MATH_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<tex>.*)$")
_MATH_ROLE = re.compile(r":math:`(?P<tex>[^`]+)`")
_PY_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc):`~?(?P<name>[^`]+)`")


def mathml(tex: str, *, display: bool) -> str:
    """TeX converted to one line of MathML (display or inline)."""
    return tex_to_mathml(tex, display=display)


def _math_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _MATH_BLOCK.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, tex = m["indent"], [m["tex"]]
        i += 1
        # Continuation lines are indented deeper than the directive.
        while i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > len(indent):
            tex.append(lines[i].strip())
            i += 1
        out += ["", f'{indent}<div class="dlterms-math">{mathml(" ".join(tex), display=True)}</div>', ""]
    return out


def _doctests(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i].removeprefix(indent))
            i += 1
        out += ["", f"{indent}```pycon", *(indent + b for b in block), f"{indent}```", ""]
    return out


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with its reST constructs rewritten as Markdown (see the module docstring)."""
    lines = _doctests(_math_blocks(text.splitlines()))
    body = "\n".join(lines)
    body = _MATH_ROLE.sub(lambda m: mathml(m["tex"], display=False), body)
    return _PY_ROLE.sub(lambda m: f"`{m['name']}`", body)


class RstToMarkdown(griffe.Extension):
    """Rewrite every loaded docstring with :func:`rst_to_markdown`."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
