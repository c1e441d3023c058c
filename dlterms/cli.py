"""The ``dlterms`` command line.

Exit codes: 0 success (every check passed), 1 a check failed or errored,
2 a usage error (bad argument, unknown term or backend), reported on one line,
130 a run interrupted by Ctrl-C or SIGTERM (the reports still hold what was done).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from dlterms import __version__
from dlterms.conformance.backends import CANONICAL_OPS

if TYPE_CHECKING:
    from dlterms.conformance.backends import Backend

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n such as 1/4, got {text!r}") from None
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"expected 1 <= i <= n in i/n, got {text!r}")
    return i, n


def _read_xfail(path: str) -> dict[str, str]:
    """``--xfail FILE``: a TOML table ``[xfail]`` of check id (``inv`` or ``inv[dtype]``) = reason."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise UsageError(f"--xfail {path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--xfail {path}: not valid TOML: {exc}") from None
    table = data.get("xfail")
    if not isinstance(table, dict) or not all(isinstance(v, str) and v.strip() for v in table.values()):
        raise UsageError(
            f"--xfail {path}: expected a table [xfail] of 'invariant.id' = \"reason\" (a non-empty string)"
        )
    return dict(table)


def _progress(total: int):
    """A one-line progress display on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return lambda row: None
    done = [0]

    def show(row) -> None:
        done[0] += 1
        width = 30
        filled = width * done[0] // max(total, 1)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done[0]}/{total} {row.key} {row.status}"
        sys.stderr.write("\r" + line[:120].ljust(120))
        if done[0] == total:
            sys.stderr.write("\r" + " " * 120 + "\r")
        sys.stderr.flush()

    return show


def cmd_conform(args: argparse.Namespace) -> int:
    import signal

    from dlterms.conformance import BackendError, load_backend
    from dlterms.conformance.backends import DTYPES
    from dlterms.conformance.registry import INVARIANTS
    from dlterms.conformance.report import build_report, print_table, write_html, write_json, write_junit
    from dlterms.conformance.runner import DEEP_MAX_EXAMPLES, DEFAULT_DTYPES, FAILING, apply_xfail, plan, run_one
    from dlterms.glossary import get_term

    dtypes = _csv(args.dtype) if args.dtype else list(DEFAULT_DTYPES)
    for d in dtypes:
        if d not in DTYPES:
            raise UsageError(f"--dtype {d!r}: expected one or more of {', '.join(DTYPES)}")
    terms = _csv(args.terms) if args.terms else None
    if terms:
        try:
            terms = [get_term(t).id for t in terms]  # also accepts the stable form dlterms:<id>
        except KeyError as exc:
            raise UsageError(f"--terms: {exc.args[0]}") from None
        if not plan(terms, dtypes):
            raise UsageError(f"--terms {args.terms}: these terms have no invariants in {', '.join(dtypes)}")
    xfail = _read_xfail(args.xfail) if args.xfail else {}
    stale = sorted(k for k in xfail if k.split("[", 1)[0] not in INVARIANTS)
    for k in stale:
        print(f"dlterms conform: warning: --xfail lists {k!r}, which is not a registered invariant", file=sys.stderr)
    max_examples = args.max_examples or (DEEP_MAX_EXAMPLES if args.deep else 25)
    spec = args.backend or os.environ.get("DLTERMS_BACKEND") or ""
    try:
        bk = load_backend(spec or None, device=args.device)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    _warn_reduced_precision(bk, dtypes)
    checks = plan(terms, dtypes, args.shard)
    if args.repro:
        key = args.repro
        checks = [c for c in plan(terms, dtypes) if key in (c.key, c.invariant.id)]
        if not checks:
            raise UsageError(f"--repro {key!r}: no such check; expected an id such as 'softmax.sums_to_one[float32]'")
    settings = {
        "terms": terms,
        "dtypes": dtypes,
        "max_examples": max_examples,
        "seed": args.seed,
        "device": args.device or os.environ.get("DLTERMS_DEVICE"),
        "timeout_s": args.timeout,
        "shard": f"{args.shard[0]}/{args.shard[1]}" if args.shard else None,
        "xfail": args.xfail,
        "jobs": args.jobs,
        "command": " ".join(["dlterms", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("dlterms") else None,
    }
    print(
        f"dlterms {__version__} conform: backend {bk.name} {bk.version} on {bk.device} ({bk.found_by}); "
        f"{len(checks)} checks, {max_examples} examples each, seed {args.seed}"
    )

    results = []
    interrupted = False
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if args.jobs > 1 and not args.repro:
            from dlterms.conformance.parallel import run_parallel

            with _environment("DLTERMS_DEVICE", args.device):  # the workers load the backend from the environment
                results = run_parallel(
                    spec,
                    checks,
                    jobs=args.jobs,
                    max_examples=max_examples,
                    seed=args.seed,
                    timeout_s=args.timeout,
                    backend=bk,
                )
            results = [apply_xfail(r, xfail) for r in results]
        else:
            show = _progress(len(checks))
            for check in checks:
                row = run_one(
                    bk, check.invariant, check.dtype, max_examples=max_examples, seed=args.seed, timeout_s=args.timeout
                )
                results.append(apply_xfail(row, xfail))
                show(row)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\ninterrupted: {len(results)} of {len(checks)} checks done; writing what was done", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
    report = build_report(
        bk,
        results,
        settings,
        backend_spec=spec,
        interrupted=interrupted,
        extra={"xfail_stale": stale} if stale else None,
    )
    print_table(results, sys.stdout, verbose=not args.quiet)
    print(f"coverage: {len(bk.supported_ops())}/{len(CANONICAL_OPS)} canonical ops ({bk.coverage():.0%})")
    _print_special_values(report.get("special_values", []))
    if args.repro:
        for row in report["results"]:
            if row.get("repro"):
                print(f"\n# standalone reproducer for {row['id']}:\n{row['repro']}")
    for path, write in ((args.json, write_json), (args.junit, write_junit), (args.html, write_html)):
        if path:
            write(path, report)
            print(f"report written to {path}")
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAIL if any(r.status in FAILING for r in results) else EXIT_OK


def _print_special_values(records: list[dict]) -> None:
    """One line: how many special values (NaN, ±inf, ...) the backend returns as the reference defines them."""
    measured = [r for r in records if r["matches_canonical"] is not None]
    if not measured:
        return
    differs = [r["id"] for r in measured if not r["matches_canonical"]]
    print(
        f"special values (facts, not failures): {len(measured) - len(differs)}/{len(measured)} as the reference "
        "defines them" + (f"; differs: {', '.join(differs)}" if differs else "")
    )


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    """Set ``$name`` to ``value`` (when given) for the duration of the block."""
    if value is None:
        yield
        return
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _warn_reduced_precision(bk: Backend, dtypes: Sequence[str]) -> None:
    """Say, before the run, when a math mode (TF32, ...) makes the float32 tolerances unreachable.

    The mode is recorded in the report (``backend.math_modes``,
    ``backend.reduced_precision``); the tolerances are not loosened (see
    docs/how-to/write-an-adapter.md, "Devices and reduced precision").
    """
    reduced = bk.facts().get("reduced_precision") or []
    if reduced and "float32" in dtypes:
        print(
            f"dlterms conform: warning: reduced-precision math is on for {bk.device}: "
            f"{'; '.join(reduced)}. float32 tolerances do not hold for matmul and convolution under TF32, "
            f"so float32 failures of linear, conv2d and rnn are expected; turn the mode off "
            f"(e.g. NVIDIA_TF32_OVERRIDE=0) for a conformance verdict.",
            file=sys.stderr,
        )


def cmd_conventions(args: argparse.Namespace) -> int:
    from dlterms.conformance.conventions import FRAMEWORKS, installed_frameworks, measure

    frameworks = _csv(args.frameworks) if args.frameworks else installed_frameworks()
    for fw in frameworks:
        if fw not in FRAMEWORKS:
            raise UsageError(f"--frameworks {fw!r}: expected one or more of {', '.join(FRAMEWORKS)}")
    if not frameworks:
        raise UsageError(f"no framework installed; install one of {', '.join(FRAMEWORKS)}")
    table = {fw: measure(fw) for fw in frameworks}
    if args.json:
        print(json.dumps({"frameworks": table}, ensure_ascii=False, indent=2))
        return EXIT_OK
    canonical = measure("reference")

    def cell(rec: dict[str, Any]) -> str:
        if rec["value"] is None:
            return "-"
        mark = {True: "", False: " *", None: ""}[rec["matches_canonical"]]
        return f"{rec['value']}{mark}"

    header = ["convention", "canonical", *(FRAMEWORKS[fw][0] for fw in frameworks)]
    rows = [
        [c["id"], "-" if c["value"] is None else str(c["value"]), *(cell(table[fw][i]) for fw in frameworks)]
        for i, c in enumerate(canonical)
    ]
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    print("\n* differs from the canonical value (dlterms.reference); - not offered. Values are measured by")
    print("  calling each framework's own API with its defaults; --json gives the descriptions and the APIs.")
    return EXIT_OK


def cmd_report_merge(args: argparse.Namespace) -> int:
    from dlterms.conformance.report import merge_reports, write_html, write_json, write_junit
    from dlterms.conformance.runner import FAILING, plan

    reports = []
    for path in args.reports:
        try:
            with open(path, encoding="utf-8") as f:
                reports.append(json.load(f))
        except OSError as exc:
            raise UsageError(f"report merge: cannot read {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"report merge: {path} is not JSON: {exc}") from None
    first = reports[0]["settings"]
    order = [c.key for c in plan(first.get("terms"), first.get("dtypes") or ())]
    try:
        merged = merge_reports(reports, order=order)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    write_json(args.output, merged)
    if args.junit:
        write_junit(args.junit, merged)
    if args.html:
        write_html(args.html, merged)
    s = merged["summary"]
    print(
        f"merged {len(reports)} reports into {args.output}: "
        + ", ".join(f"{s[k]} {k}" for k in s if s[k] and k != "total")
    )
    return EXIT_FAIL if any(s[k] for k in FAILING) else EXIT_OK


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
    try:
        text = cite_all(accessed=args.accessed) if args.all else cite(args.term, args.format, accessed=args.accessed)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    sys.stdout.write(text)
    return EXIT_OK


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
    # A refusal (ValueError/TypeError naming the function and the argument) becomes one line and exit 2 in main().
    result = getattr(reference, args.function)(*positional, **keywords)
    print(json.dumps(_jsonable(result)))  # NaN and ±Infinity written as Python's json module reads them
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
    c.add_argument(
        "--device",
        help="where the framework computes: cpu, cuda, cuda:1, ... (torch, jax, tensorflow; "
        "default: $DLTERMS_DEVICE, else the CPU)",
    )
    c.add_argument("--terms", help="comma-separated term ids (default: all)")
    c.add_argument("--dtype", help="comma-separated dtypes (default: float32,float64)")
    c.add_argument(
        "--max-examples", type=_positive, default=None, help="examples per check (default: 25, or 500 with --deep)"
    )
    c.add_argument("--deep", action="store_true", help="a nightly run: 500 examples per check")
    c.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default: 0; same seed, same verdicts)")
    c.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time limit per check; past it the check is an error row (default: 60)",
    )
    c.add_argument("--json", metavar="FILE", help="write the report (schema dlterms.report/1) to FILE")
    c.add_argument("--junit", metavar="FILE", help="write JUnit XML to FILE")
    c.add_argument("--html", metavar="FILE", help="write a self-contained HTML report to FILE")
    c.add_argument("--xfail", metavar="FILE", help="TOML file: [xfail] 'invariant.id' = 'reason' (expected failures)")
    c.add_argument("--shard", type=_shard, metavar="I/N", help="run only the I-th of N deterministic shards")
    c.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        metavar="N",
        help="run on N processes (forked workers; pytest-xdist for jax and tensorflow)",
    )
    c.add_argument(
        "--repro", metavar="ID", help="re-run one check, e.g. 'softmax.sums_to_one[float32]', and print its reproducer"
    )
    c.add_argument("-q", "--quiet", action="store_true", help="list only the rows that did not pass")
    c.set_defaults(func=cmd_conform)

    r = sub.add_parser("report", help="work with conformance reports")
    rsub = r.add_subparsers(dest="report_command", required=True)
    m = rsub.add_parser("merge", help="combine the JSON reports of shards (--shard i/n) into one")
    m.add_argument("reports", nargs="+", metavar="REPORT", help="JSON reports of the shards of one run")
    m.add_argument("-o", "--output", required=True, metavar="FILE", help="the merged JSON report")
    m.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    m.add_argument("--html", metavar="FILE", help="also write HTML")
    m.set_defaults(func=cmd_report_merge)

    cv = sub.add_parser("conventions", help="measure each framework's defaults (conventions) against the reference")
    cv.add_argument("--frameworks", help="comma-separated: numpy,torch,jax,tensorflow (default: those installed)")
    cv.add_argument("--json", action="store_true", help="print JSON")
    cv.set_defaults(func=cmd_conventions)

    t = sub.add_parser("terms", help="list the glossary")
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(func=cmd_terms)

    s = sub.add_parser("show", help="print one glossary entry")
    s.add_argument("term", help="term id, e.g. softmax or dlterms:softmax")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_show)

    ci = sub.add_parser("cite", help="cite a term (or everything) with its original papers")
    ci.add_argument("term", nargs="?", help="term id (softmax, dlterms:softmax) or dlterms.reference.<function>")
    ci.add_argument("--format", choices=("bibtex", "cff", "apa", "json"), default="bibtex", help="default: bibtex")
    ci.add_argument("--all", action="store_true", help="one BibTeX file: the package, every term and every paper")
    ci.add_argument("--accessed", metavar="YYYY-MM-DD", help="access date to print (default: today)")
    ci.set_defaults(func=cmd_cite)

    ev = sub.add_parser(
        "eval",
        help="compute a reference function from the terminal and print the JSON result",
        description="Call dlterms.reference.FUNCTION with JSON arguments, e.g. dlterms eval softmax '[1, 2, 3]'. "
        "NaN, Infinity and -Infinity are accepted (as Python's json reads them); bad input is one line, exit 2.",
    )
    ev.add_argument("function", help="a dlterms.reference function, e.g. softmax, cross_entropy, conv2d")
    ev.add_argument("args", nargs="*", metavar="JSON", help="positional arguments, each a JSON value")
    ev.add_argument(
        "--kw", action="append", default=[], metavar="NAME=JSON", help="a keyword argument, e.g. --kw axis=0"
    )
    ev.set_defaults(func=cmd_eval)
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
