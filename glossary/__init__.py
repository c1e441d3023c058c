"""The glossary: one TOML file per term, read with the standard library.

Each ``terms/<id>.toml`` holds one entry; :func:`load_terms` reads them all,
checks them against the schema below, and returns :class:`Term` objects. A bad
entry raises :class:`GlossaryError` naming the file and the field.

Schema of an entry (every key is required unless marked optional)::

    id = "sigmoid"                   # equals the file name; stable, never renamed
    version = "1.0.0"                # semantic version of the term's meaning
    kind = "function"                # "function" (has reference functions) or "concept"
    section = "activation-functions" # a section id from sections.toml (the seed's outline, then added ones)
    order = 2                        # position inside the section
    reference = ["sigmoid"]          # dlterms.reference functions (non-empty for kind=function;
                                     # for a concept, the functions that show it)
    invariants = ["sigmoid.symmetry"]  # hand-picked conformance invariant IDs that state its guarantees;
                                     # the loader puts the generated ones of the term's ops first
                                     # (<op>.matches_reference, .vjp_matches_reference,
                                     # .grad_matches_finite_difference, from dlterms.ops), and an
                                     # entry must not list those itself
    related = ["tanh"]               # other term ids
    papers = ["nair2010relu"]        # keys into citations.bib (may be empty)

    [en]
    name = "sigmoid (logistic) function"
    aliases = ["logistic function"]  # other names of the same concept (searchable)
    related_names = ["logit"]        # optional: names of related concepts the page explains but that
                                     # are not this concept (searchable, shown as "related", never as
                                     # another name): log-softmax under softmax, BPTT under RNN
    definition = "..."

    [zh]
    name = "sigmoid函数"
    name_source = "d2l-zh 2.0, TERMINOLOGY.md"   # where the standard Chinese name comes from
    variants = ["S型函数"]             # other names used by other authorities (searchable)
    related_names = ["对数几率"]       # optional, as in [en]
    definition = "..."

    [seed]                           # optional: how the seed article words it
    wording = "乙状结肠功能"
    mistranslation = true
    correction_en = "..."            # required when mistranslation = true
    correction_zh = "..."

    [math]                           # optional: LaTeX
    formula = '\\sigma(x) = ...'
    derivative = '...'               # optional
    notation_en = "..."              # optional: a convention the symbols follow (row vectors, ...)
    notation_zh = "..."              # required with notation_en

    [[math.symbol]]                  # one per symbol of the formula and derivative (a test checks
    tex = '\\sigma(x)'               # that each occurs in them and that every letter is declared)
    shape = "same as x"              # its shape: "scalar", "(n,)", "(N, C)", ...
    en = "the output"                # its meaning, in English
    zh = "输出"                       # and in Chinese

    [example]                        # optional (required by a test for kind = "function"): a worked
    function = "sigmoid"             # example, computed by this dlterms.reference function (one of
    args = { x = [-2.0, 0.0, 2.0] }  # `reference`) on these keyword arguments when the site is built;
    outputs = []                     # optional: names of the parts of a tuple result, in order
    caption_en = "..."               # one line: what the example shows
    caption_zh = "..."
                                     # an argument given as { function = "mse_loss", target = [...] }
                                     # is that reference function with its first argument left free,
                                     # and { callable = "<name>" } one of dlterms.site.examples.CALLABLES

    [[picture]]                      # optional, repeatable: the page's dedicated pictures, in order;
    kind = "curves"                  # a key of PICTURE_KINDS; a term without one gets a map of
    functions = ["sigmoid"]          # its related terms. Parameters by kind: functions (reference
                                     # functions drawn), variant (one of PICTURE_VARIANTS[kind]),
                                     # stride (>= 1), padding (>= 0)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from dlterms import ops

__all__ = [
    "GLOSSARY_DIR",
    "PICTURE_KINDS",
    "PICTURE_VARIANTS",
    "Example",
    "GlossaryError",
    "Picture",
    "Section",
    "Symbol",
    "Term",
    "get_term",
    "load_sections",
    "load_terms",
]

GLOSSARY_DIR = Path(__file__).resolve().parent
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_FUNCTION = re.compile(r"^[a-z_][a-z0-9_]*$")

# The kinds of dedicated picture a term page can show, and the parameters each takes
# (dlterms.site draws them; a test ties its drawers to these keys).
PICTURE_KINDS: dict[str, tuple[str, ...]] = {
    "curves": ("functions",),  # elementwise functions and their derivatives
    "vector": ("functions",),  # functions of one vector (softmax): inputs and outputs as bars
    "loss": ("functions",),  # loss and gradient as a prediction moves
    "descent": ("variant",),  # batch / mini-batch / stochastic trajectories on one problem
    "learning-rates": (),  # cost for too small, good and too large learning rates
    "convolution": ("stride", "padding"),  # the window on a small grid
    "pooling": ("functions",),  # 2x2 windows and their outputs
    "cnn-block": (),  # convolution, ReLU, pooling
    "rnn": ("variant",),  # the unrolled network and the four input/output modes
    "lstm-cell": (),  # the LSTM cell's gates and state lines, one step's numbers from the reference
    "positional-encoding": (),  # the sinusoidal encodings of 64 positions as a heat map
    "attention": (),  # attention weights as a heat map, without and with the causal mask
    "transformer-block": (),  # the Transformer block's post-norm and pre-norm orders, residual paths drawn
    "interpolation": (),  # a small image upsampled by nearest and bilinear resampling, both align_corners
    "computational-graph": (),  # backpropagation's forward and backward pass, traced from the reference
}
PICTURE_VARIANTS: dict[str, tuple[str, ...]] = {
    "descent": ("batch", "mini-batch", "stochastic"),
    "rnn": ("one-to-one", "one-to-many", "many-to-one", "many-to-many"),  # none given: no mode highlighted
}


class GlossaryError(ValueError):
    """A glossary file that does not follow the schema."""


@dataclass(frozen=True)
class Section:
    """One section of the glossary, in reading order: the seed article's outline, then sections added."""

    id: str
    order: int
    en: str
    zh: str
    seed: str | None  # the seed's (possibly damaged) heading; None for a section added beyond the seed


