"""``dlterms conform``, ``conventions``, ``report merge`` and ``site generate``.

They import the conformance suite (or the site generator) when they run, inside
:func:`~dlterms.commands.needs_extra`, so a core install answers with the
extra to install; the work itself is done by :mod:`dlterms.conformance.session`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dlterms import __version__

from . import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, UsageError, csv, needs_extra

__all__ = ["cmd_conform", "cmd_conventions", "cmd_report_merge", "cmd_site_generate"]


def _command_line() -> str | None:
    """The command as typed, for the report (None when dlterms runs in-process, e.g. from a test)."""
    return " ".join(["dlterms", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("dlterms") else None


def cmd_conform(args: argparse.Namespace) -> int:
    with needs_extra("conformance"):
        from dlterms.conformance.console import print_table, progress
        from dlterms.conformance.session import Request, RunError, prepare, write_reports

    request = Request(
        backend=args.backend,
        device=args.device,
        terms=csv(args.terms),
        dtypes=csv(args.dtype),
        max_examples=args.max_examples,
        deep=args.deep,
        seed=args.seed,
        timeout_s=args.timeout,
        shard=args.shard,
        xfail_file=args.xfail,
        jobs=args.jobs,
        repro=args.repro,
        command=_command_line(),
        isolation=args.isolation,
    )
    try:
        session = prepare(request)
    except RunError as exc:
        raise UsageError(str(exc)) from None
    for warning in session.warnings():
        print(f"dlterms conform: warning: {warning}", file=sys.stderr)
    bk = session.backend
    print(
        f"dlterms {__version__} conform: backend {bk.name} {bk.version} on {bk.device} ({bk.found_by}); "
        f"{len(session.checks)} checks, {session.run_settings.max_examples} examples each, "
        f"seed {session.run_settings.seed}"
    )
    with progress(len(session.checks)) as on_row:
        outcome = session.execute(on_row)
    if outcome.interrupted:
        done, total = len(outcome.results), len(session.checks)
        print(f"\ninterrupted: {done} of {total} checks done; writing what was done", file=sys.stderr)
    report = session.report(outcome)
    print_table(outcome.results, sys.stdout, verbose=not args.quiet)
    implemented, canonical = session.coverage()
    print(f"coverage: {implemented}/{canonical} canonical ops ({implemented / canonical:.0%})")
    _print_special_values(report.get("special_values", []))
    if args.repro:
        for row in report["results"]:
            if row.get("repro"):
                print(f"\n# standalone reproducer for {row['id']}:\n{row['repro']}")
    for path in write_reports(report, json_path=args.json, junit=args.junit, html=args.html):
        print(f"report written to {path}")
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAIL if outcome.failed else EXIT_OK


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


def cmd_conventions(args: argparse.Namespace) -> int:
    from dlterms.frameworks import FRAMEWORKS, by_name

    names = [fw.name for fw in FRAMEWORKS]
    chosen = csv(args.frameworks)
    if chosen and args.backend:
        raise UsageError("--frameworks and --backend: give one of them")
    for name in chosen or ():
        if name not in names:
            raise UsageError(f"--frameworks {name!r}: expected one or more of {', '.join(names)}")
    with needs_extra("conformance"):
        from dlterms.conformance.backends import BackendError, load_backend
        from dlterms.conformance.conventions import installed_frameworks, measure, measure_backend

    if args.backend:  # one backend, a plug-in included: through its ops and its declared probes
        try:
            bk = load_backend(args.backend)
        except BackendError as exc:
            raise UsageError(str(exc)) from None
        table, labels = {bk.name: measure_backend(bk)}, {bk.name: bk.name}
    else:
        frameworks = chosen or list(installed_frameworks())
        if not frameworks:
            raise UsageError(f"no framework installed; install one of {', '.join(names)}")
        table = {fw: measure(fw) for fw in frameworks}
        labels = {fw: by_name(fw).label for fw in frameworks}
    if args.json:
        print(json.dumps({"frameworks": table}, ensure_ascii=False, indent=2))
        return EXIT_OK
    canonical = measure("reference")

    def cell(rec: dict[str, Any]) -> str:
        if rec["value"] is None:
            return "-"
        mark = {True: "", False: " *", None: ""}[rec["matches_canonical"]]
        return f"{rec['value']}{mark}"

    header = ["convention", "canonical", *labels.values()]
    rows = [
        [c["id"], "-" if c["value"] is None else str(c["value"]), *(cell(table[fw][i]) for fw in table)]
        for i, c in enumerate(canonical)
    ]
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    print("\n* differs from the canonical value (dlterms.reference); - not offered. Values are measured by")
    print("  calling each framework's own API with its defaults (a plug-in's: through its ops and the probes")
    print("  it declares); --json gives the descriptions and the APIs.")
    return EXIT_OK


def cmd_report_merge(args: argparse.Namespace) -> int:
    with needs_extra("conformance"):
        from dlterms.conformance.runner import FAILING
        from dlterms.conformance.session import RunError, merge_report_files, write_reports

    try:
        merged = merge_report_files(args.reports)
    except RunError as exc:
        raise UsageError(str(exc)) from None
    write_reports(merged, json_path=args.output, junit=args.junit, html=args.html)
    s = merged["summary"]
    print(
        f"merged {len(args.reports)} reports into {args.output}: "
        + ", ".join(f"{s[k]} {k}" for k in s if s[k] and k != "total")
    )
    return EXIT_FAIL if any(s[k] for k in FAILING) else EXIT_OK


def cmd_site_generate(args: argparse.Namespace) -> int:
    """``dlterms site generate DIR [--reports DIR]``: the term pages as plain Markdown (and their SVGs)."""
    with needs_extra("docs"):  # the site generator imports matplotlib and latex2mathml as it goes
        from dlterms.site import generate

        written = generate(Path(args.dir), Path(args.reports) if args.reports else None)
    print(f"wrote {len(written)} files to {args.dir}")
    return EXIT_OK
