"""``dlterms conform``, ``conventions``, ``report merge`` and ``site generate``.

They import the conformance suite (or the site generator) when they run, inside
:func:`~dlterms.commands.needs_extra`, so a core install answers with the
extra to install; the work itself is done by :mod:`dlterms.conformance.session`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from dlterms import __version__

from . import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, UsageError, csv, needs_extra

__all__ = ["cmd_conform", "cmd_conventions", "cmd_report_merge", "cmd_site_generate"]


def _command_line() -> str | None:
    """The command as typed, for the report (None when dlterms runs in-process, e.g. from a test)."""
    return " ".join(["dlterms", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("dlterms") else None


def _workers(settings: dict[str, object]) -> str:
    """How the checks run, for the first line: "in this process", or "in N worker processes"."""
    if settings["isolation"] == "off":
        return "in this process"
    jobs = settings["jobs"]
    return f"in {jobs} worker process{'es' if jobs != 1 else ''}"


def cmd_conform(args: argparse.Namespace) -> int:
    with needs_extra("conformance"):
        from dlterms.conformance.backends import DEVICE_ENV_VAR
        from dlterms.conformance.console import print_table, progress
        from dlterms.conformance.session import Request, RunError, prepare, write_reports

    if args.compare_json and not args.compare_device:
        raise UsageError(f"--compare-json {args.compare_json}: needs --compare-device DEVICE (the run it records)")
    device = args.device or os.environ.get(DEVICE_ENV_VAR) or "cpu"
    if args.compare_device and args.compare_device.lower() == device.lower():
        raise UsageError(f"--compare-device {args.compare_device!r}: the run's own device; expected another device")
    request = Request(
        backend=args.backend,
        device=args.device,
        terms=csv(args.terms),
        dtypes=csv(args.dtype),
        max_examples=args.max_examples,
        deep=args.deep,
        sizes=args.sizes,
        seed=args.seed,
        timeout_s=args.timeout,
        shard=args.shard,
        xfail_file=args.xfail,
        jobs=args.jobs,
        repro=args.repro,
        command=_command_line(),
        isolation=args.isolation,
        math_mode=args.math_mode,
    )
    compare = dataclasses.replace(request, device=args.compare_device) if args.compare_device else None
    try:
        if compare:  # a device that is not there is a usage error before anything runs
            prepare(compare)
        session = prepare(request)  # last: an adapter may keep its device in a module (torch's does)
    except RunError as exc:
        raise UsageError(str(exc)) from None
    for warning in session.warnings():
        print(f"dlterms conform: warning: {warning}", file=sys.stderr)
    bk = session.backend
    print(
        f"dlterms {__version__} conform: backend {bk.name} {bk.version} on {bk.device} ({bk.found_by}); "
        f"{len(session.checks)} checks, {session.run_settings.max_examples} examples each, "
        f"seed {session.run_settings.seed}, {_workers(session.settings)}"
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
    _print_special_values(report.get("special_values", []), report["results"])
    if args.repro:
        for row in report["results"]:
            if row.get("repro"):
                print(f"\n# standalone reproducer for {row['id']}:\n{row['repro']}")
    for path in write_reports(report, json_path=args.json, junit=args.junit, html=args.html):
        print(f"report written to {path}")
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    if compare:
        finished, section = _compare_run(compare, report, args.compare_json)
        if args.html:  # the main run's HTML again, now with the diff as its last section
            from dlterms.conformance.report import write_html

            write_html(args.html, report, sections=[section])
            print(f"report written to {args.html} (with the diff)")
        if not finished:
            return EXIT_INTERRUPTED
    return EXIT_FAIL if outcome.failed else EXIT_OK


def _compare_run(request: Any, main_report: dict[str, Any], json_path: str | None) -> tuple[bool, str]:
    """``--compare-device``: run ``request`` and print what differs from ``main_report``.

    Returns whether the compare run finished (not interrupted) and the diff as an HTML section.

    The compare run is A (the baseline) and the main run B, so "worse" reads as
    worse on ``--device``. The exit status stays the main run's.
    """
    from dlterms.conformance.console import progress
    from dlterms.conformance.diff import diff_reports, html_section, render_text
    from dlterms.conformance.runner import summary
    from dlterms.conformance.session import prepare, write_reports

    session = prepare(request)  # checked before the main run; this moves the backend to the device
    print(f"\ncompare: the same {len(session.checks)} checks on {session.backend.device}")
    with progress(len(session.checks)) as on_row:
        outcome = session.execute(on_row)
    if outcome.interrupted:
        print(f"\ninterrupted: {len(outcome.results)} of {len(session.checks)} compare checks done", file=sys.stderr)
    report = session.report(outcome)
    counts = summary(report["results"])
    print(f"compare run: {', '.join(f'{n} {k}' for k, n in counts.items() if n and k != 'total')}")
    for path in write_reports(report, json_path=json_path):
        print(f"compare report written to {path}")
    names = (f"--compare-device {request.device}", "--device " + str(main_report["backend"]["device"]))
    diff = diff_reports(report, main_report)
    print("\n" + render_text(diff, names), end="")
    return not outcome.interrupted, html_section(diff, names)


def _print_special_values(records: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Two lines: the special values the definitions fix (checked: their failing rows named) and the choices (facts).

    A record's kind is its ``kind`` field, else its op record's (:class:`dlterms.ops.Special`).
    """
    from dlterms.conformance.diff import special_kind
    from dlterms.conformance.runner import FAILING

    measured = [r for r in records if r["matches_canonical"] is not None]
    if not measured:
        return
    kinds = {r["id"]: r.get("kind") or special_kind(r["id"]) for r in measured}
    definitions = [r for r in measured if kinds[r["id"]] == "definition"]
    choices = [r for r in measured if kinds[r["id"]] != "definition"]
    if definitions:
        differs = [r["id"] for r in definitions if not r["matches_canonical"]]
        checked: dict[str, list[dict[str, Any]]] = {}  # op -> its <op>.special_values rows in this run
        for row in rows:
            if row["invariant"].endswith(".special_values"):
                checked.setdefault(row["invariant"].split(".", 1)[0], []).append(row)
        failing = [
            row["id"] for d in differs for row in checked.get(d.split(".", 1)[0], ()) if row["status"] in FAILING
        ]
        unchecked = [d for d in differs if d.split(".", 1)[0] not in checked]
        met = [
            d for d in differs if d not in unchecked and d.split(".", 1)[0] not in {f.split(".", 1)[0] for f in failing}
        ]
        print(
            "special values the definitions fix (checked by the <op>.special_values rows): "
            f"{len(definitions) - len(differs)}/{len(definitions)} as the reference gives them"
            + (f"; failing: {', '.join(dict.fromkeys(failing))}" if failing else "")
            + (f"; differ but meet the definition (an error or NaN for a refusal): {', '.join(met)}" if met else "")
            + (f"; differ, not checked in this run: {', '.join(unchecked)}" if unchecked else "")
        )
    if choices:
        differs = [r["id"] for r in choices if not r["matches_canonical"]]
        print(
            f"special values left to a choice (facts, not failures): {len(choices) - len(differs)}/{len(choices)} "
            "as the reference chooses" + (f"; differs: {', '.join(differs)}" if differs else "")
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
