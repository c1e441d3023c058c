"""TeX to MathML at build time (latex2mathml): no script, no font download, nothing to fetch.

Fix-ups on top of latex2mathml, for what Chromium's MathML Core shows:

* a prime written as a superscript (``\\sigma^{\\prime}``, ``f'``) becomes a prime after its base:
  the prime glyph is already a raised, small mark, and as a superscript Chromium shrinks and
  raises it again, down to a dot;
* an operator name (``\\operatorname{softmax}``, which latex2mathml writes as an ``<mo>`` with
  operator spacing on both sides) becomes an identifier, set upright as a multi-letter ``<mi>``;
* a function name (``\\log``, ``\\exp``, ``\\max``, an operator name: a multi-letter ``<mi>``) gets
  TeX's thin space (3/18 em) on each side: before it after an identifier, a number, a script or a
  closing bracket (an operator brings its own space), after it unless an opening bracket follows:
  ``y \\log p`` is "y log p", not "ylogp"; with a subscript (``\\max_j``) the space goes around
  the whole script;
* bold (``\\boldsymbol``, ``\\mathbf``: ``mathvariant="bold"`` or ``"bold-italic"``, which Chromium
  ignores) is written with Unicode's mathematical bold letters, which any math font has;
* the TeX itself is kept in ``<annotation encoding="application/x-tex">`` (in ``<semantics>``),
  where copy handlers, screen readers and converters find it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert

NS = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", NS)

_LEAF = r"<m[io](?: [^>]*)?>[^<]*</m[io]>"
_GROUP = r"<mrow>(?:(?!</?mrow>).)*</mrow>"
_PRIME = r"(?:<mrow>)?<mi>(&#x0203[234];)</mi>(?:</mrow>)?"
_SUP_PRIME = re.compile(rf"<msup>({_LEAF}|{_GROUP}){_PRIME}</msup>")
_WORD_OPERATOR = re.compile(r"<mo>([A-Za-z][A-Za-z_]+)</mo>")
_SUBSUP_PRIME = re.compile(rf"<msubsup>({_LEAF}|{_GROUP})({_LEAF}|{_GROUP}){_PRIME}</msubsup>")

_TEXT = re.compile(r">([^<]+)<")
_MARKDOWN_SAFE = str.maketrans({c: f"&#{ord(c)};" for c in "\\*_`[]"})
THIN_SPACE = "0.1667em"  # TeX's \, (3 mu)
_SCRIPTS = {"msub", "msup", "msubsup", "munder", "mover", "munderover"}
_OPENING = set("([{⟨⌊⌈|‖")
_CLOSING = set(")]}⟩⌋⌉|‖")


def _bold_map() -> dict[str, dict[str, str]]:
    """mathvariant → {letter: Unicode mathematical letter} (Latin, Greek, digits)."""

    def run(first: str, last: str, start: int) -> dict[str, str]:
        return {chr(c): chr(start + c - ord(first)) for c in range(ord(first), ord(last) + 1)}

    bold = {**run("A", "Z", 0x1D400), **run("a", "z", 0x1D41A), **run("Α", "Ω", 0x1D6A8), **run("α", "ω", 0x1D6C2)}
    italic = {**run("A", "Z", 0x1D468), **run("a", "z", 0x1D482), **run("Α", "Ω", 0x1D71C), **run("α", "ω", 0x1D736)}
    digits = run("0", "9", 0x1D7CE)
    return {"bold": {**bold, **digits}, "bold-italic": {**italic, **digits}}


_BOLD = _bold_map()


def _tag(el: ET.Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _is_function_name(el: ET.Element) -> bool:
    return _tag(el) == "mi" and len(el.text or "") > 1 and (el.text or "").isalpha() and not el.attrib


def _is_opening(el: ET.Element) -> bool:
    return _tag(el) == "mo" and (el.text or "").strip() in _OPENING and el.get("fence") != "false"


def _is_closing(el: ET.Element | None) -> bool:
    return el is not None and _tag(el) == "mo" and (el.text or "").strip() in _CLOSING


def _space() -> ET.Element:
    return ET.Element(f"{{{NS}}}mspace", {"width": THIN_SPACE})


def _space_function_names(root: ET.Element) -> None:
    for parent in list(root.iter()):
        children = list(parent)
        atoms = []  # the function names of this row: the <mi> itself, or the script it is the base of
        for child in children:
            base = child[0] if _tag(child) in _SCRIPTS and len(child) else None
            if (_is_function_name(child) and _tag(parent) not in _SCRIPTS) or (
                base is not None and _is_function_name(base)
            ):
                atoms.append(child)
        for atom in atoms:
            i = list(parent).index(atom)
            after = list(parent)[i + 1] if i + 1 < len(parent) else None
            if after is not None and not _is_opening(after) and _tag(after) != "mspace":
                parent.insert(i + 1, _space())
            before = list(parent)[i - 1] if i > 0 else None
            if (before is not None and _tag(before) not in ("mo", "mspace")) or _is_closing(before):
                parent.insert(i, _space())


def _bolden(root: ET.Element) -> None:
    for el in root.iter():
        variant = el.get("mathvariant")
        if variant in _BOLD and el.text:
            el.text = "".join(_BOLD[variant].get(c, c) for c in el.text)
            del el.attrib["mathvariant"]


def _annotate(root: ET.Element, tex: str) -> None:
    children = list(root)
    for c in children:
        root.remove(c)
    if len(children) == 1 and _tag(children[0]) == "mrow":
        body = children[0]
    else:
        body = ET.Element(f"{{{NS}}}mrow")
        body.extend(children)
    semantics = ET.SubElement(root, f"{{{NS}}}semantics")
    semantics.append(body)
    ET.SubElement(semantics, f"{{{NS}}}annotation", {"encoding": "application/x-tex"}).text = tex


def tex_to_mathml(tex: str, *, display: bool) -> str:
    """``tex`` as one line of MathML (``display="block"`` or ``"inline"``); raises on TeX it cannot read."""
    out = convert(tex.strip(), display="block" if display else "inline").replace("\n", "")
    out = _WORD_OPERATOR.sub(r"<mi>\1</mi>", out)
    out = _SUBSUP_PRIME.sub(r"<msub>\1\2</msub><mo>\3</mo>", out)
    out = _SUP_PRIME.sub(r"\1<mo>\2</mo>", out)
    root = ET.fromstring(out)
    _space_function_names(root)
    _bolden(root)
    _annotate(root, tex.strip())
    out = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    # Text as character references where Markdown would read it (inline math sits in a Markdown
    # paragraph of the API reference): "\{", "*", "_" and "`" must reach the page as written.
    return _TEXT.sub(lambda m: ">" + m[1].translate(_MARKDOWN_SAFE) + "<", out)
