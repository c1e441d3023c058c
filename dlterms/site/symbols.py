"""The "where" list under a term's formula: each symbol with its meaning (English, Chinese) and shape.

The symbols are declared in the entry's ``[[math.symbol]]`` tables (see :mod:`dlterms.glossary`).
:func:`letters` finds the letters a formula uses, so that a test can check that every one is declared.
"""

from __future__ import annotations

import re

from dlterms.glossary import Term

from .text import html_cell, mathml, md_cell, md_text

__all__ = ["CONSTANTS", "letters", "symbols_markdown"]

# Letters that are not symbols of a term: Euler's number, the d of a derivative d/dx, big-O.
CONSTANTS = frozenset({"e", "d", "O"})

# Commands that print a word, an operator or an environment's name, not a symbol of the term.
_WORD_GROUP = re.compile(r"\\(?:operatorname|mathrm|text|textrm|begin|end)\s*\{[^{}]*\}")
_GREEK = frozenset({
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
    "omega", "ell", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega",
})  # fmt: skip
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_SUBSCRIPT = re.compile(r"_(\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\\[A-Za-z]+|.)")


def letters(tex: str) -> set[str]:
    """The symbols a TeX formula uses in main position: Latin letters and Greek letter commands.

    Operator names (``\\operatorname{..}``, ``\\mathrm{..}``, ``\\text{..}``) and subscripts (indices
    and labels such as ``W_{ih}``) are left out; superscripts count (``e^{x_i}`` uses x). A Greek
    letter is named by its command (``\\sigma``).
    """
    s = _WORD_GROUP.sub(" ", tex)
    s = _SUBSCRIPT.sub(" ", s)
    found: set[str] = set()
    for m in _COMMAND.finditer(s):
        if m.group(1) in _GREEK:
            found.add("\\" + m.group(1))
    s = _COMMAND.sub(" ", s)
    found.update(ch for ch in s if ch.isascii() and ch.isalpha())
    return found


def symbols_markdown(term: Term) -> str:
    """The list of the formula's symbols, the notation note after it ('' when none is declared)."""
    if not term.symbols:
        return ""
    rows = []
    for sym in term.symbols:
        tex = html_cell(mathml(sym.tex, display=False, where=f"{term.id} (symbol {sym.tex})"))
        meaning = f'{md_cell(sym.en)}<br><span lang="zh-Hans">{md_cell(sym.zh)}</span>'
        rows.append(f"| {tex} | {meaning} | {md_cell(sym.shape)} |")
    # Three columns (both languages in one), so that a phone shows the shape without scrolling.
    table = "| symbol · 符号 | meaning · 含义 | shape · 形状 |\n|---|---|---|\n" + "\n".join(rows)
    parts = ["Where · 其中:", "", table]
    if term.notation_en:
        parts += ["", f"{md_text(term.notation_en)}<br>", f'<span lang="zh-Hans">{md_text(term.notation_zh)}</span>']
    # Out of the search text, like the formula: the symbols' words would match every page that has them.
    body = "\n".join(parts)
    return f'<div class="dl-symbols" markdown data-search-exclude>\n\n{body}\n\n</div>'
