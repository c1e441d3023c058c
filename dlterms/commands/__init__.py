"""The subcommands of the ``dlterms`` command line, and what they share.

:mod:`.glossary` holds ``terms``, ``show``, ``cite`` and ``eval`` (standard
library only); :mod:`.conform` holds ``conform``, ``conventions``, ``report``
and ``site``, which import their extra when they run. Each command takes the
parsed arguments and returns an exit code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["EXIT_FAIL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "UsageError", "csv", "needs_extra"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A problem with how dlterms was called: one line on stderr and exit 2."""


@contextlib.contextmanager
def needs_extra(extra: str) -> Iterator[None]:
    """Turn a third-party module found missing inside the block into a :class:`UsageError` naming ``extra``.

    Commands import (and may call) what needs an extra inside this block. A
    missing dlterms module is a bug, raised as it is.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        top = (exc.name or "").partition(".")[0]
        if top in ("", "dlterms"):
            raise
        raise UsageError(
            f"needs the {extra!r} extra ({top} is not installed): pip install 'dlterms[{extra}]'"
        ) from None


def csv(text: str | None) -> list[str] | None:
    """Comma-separated values, blanks dropped; None for no value or only blanks."""
    return [t.strip() for t in (text or "").split(",") if t.strip()] or None
