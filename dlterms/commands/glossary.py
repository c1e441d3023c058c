"""``dlterms terms``, ``show``, ``cite`` and ``eval``: the glossary and the reference, standard library only."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from datetime import date

from . import EXIT_OK, UsageError

__all__ = ["cmd_cite", "cmd_eval", "cmd_show", "cmd_terms"]


def cmd_terms(args: argparse.Namespace) -> int:
    from dlterms.glossary import load_sections, load_terms

    terms = load_terms()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": t.id,
                        "stable_id": t.stable_id,
                        "en": t.en.name,
                        "zh": t.zh.name,
                        "kind": t.kind,
                        "section": t.section,
                        "reference": list(t.reference),
                    }
                    for t in terms.values()
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    for section in load_sections():
        members = [t for t in terms.values() if t.section == section.id]
        if not members:
            continue
        print(f"{section.en} / {section.zh}")
        for t in members:
            fn = f"  [{', '.join(t.reference)}]" if t.kind == "function" else ""
            print(f"  {t.id:<30} {t.en.name} / {t.zh.name}{fn}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from dlterms.glossary import get_term

    try:
        t = get_term(args.term)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if args.json:
        from dataclasses import asdict

        data = asdict(t)
        data.pop("path")
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK

    def para(text: str) -> str:
        return textwrap.fill(" ".join(text.split()), width=88, initial_indent="  ", subsequent_indent="  ")

    print(f"{t.en.name} / {t.zh.name}   ({t.stable_id}, version {t.version})")
    print(para(t.en.definition))
    print(para(t.zh.definition))
    print(f"  Chinese name: {t.zh.name} (source: {t.zh.name_source})")
    if t.zh.variants:
        print(f"  variants: {', '.join(t.zh.variants)}")
    if t.en.aliases:
        print(f"  aliases: {', '.join(t.en.aliases)}")
    if t.seed:
        flag = "mistranslation" if t.seed.mistranslation else "seed wording"
        print(f"  seed: {t.seed.wording} ({flag})")
        if t.seed.correction_en:
            print(para(t.seed.correction_en))
    if t.formula:
        print(f"  formula: {t.formula}")
    if t.derivative:
        print(f"  derivative: {t.derivative}")
    if t.reference:
        print(f"  reference: {', '.join('dlterms.reference.' + r for r in t.reference)}")
    if t.invariants:
        print(f"  invariants: {', '.join(t.invariants)}")
    if t.related:
        print(f"  related: {', '.join(t.related)}")
    if t.papers:
        print(f"  papers: {', '.join(t.papers)}")
    return EXIT_OK


def cmd_cite(args: argparse.Namespace) -> int:
    from dlterms.citing import cite, cite_all

    if args.all == bool(args.term):
        raise UsageError("give one TERM (e.g. `dlterms cite softmax`) or --all")
    if args.all and args.format != "bibtex":
        raise UsageError(f"--all writes one BibTeX file; --format {args.format} needs a TERM")
    accessed = _iso_date("--accessed", args.accessed) if args.accessed else None
    try:
        text = cite_all(accessed=accessed) if args.all else cite(args.term, args.format, accessed=accessed)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    sys.stdout.write(text)
    return EXIT_OK


def _iso_date(what: str, text: str) -> date:
    """A YYYY-MM-DD date, else a UsageError naming the option and the value."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UsageError(f"{what} {text!r}: expected a date YYYY-MM-DD such as 2025-01-31")


def _json_arg(what: str, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} {text!r} is not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply to read") from None


def _jsonable(value: object) -> object:
    """A reference result as JSON data: tuples as lists, named tuples as objects."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def cmd_eval(args: argparse.Namespace) -> int:
    """``dlterms eval FUNCTION [JSON ...] [--kw NAME=JSON ...]``: call a reference function, print JSON."""
    from dlterms import reference

    if args.function not in reference.__all__:
        import difflib

        close = difflib.get_close_matches(args.function, reference.__all__, n=3)
        raise UsageError(
            f"unknown reference function {args.function!r}"
            + (f"; did you mean {', '.join(close)}?" if close else "; see dlterms.reference.__all__")
        )
    positional = [_json_arg(f"argument {i + 1}", text) for i, text in enumerate(args.args)]
    keywords = {}
    for item in args.kw:
        name, eq, text = item.partition("=")
        if not eq or not name.isidentifier():
            raise UsageError(f"--kw {item!r}: expected NAME=JSON, e.g. --kw axis=0")
        keywords[name] = _json_arg(f"--kw {name}", text)
    try:
        result = getattr(reference, args.function)(*positional, **keywords)
    except (ValueError, TypeError) as exc:  # bad input refused by the reference, naming the function and argument
        raise UsageError(str(exc)) from None
    print(json.dumps(_jsonable(result)))  # NaN and ±Infinity written as Python's json module reads them
    return EXIT_OK