@dataclass(frozen=True)
class Names:
    name: str
    definition: str
    aliases: tuple[str, ...] = ()
    name_source: str = ""
    variants: tuple[str, ...] = ()
    related_names: tuple[str, ...] = ()  # names of related concepts, not of this one


@dataclass(frozen=True)
class Seed:
    wording: str
    mistranslation: bool
    correction_en: str = ""
    correction_zh: str = ""


@dataclass(frozen=True)
class Picture:
    """A dedicated picture of a term's page (a ``[[picture]]`` table); see :data:`PICTURE_KINDS`."""

    kind: str
    functions: tuple[str, ...] = ()
    variant: str = ""
    stride: int = 1
    padding: int = 0


@dataclass(frozen=True)
class Symbol:
    """One symbol of a term's formula (a ``[[math.symbol]]`` table): its TeX, shape and meaning."""

    tex: str
    shape: str
    en: str
    zh: str


@dataclass(frozen=True)
class Example:
    """A worked example (the ``[example]`` table): its inputs only; the reference computes the outputs."""

    function: str
    args: dict[str, Any] = field(default_factory=dict, hash=False)
    caption_en: str = ""
    caption_zh: str = ""
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Term:
    """A glossary entry. See the module docstring for the meaning of each field."""

    id: str
    version: str
    kind: str
    section: str
    order: int
    en: Names
    zh: Names
    reference: tuple[str, ...] = ()
    invariants: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    papers: tuple[str, ...] = ()
    seed: Seed | None = None
    formula: str = ""
    derivative: str = ""
    pictures: tuple[Picture, ...] = ()
    symbols: tuple[Symbol, ...] = ()
    notation_en: str = ""
    notation_zh: str = ""
    example: Example | None = None
    path: Path = field(default=Path(), compare=False)

    @property
    def stable_id(self) -> str:
        """The citation identifier, ``dlterms:<id>``."""
        return f"dlterms:{self.id}"

    def search_words(self) -> tuple[str, ...]:
        """Every name a reader may search for: names, aliases, variants, the seed's wording."""
        words = [self.en.name, *self.en.aliases, self.zh.name, *self.zh.variants, *self.zh.aliases]
        if self.seed and self.seed.wording:
            words.append(self.seed.wording)
        return tuple(dict.fromkeys(w for w in words if w))

    def related_words(self) -> tuple[str, ...]:
        """Names of related concepts that this term's page explains (searchable; not names of this term)."""
        return tuple(dict.fromkeys(w for w in (*self.en.related_names, *self.zh.related_names) if w))


