"""How Hypothesis generates during a check: bounded shrinking, no local constants, reused expansions, a private home.

Each is a context manager the run loop (:mod:`.runner`) enters around a check (or a run), so a
seed gives the same cases and verdicts wherever dlterms is installed and however it is run.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import Any

from .settings import MAX_SHRINK_STEPS

__all__ = [
    "EXPANSIONS_KEPT",
    "bounded_shrinking",
    "no_local_constants",
    "private_hypothesis_home",
    "reused_expansions",
]


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


# Expanded strategies a ``flatmap`` keeps (one per distinct drawn value) before it starts afresh.
EXPANSIONS_KEPT = 256
_PLAIN = (int, float, str, bool, type(None))


def _plain(value: Any) -> bool:
    """Whether ``value`` is built of ints, floats, strings, booleans, None and tuples only."""
    return isinstance(value, _PLAIN) or (isinstance(value, tuple) and all(_plain(v) for v in value))


@contextlib.contextmanager
def reused_expansions(kept: int = EXPANSIONS_KEPT) -> Iterator[None]:
    """Build the strategy that a ``flatmap`` makes of a drawn value once per value, not once per example.

    Most cases draw a shape and then ``flatmap`` it into the strategy of that shape's arrays.
    Hypothesis calls the builder again for every example, and then validates the new strategy
    object and works out its properties afresh: 12% of a PyTorch run (30.3 and 31.3 s against
    26.5 s of process time for a third of the checks, in alternating runs; every check's
    examples, choices and verdict identical). Within the block, each ``flatmap`` keeps what its
    builder returned for each drawn value (up to ``kept`` values, on the strategy object itself,
    so it goes with it) and draws from that object again: a strategy is an immutable value, so
    the same object draws the same cases. A value is looked up by its ``repr``, so ``1``, ``1.0``,
    ``True`` and ``-0.0``, ``0.0`` stay apart; values that are not made of ints, floats, strings,
    booleans, None and tuples (a drawn list or dict) are built anew, as before. A builder must
    depend on its drawn value alone, as every case strategy of dlterms does. Hypothesis has no
    public setting for this; ``FlatMapStrategy.do_draw`` is replaced for the block and restored after.
    """
    from hypothesis.strategies._internal.flatmapped import FlatMapStrategy
    from hypothesis.strategies._internal.strategies import check_strategy

    previous = FlatMapStrategy.do_draw

    def do_draw(self: Any, data: Any) -> Any:
        value = data.draw(self.base)
        if not _plain(value):
            expanded = self.expand(value)
        else:
            built = self.__dict__.setdefault("_dlterms_expansions", {})
            key = repr(value)
            expanded = built.get(key)
            if expanded is None:
                if len(built) >= kept:
                    built.clear()
                expanded = built[key] = self.expand(value)
        check_strategy(expanded)
        return data.draw(expanded)

    FlatMapStrategy.do_draw = do_draw
    try:
        yield
    finally:
        FlatMapStrategy.do_draw = previous


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
