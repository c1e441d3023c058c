"""How Hypothesis generates during a check: bounded shrinking, no local constants, a private home.

Each is a context manager the run loop (:mod:`.runner`) enters around a check (or a run), so a
seed gives the same cases and verdicts wherever dlterms is installed and however it is run.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator

from .settings import MAX_SHRINK_STEPS

__all__ = ["bounded_shrinking", "no_local_constants", "private_hypothesis_home"]


@contextlib.contextmanager
def bounded_shrinking(steps: int = MAX_SHRINK_STEPS) -> Iterator[None]:
    """Stop Hypothesis' shrinker after ``steps`` successful shrinks (its own default is 500).

    Hypothesis has no public setting for this; its engine reads the module constant
    ``MAX_SHRINKS``, set here for the duration of one check and restored after. A count
    of steps, unlike a time limit, keeps a check's counterexample the same on every run.
    """
    from hypothesis.internal.conjecture import engine

    previous, engine.MAX_SHRINKS = engine.MAX_SHRINKS, steps
    try:
        yield
    finally:
        engine.MAX_SHRINKS = previous


@contextlib.contextmanager
def no_local_constants() -> Iterator[None]:
    """Keep the constants of the source files Hypothesis finds "local" out of the generated data.

    Hypothesis (6.131 and later) mixes numbers it reads from the source of every imported module
    it considers local (not in site-packages: an editable install of dlterms, a plug-in adapter in
    the user's folder) into the values it draws. The cases of a seed would then depend on how
    dlterms was installed, on which modules happened to be imported, and on every edit of any
    local file: measured here, one seed gave different ``conv2d`` cases before and after an
    unrelated constant was added to ``tolerances.py``. Hypothesis has no public setting for this;
    its provider calls the module function ``_get_local_constants``, replaced by an empty set
    for the block and restored after.
    """
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    previous = providers._get_local_constants
    providers._get_local_constants = Constants
    try:
        yield
    finally:
        providers._get_local_constants = previous


_HOME = {"active": False}


@contextlib.contextmanager
def private_hypothesis_home() -> Iterator[None]:
    """Point Hypothesis' storage folder at a temporary folder for the block, then back.

    Hypothesis writes a cache there (the constants it collects from local source
    files) even with ``database=None``, by default in ``./.hypothesis``: a run
    must not leave that folder in the user's directory. Nested blocks share the
    outer block's folder.
    """
    if _HOME["active"]:
        yield
        return
    from hypothesis.configuration import set_hypothesis_home_dir, storage_directory

    previous = storage_directory(intent_to_write=False).home_directory
    with tempfile.TemporaryDirectory(prefix="dlterms-hypothesis-") as folder:
        set_hypothesis_home_dir(folder)
        _HOME["active"] = True
        try:
            yield
        finally:
            _HOME["active"] = False
            set_hypothesis_home_dir(previous)
