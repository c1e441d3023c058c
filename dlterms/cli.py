"""The ``dlterms`` command line.

Exit codes: 0 success (every check passed), 1 a check failed or errored,
2 a usage error (bad argument, unknown term or backend), reported on one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence

from dlterms import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with how dlterms was called: one line on stderr and exit 2."""


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def cmd_conform(args: argparse.Namespace) -> int:
    from dlterms.conformance import BackendError, load_backend
    from dlterms.conformance.backends import DTYPES
    from dlterms.conformance.report import build_report, print_table, write_json
    from dlterms.conformance.runner import DEFAULT_DTYPES, run, select
    from dlterms.glossary import load_terms

    dtypes = _csv(args.dtype) if args.dtype else list(DEFAULT_DTYPES)
    for d in dtypes:
        if d not in DTYPES:
            raise UsageError(f"--dtype {d!r}: expected one or more of {', '.join(DTYPES)}")
    terms = _csv(args.terms) if args.terms else None
    if terms:
        known = load_terms()
        for t in terms:
            if t not in known:
                import difflib

                close = difflib.get_close_matches(t, list(known), n=3)
                raise UsageError(
                    f"--terms: unknown term {t!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
                )
        if not select(terms):
            raise UsageError(f"--terms {args.terms}: these terms have no invariants (concept terms only?)")
    try:
        bk = load_backend(args.backend)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    dtypes_run = [d for d in dtypes if d in bk.dtypes] or dtypes
    results = run(bk, terms=terms, dtypes=dtypes_run, max_examples=args.max_examples, seed=args.seed)
    settings = {
        "terms": terms,
        "dtypes": dtypes_run,
        "max_examples": args.max_examples,
        "seed": args.seed,
        "command": " ".join(sys.argv[1:]),
    }
    report = build_report(bk, results, settings)
    print(f"dlterms {__version__} conform: backend {bk.name} {bk.version} ({bk.found_by})")
    print_table(results, sys.stdout, verbose=not args.quiet)
    if args.json:
        write_json(args.json, report)
        print(f"report written to {args.json}")
    s = report["summary"]
    return EXIT_FAIL if s["fail"] or s["error"] else EXIT_OK


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dlterms", description="A bilingual glossary of deep-learning terms you can run.")
    p.add_argument("--version", action="version", version=f"dlterms {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("conform", help="check a framework against the invariants of every term")
    c.add_argument(
        "--backend",
        help="reference, numpy, torch, jax, tensorflow, an entry point name, "
        "or package.module:attribute (default: $DLTERMS_BACKEND)",
    )
    c.add_argument("--terms", help="comma-separated term ids (default: all)")
    c.add_argument("--dtype", help="comma-separated dtypes (default: float32,float64)")
    c.add_argument("--max-examples", type=_positive, default=25, help="examples per invariant (default: 25)")
    c.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default: 0; same seed, same verdicts)")
    c.add_argument("--json", metavar="FILE", help="write the report (schema dlterms.report/1) to FILE")
    c.add_argument("-q", "--quiet", action="store_true", help="list only the rows that did not pass")
    c.set_defaults(func=cmd_conform)

    t = sub.add_parser("terms", help="list the glossary")
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(func=cmd_terms)

    s = sub.add_parser("show", help="print one glossary entry")
    s.add_argument("term", help="term id, e.g. softmax or dlterms:softmax")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_show)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"dlterms {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as exc:  # bad input refused by the reference or glossary
        print(f"dlterms {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