class _Fields:
    """Typed access to one TOML table, with errors that name the file and the field."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def fail(self, key: str, expected: str) -> GlossaryError:
        got = self.data.get(key, "<missing>")
        return GlossaryError(f"{self.path}: field '{self.prefix}{key}': expected {expected}, got {got!r}")

    def text(self, key: str, *, optional: bool = False) -> str:
        value = self.data.get(key, "" if optional else None)
        if not isinstance(value, str) or (not optional and not value.strip()):
            raise self.fail(key, "a non-empty string" if not optional else "a string")
        return value.strip()

    def strings(self, key: str, *, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "a list of non-empty strings")
        if pattern is not None:
            for v in value:
                if not pattern.match(v):
                    raise self.fail(key, f"strings matching {pattern.pattern}")
        if len(set(value)) != len(value):
            raise self.fail(key, "a list without duplicates")
        return tuple(value)

    def integer(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "an integer")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def table(self, key: str, *, optional: bool = False) -> _Fields | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "a table")
        return _Fields(self.path, value, f"{self.prefix}{key}.")

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise GlossaryError(
                f"{self.path}: unknown field '{self.prefix}{extra[0]}'; expected one of {sorted(allowed)}"
            )


_TOP = {
    "id", "version", "kind", "section", "order", "reference", "invariants",
    "related", "papers", "en", "zh", "seed", "math", "picture", "example",
}  # fmt: skip


def _pictures(f: _Fields) -> tuple[Picture, ...]:
    """The ``[[picture]]`` tables of an entry, checked against :data:`PICTURE_KINDS`."""
    raw = f.data.get("picture", [])
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        raise f.fail("picture", "an array of tables ([[picture]])")
    out = []
    for i, table in enumerate(raw):
        p = _Fields(f.path, table, f"picture[{i}].")
        kind = p.text("kind")
        if kind not in PICTURE_KINDS:
            raise p.fail("kind", f"one of {sorted(PICTURE_KINDS)}")
        p.unknown({"kind", *PICTURE_KINDS[kind]})
        functions = p.strings("functions", pattern=_FUNCTION)
        if "functions" in PICTURE_KINDS[kind] and not functions:
            raise p.fail("functions", f"at least one dlterms.reference function for kind={kind!r}")
        variants = PICTURE_VARIANTS.get(kind, ())
        variant = p.text("variant", optional=kind == "rnn") if variants else ""
        if variant and variant not in variants:
            raise p.fail("variant", f"one of {list(variants)} for kind={kind!r}")
        stride = p.integer("stride") if "stride" in table else 1
        padding = p.integer("padding") if "padding" in table else 0
        if stride < 1:
            raise p.fail("stride", "an integer >= 1")
        if padding < 0:
            raise p.fail("padding", "an integer >= 0")
        out.append(Picture(kind, functions, variant, stride, padding))
    return tuple(out)


def _symbols(m: _Fields) -> tuple[Symbol, ...]:
    """The ``[[math.symbol]]`` tables of an entry."""
    raw = m.data.get("symbol", [])
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise m.fail("symbol", "an array of tables ([[math.symbol]])")
    out = []
    for i, table in enumerate(raw):
        s = _Fields(m.path, table, f"{m.prefix}symbol[{i}].")
        s.unknown({"tex", "shape", "en", "zh"})
        out.append(Symbol(tex=s.text("tex"), shape=s.text("shape"), en=s.text("en"), zh=s.text("zh")))
    if len({s.tex for s in out}) != len(out):
        raise m.fail("symbol", "symbols with different tex")
    return tuple(out)


def _example(f: _Fields, reference: tuple[str, ...]) -> Example | None:
    """The ``[example]`` table of an entry: a function of ``reference`` and its keyword arguments."""
    e = f.table("example", optional=True)
    if e is None:
        return None
    e.unknown({"function", "args", "outputs", "caption_en", "caption_zh"})
    function = e.text("function")
    if function not in reference:
        raise e.fail("function", f"one of the entry's reference functions {list(reference)}")
    args = e.table("args")
    assert args is not None
    for key, value in args.data.items():
        if not _FUNCTION.match(key):
            raise args.fail(key, "an argument name")
        if isinstance(value, dict) and not ({"function"} <= set(value) or set(value) == {"callable"}):
            raise args.fail(key, "a value, { function = <reference function>, ... } or { callable = <name> }")
    return Example(
        function=function,
        args=dict(args.data),
        caption_en=e.text("caption_en"),
        caption_zh=e.text("caption_zh"),
        outputs=e.strings("outputs"),
    )


def parse_term(path: Path, sections: set[str]) -> Term:
    """Read and check one entry file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise GlossaryError(f"{path}: not valid TOML: {exc}") from exc
    f = _Fields(path, data)
    f.unknown(_TOP)
    term_id = f.text("id")
    if term_id != path.stem or not _ID.match(term_id):
        raise f.fail("id", f"the file name {path.stem!r} in lower-case-with-hyphens")
    version = f.text("version")
    if not _SEMVER.match(version):
        raise f.fail("version", "a semantic version such as '1.0.0'")
    kind = f.text("kind")
    if kind not in ("function", "concept"):
        raise f.fail("kind", "'function' or 'concept'")
    section = f.text("section")
    if section not in sections:
        raise f.fail("section", f"one of {sorted(sections)}")
    reference = f.strings("reference", pattern=re.compile(r"^[a-z_][a-z0-9_]*$"))
    generated = tuple(i for op in ops.by_term(term_id) for i in op.invariant_ids)
    listed = f.strings("invariants", pattern=re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$"))
    if restated := [i for i in listed if i in generated]:
        raise f.fail("invariants", f"no ID generated from the op record (dlterms.ops), such as {restated[0]!r}")
    if kind == "function" and not reference:
        raise f.fail("reference", "at least one dlterms.reference function for kind='function'")
    en, zh = f.table("en"), f.table("zh")
    assert en is not None and zh is not None
    en.unknown({"name", "aliases", "related_names", "definition"})
    zh.unknown({"name", "name_source", "variants", "aliases", "related_names", "definition"})
    seed = None
    if (s := f.table("seed", optional=True)) is not None:
        s.unknown({"wording", "mistranslation", "correction_en", "correction_zh"})
        wrong = s.boolean("mistranslation")
        seed = Seed(
            wording=s.text("wording"),
            mistranslation=wrong,
            correction_en=s.text("correction_en", optional=not wrong),
            correction_zh=s.text("correction_zh", optional=not wrong),
        )
    for table, names in ((en, ("name", "aliases")), (zh, ("name", "variants", "aliases"))):
        own = {n.casefold() for key in names for n in ([table.text(key)] if key == "name" else table.strings(key))}
        if clash := [r for r in table.strings("related_names") if r.casefold() in own]:
            raise table.fail("related_names", f"names of other concepts only, not of this one (such as {clash[0]!r})")
    formula = derivative = notation_en = notation_zh = ""
    symbols: tuple[Symbol, ...] = ()
    if (m := f.table("math", optional=True)) is not None:
        m.unknown({"formula", "derivative", "notation_en", "notation_zh", "symbol"})
        formula = m.text("formula")
        derivative = m.text("derivative", optional=True)
        notation_en = m.text("notation_en", optional=True)
        notation_zh = m.text("notation_zh", optional=not notation_en)
        symbols = _symbols(m)
    return Term(
        id=term_id,
        version=version,
        kind=kind,
        section=section,
        order=f.integer("order"),
        en=Names(
            name=en.text("name"),
            definition=en.text("definition"),
            aliases=en.strings("aliases"),
            related_names=en.strings("related_names"),
        ),
        zh=Names(
            name=zh.text("name"),
            definition=zh.text("definition"),
            aliases=zh.strings("aliases"),
            name_source=zh.text("name_source"),
            variants=zh.strings("variants"),
            related_names=zh.strings("related_names"),
        ),
        reference=reference,
        invariants=generated + listed,
        related=f.strings("related", pattern=_ID),
        papers=f.strings("papers"),
        seed=seed,
        formula=formula,
        derivative=derivative,
        pictures=_pictures(f),
        symbols=symbols,
        notation_en=notation_en,
        notation_zh=notation_zh,
        example=_example(f, reference),
        path=path,
    )


@cache
def load_sections(directory: Path = GLOSSARY_DIR) -> tuple[Section, ...]:
    """``sections.toml`` in reading order: the seed's outline (with ``seed``), then added sections (without)."""
    path = directory / "sections.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: list[Section] = []
    for i, raw in enumerate(data.get("section", [])):
        f = _Fields(path, raw, f"section[{i}].")
        f.unknown({"id", "en", "zh", "seed"})
        seed = f.text("seed") if "seed" in raw else None
        if seed is not None and out and out[-1].seed is None:
            raise f.fail("seed", f"no seed heading: section {out[-1].id!r} before it is added beyond the seed")
        out.append(Section(id=f.text("id"), order=i, en=f.text("en"), zh=f.text("zh"), seed=seed))
    return tuple(out)


@cache
def load_terms(directory: Path = GLOSSARY_DIR) -> dict[str, Term]:
    """Every entry under ``directory/terms``, checked, keyed by id, in reading order.

    Reading order is ``sections.toml``'s (the seed's sections, then added ones), then ``order`` inside one.
    Cross-references (``related``) must name existing terms.
    """
    sections = {s.id: s.order for s in load_sections(directory)}
    terms = [parse_term(p, set(sections)) for p in sorted((directory / "terms").glob("*.toml"))]
    ids = {t.id for t in terms}
    for t in terms:
        for r in t.related:
            if r not in ids:
                raise GlossaryError(f"{t.path}: field 'related': unknown term id {r!r}")
    terms.sort(key=lambda t: (sections[t.section], t.order, t.id))
    return {t.id: t for t in terms}


def get_term(term_id: str) -> Term:
    """One entry by id (``"softmax"`` or ``"dlterms:softmax"``); a clear error if unknown."""
    terms = load_terms()
    key = term_id.removeprefix("dlterms:")
    if key not in terms:
        import difflib

        close = difflib.get_close_matches(key, list(terms), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `dlterms terms` lists them"
        raise KeyError(f"unknown term {term_id!r}{hint}")
    return terms[key]
