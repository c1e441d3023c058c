"""``dlterms report diff A.json B.json``: what changed from run A to run B (see :mod:`dlterms.conformance.diff`).

Exit status: 0 when no row got worse in B, 1 when one did (a status that now
fails the run, or an error past its tolerance), 2 when a file is not a report.
"""

from __future__ import annotations

import argparse
import sys

from . import EXIT_FAIL, EXIT_OK, UsageError, needs_extra

__all__ = ["cmd_report_diff"]


def cmd_report_diff(args: argparse.Namespace) -> int:
    with needs_extra("conformance"):
        from dlterms.conformance.diff import check_diffable, diff_reports, render_text, write_html, write_json
        from dlterms.conformance.report import read_report

    reports = []
    for path in (args.a, args.b):
        try:
            report = read_report(path)
            check_diffable(report, path)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        reports.append(report)
    if not args.min_growth >= 1:
        raise UsageError(f"--min-growth {args.min_growth:g}: expected a number >= 1 (1: any growth)")
    diff = diff_reports(*reports, min_growth=args.min_growth)
    names = (str(args.a), str(args.b))
    sys.stdout.write(render_text(diff, names))
    if args.json:
        write_json(args.json, diff)
        print(f"diff written to {args.json}")
    if args.html:
        write_html(args.html, diff, names)
        print(f"diff written to {args.html}")
    return EXIT_FAIL if diff["worse"] else EXIT_OK
