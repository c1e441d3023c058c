"""The ``dlterms`` command line: it parses arguments, calls the library and prints.

The glossary commands (``terms``, ``show``, ``cite``, ``eval``) need the
standard library only; ``conform``, ``conventions`` and ``report`` import the
conformance suite (the ``conformance`` extra) when they run, and ``site`` the
site generator (the ``docs`` extra). A missing extra is one line naming it.

Exit codes: 0 success (every check passed), 1 a check failed or errored,
2 a usage error (bad argument, unknown term or backend, missing extra), reported on one line,
130 a run interrupted by Ctrl-C or SIGTERM (the reports still hold what was done).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dlterms import __version__
from dlterms.commands import EXIT_USAGE, UsageError
from dlterms.commands.conform import cmd_conform, cmd_conventions, cmd_report_merge, cmd_site_generate
from dlterms.commands.diff import cmd_report_diff
from dlterms.commands.glossary import cmd_cite, cmd_eval, cmd_show, cmd_terms
from dlterms.conformance import settings as run_defaults

__all__ = ["build_parser", "main"]


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def _jobs(text: str) -> int | str:
    """``--jobs``: ``auto`` or a positive integer."""
    if text == "auto":
        return text
    try:
        return _positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or auto, got {text!r}") from None


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n such as 1/4, got {text!r}") from None
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"expected 1 <= i <= n in i/n, got {text!r}")
    return i, n


def build_parser() -> argparse.ArgumentParser:
    d = run_defaults
    p = argparse.ArgumentParser(prog="dlterms", description="A bilingual glossary of deep-learning terms you can run.")
    p.add_argument("--version", action="version", version=f"dlterms {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("conform", help="check a framework against the invariants of every term")
    c.add_argument(
        "--backend",
        help="reference, numpy, torch, jax, tensorflow, an entry point name, a module, "
        "or package.module:attribute (default: $DLTERMS_BACKEND)",
    )
    c.add_argument(
        "--device",
        help="where the framework computes: cpu, cuda, cuda:1, ... (torch, jax, tensorflow; "
        "default: $DLTERMS_DEVICE, else the CPU)",
    )
    c.add_argument(
        "--compare-device",
        metavar="DEVICE",
        help="also run the same checks (seed, terms, dtypes) on DEVICE, e.g. cpu, and print what differs "
        "(as 'dlterms report diff' does, with that run as A and --device as B)",
    )
    c.add_argument("--compare-json", metavar="FILE", help="with --compare-device: write that run's report to FILE")
    c.add_argument("--terms", help="comma-separated term ids (default: all)")
    c.add_argument(
        "--dtype",
        help=f"comma-separated dtypes, or all ({','.join(d.ALL_DTYPES)}) (default: {','.join(d.DEFAULT_DTYPES)})",
    )
    c.add_argument(
        "--math-mode",
        choices=d.MATH_MODE_NAMES,
        default=d.DEFAULT_MATH_MODE,
        help="judge float32 checks of matmul, convolution and RNN kernels by float32's tolerance (strict), or by "
        "TF32's (tf32: what GPUs compute by default); a strict failure on a TF32 device says whether it "
        f"passes under TF32 (default: {d.DEFAULT_MATH_MODE})",
    )
    c.add_argument(
        "--max-examples",
        type=_positive,
        default=None,
        help=f"examples per check (default: {d.DEFAULT_MAX_EXAMPLES}, or {d.DEEP_MAX_EXAMPLES} with --deep)",
    )
    c.add_argument("--deep", action="store_true", help=f"a nightly run: {d.DEEP_MAX_EXAMPLES} examples per check")
    c.add_argument(
        "--sizes",
        action="store_true",
        help="add the size tier: each op at realistic shapes (reductions of 255 to 2,049 terms, 65,537 rows, "
        "a mean of 10^7 squares, grouped convolutions), one seed per check; a nightly run's",
    )
    c.add_argument(
        "--seed",
        type=int,
        default=d.DEFAULT_SEED,
        help=f"Hypothesis seed (default: {d.DEFAULT_SEED}; same seed, same verdicts)",
    )
    c.add_argument(
        "--timeout",
        type=float,
        default=d.DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"time limit per check; past it the check is an error row, or a fail row if it had failed and was "
        f"shrinking its case (default: {d.DEFAULT_TIMEOUT_S:g})",
    )
    c.add_argument("--json", metavar="FILE", help="write the report (schema dlterms.report/1) to FILE")
    c.add_argument("--junit", metavar="FILE", help="write JUnit XML to FILE")
    c.add_argument("--html", metavar="FILE", help="write a self-contained HTML report to FILE")
    c.add_argument("--xfail", metavar="FILE", help="TOML file: [xfail] 'invariant.id' = 'reason' (expected failures)")
    c.add_argument("--shard", type=_shard, metavar="I/N", help="run only the I-th of N deterministic shards")
    c.add_argument(
        "--jobs",
        type=_jobs,
        default=d.DEFAULT_JOBS,
        metavar="N",
        help="run N worker processes at once (forked; spawned for jax and tensorflow); auto: one per usable CPU "
        f"core, 1 on an accelerator or with --isolation off (default: {d.DEFAULT_JOBS})",
    )
    c.add_argument(
        "--isolation",
        choices=d.ISOLATION_MODES,
        default=d.DEFAULT_ISOLATION,
        help="where checks run: in worker processes that may crash without ending the run (auto: forked, "
        "spawned for jax and tensorflow; fork; spawn), or off: in this process (default: auto)",
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
    df = rsub.add_parser(
        "diff",
        help="compare two JSON reports: changed statuses, grown errors, special values and conventions",
        description="What changed from run A to run B (devices, framework versions or frameworks). "
        "Exit status 0 when no row got worse in B, 1 when one did (a status that now fails the run: "
        "fail, error or xpass, or an error past its tolerance), 2 when a file is not a report.",
    )
    df.add_argument("a", metavar="A", help="the JSON report of the baseline run")
    df.add_argument("b", metavar="B", help="the JSON report of the run compared with it")
    df.add_argument("--json", metavar="FILE", help="also write the diff as JSON (schema dlterms.diff/1)")
    df.add_argument("--html", metavar="FILE", help="also write the diff as a self-contained HTML page")
    df.add_argument(
        "--min-growth",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="list an error only when it grew more than FACTOR times (default: 1, any growth)",
    )
    df.set_defaults(func=cmd_report_diff)

    cv = sub.add_parser("conventions", help="measure each framework's defaults (conventions) against the reference")
    cv.add_argument("--frameworks", help="comma-separated: torch,numpy,jax,tensorflow (default: those installed)")
    cv.add_argument(
        "--backend",
        metavar="SPEC",
        help="measure one backend (built-in, entry point, module, package.module:attribute), not the frameworks",
    )
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

    site = sub.add_parser("site", help="the glossary's pages for a static site generator")
    site_sub = site.add_subparsers(dest="site_command", required=True)
    gen = site_sub.add_parser("generate", help="write the term pages as plain Markdown, with their SVGs, to DIR")
    gen.add_argument("dir", metavar="DIR", help="the folder to write")
    gen.add_argument("--reports", metavar="DIR", help="conformance reports (*.json) for the pages' matrices")
    gen.set_defaults(func=cmd_site_generate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"dlterms {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
