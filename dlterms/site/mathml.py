"""TeX to MathML at build time (latex2mathml): no script, no font download, nothing to fetch.

Two fix-ups on top of latex2mathml:

* a prime written as a superscript (``\\sigma^{\\prime}``, ``f'``) becomes a prime after its base:
  the prime glyph is already a raised, small mark, and as a superscript Chromium shrinks and
  raises it again, down to a dot;
* an operator name (``\\operatorname{softmax}``, which latex2mathml writes as an ``<mo>`` with
  operator spacing on both sides) becomes an identifier, set upright as a multi-letter ``<mi>``.
"""

from __future__ import annotations

import re

from latex2mathml.converter import convert

_LEAF = r"<m[io](?: [^>]*)?>[^<]*</m[io]>"
_GROUP = r"<mrow>(?:(?!</?mrow>).)*</mrow>"
_PRIME = r"(?:<mrow>)?<mi>(&#x0203[234];)</mi>(?:</mrow>)?"
_SUP_PRIME = re.compile(rf"<msup>({_LEAF}|{_GROUP}){_PRIME}</msup>")
_WORD_OPERATOR = re.compile(r"<mo>([A-Za-z][A-Za-z_]+)</mo>")
_SUBSUP_PRIME = re.compile(rf"<msubsup>({_LEAF}|{_GROUP})({_LEAF}|{_GROUP}){_PRIME}</msubsup>")


def tex_to_mathml(tex: str, *, display: bool) -> str:
    """``tex`` as one line of MathML (``display="block"`` or ``"inline"``); raises on TeX it cannot read."""
    out = convert(tex.strip(), display="block" if display else "inline").replace("\n", "")
    out = _WORD_OPERATOR.sub(r"<mi>\1</mi>", out)
    out = _SUBSUP_PRIME.sub(r"<msub>\1\2</msub><mo>\3</mo>", out)
    return _SUP_PRIME.sub(r"\1<mo>\2</mo>", out)
