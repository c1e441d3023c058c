"""Writing files so that a reader sees the old content or the new, never half of it.

Every report, site file and record that dlterms writes goes through
:func:`atomic_write`: the bytes go to a temporary file in the same folder,
are flushed and ``fsync``-ed, and the temporary file is renamed over the
target (``os.replace`` is atomic on POSIX and Windows). The new file gets the
usual permissions (``0o644`` less the umask), not ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parent folders are created); return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write` of ``text`` encoded as UTF-8."""
    return atomic_write(path, text.encode("utf-8"))
