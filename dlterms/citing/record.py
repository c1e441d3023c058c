"""Runtime citations: which reference functions ran, and the terms and papers behind them.

Off until :func:`enable` or ``with record():``; no import switches it on. While recording, every
public function of :mod:`dlterms.reference` is replaced, in each ``dlterms.reference.*`` module
that holds it, by a wrapper that notes the call; :func:`disable` puts the originals back. Calls
through names bound elsewhere before recording began (``from dlterms.reference import softmax``
in another module) are not seen. If duecredit is installed, each function's first call also
goes to ``duecredit.due.cite(..., path="dlterms.reference.<fn>")``.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dlterms.citing.bibliography import read_citations, url
from dlterms.citing.terms import term_url, terms_of

__all__ = ["UsedCitation", "disable", "enable", "is_recording", "record", "reset", "used_citations"]


@dataclass(frozen=True)
class UsedCitation:
    """A reference function that ran while recording, and what it cites."""

    function: str  # "dlterms.reference.softmax"
    calls: int
    terms: tuple[str, ...]  # stable IDs of the function terms that name it
    papers: tuple[str, ...]  # citations.bib keys of those terms
    links: tuple[str, ...]  # the papers' DOI (resolver URL) or stable URL


_lock = threading.RLock()
_depth = 0
_calls: dict[str, int] = {}
_patched: list[tuple[Any, str, Callable[..., Any], Callable[..., Any]]] = []  # module, name, original, wrapper


def _forward_to_duecredit(function: str) -> None:
    try:
        from duecredit import BibTeX, Doi, Url, due
    except ImportError:
        return
    bib = read_citations()
    for t in terms_of(function):
        description = f"{t.en.name} ({t.stable_id}, version {t.version})"
        path = f"dlterms.reference.{function}"
        if page := term_url(t.id):  # None when no site address is set (DLTERMS_SITE_URL)
            due.cite(Url(page), description=description, path=path, tags=["reference-implementation"])
        for key in t.papers:
            e = bib[key]
            doi, link = e.plain("doi"), url(e)
            entry = Doi(doi) if doi else Url(link) if link else BibTeX(e.text)
            due.cite(entry, description=description, path=path, tags=["reference-implementation"])


def _note(function: str) -> None:
    with _lock:
        first = function not in _calls
        _calls[function] = _calls.get(function, 0) + 1
    if first:
        _forward_to_duecredit(function)


def _wrapper(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        _note(name)
        return fn(*args, **kwargs)

    return recorded


def _modules() -> list[Any]:
    return [m for n, m in list(sys.modules.items()) if n == "dlterms.reference" or n.startswith("dlterms.reference.")]


def enable() -> None:
    """Start recording (nestable: each call needs its :func:`disable`)."""
    global _depth
    import dlterms.reference as reference

    with _lock:
        _depth += 1
        if _depth > 1:
            return
        originals = {id(getattr(reference, n)): n for n in reference.__all__ if callable(getattr(reference, n))}
        wrappers = {n: _wrapper(n, getattr(reference, n)) for n in originals.values()}
        for module in _modules():
            for attr, value in list(vars(module).items()):
                if (name := originals.get(id(value))) is not None:
                    _patched.append((module, attr, value, wrappers[name]))
                    setattr(module, attr, wrappers[name])


def disable() -> None:
    """Stop recording when every :func:`enable` has been matched; the reference is restored."""
    global _depth
    with _lock:
        if _depth == 0:
            return
        _depth -= 1
        if _depth:
            return
        for module, attr, original, wrapper in reversed(_patched):
            if getattr(module, attr, None) is wrapper:
                setattr(module, attr, original)
        _patched.clear()


def is_recording() -> bool:
    """Whether an :func:`enable` (or a ``record()`` block) is still open."""
    with _lock:
        return _depth > 0


def reset() -> None:
    """Forget the calls recorded so far."""
    with _lock:
        _calls.clear()


@contextmanager
def record(*, reset_first: bool = True) -> Iterator[None]:
    """Record the reference functions that run inside the block; read them with :func:`used_citations`."""
    if reset_first:
        reset()
    enable()
    try:
        yield
    finally:
        disable()


def used_citations() -> list[UsedCitation]:
    """The reference functions that ran while recording (in first-call order), with their terms and papers."""
    with _lock:
        calls = dict(_calls)
    bib = read_citations()
    out = []
    for fn, n in calls.items():
        terms = terms_of(fn)
        keys = tuple(dict.fromkeys(k for t in terms for k in t.papers))
        out.append(
            UsedCitation(
                function=f"dlterms.reference.{fn}",
                calls=n,
                terms=tuple(t.stable_id for t in terms),
                papers=keys,
                links=tuple(link for k in keys if k in bib and (link := url(bib[k]))),
            )
        )
    return out
