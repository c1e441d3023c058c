"""Runtime citations: off by default, recorded inside citing.record(), forwarded to duecredit when present."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from typing import Any

import dlterms.reference as reference
import pytest
from dlterms.reference import activations

from dlterms import citing
from dlterms.fingerprint import fingerprint

ORIGINAL_SOFTMAX = reference.softmax


@pytest.fixture(autouse=True)
def _clean() -> Any:
    citing.reset()
    yield
    while citing.is_recording():
        citing.disable()
    citing.reset()


def test_recording_is_off_by_default() -> None:
    """Without record() the reference functions are the originals and calling them records nothing."""
    assert reference.softmax is ORIGINAL_SOFTMAX and activations.softmax is ORIGINAL_SOFTMAX
    reference.softmax([1.0, 2.0])
    assert citing.used_citations() == []


def test_record_lists_the_terms_and_papers_behind_the_functions_called() -> None:
    """softmax and sigmoid called inside record() give their terms, Bridle (1990) and Rumelhart et al. (1986)."""
    with citing.record():
        reference.softmax([1.0, 2.0])
        reference.softmax([3.0])
        activations.sigmoid(0.5)
    used = {u.function: u for u in citing.used_citations()}
    assert set(used) == {"dlterms.reference.softmax", "dlterms.reference.sigmoid"}
    softmax = used["dlterms.reference.softmax"]
    assert softmax.calls == 2 and softmax.terms == ("dlterms:softmax",)
    assert softmax.papers == ("bridle1990probabilistic",)
    assert softmax.links == ("https://doi.org/10.1007/978-3-642-76153-9_28",)
    assert used["dlterms.reference.sigmoid"].terms == ("dlterms:sigmoid",)
    assert "rumelhart1986learning" in used["dlterms.reference.sigmoid"].papers


def test_a_vjp_cites_the_term_of_its_op() -> None:
    """softmax_vjp is cited as the softmax term (the backward pass belongs to the op)."""
    with citing.record():
        reference.softmax_vjp([1.0, 2.0], [1.0, 0.0])
    (used,) = citing.used_citations()
    assert used.function == "dlterms.reference.softmax_vjp" and used.terms == ("dlterms:softmax",)


def test_recording_changes_no_result_and_is_undone_on_exit() -> None:
    """Results are identical while recording; afterwards the originals are back and nothing more is recorded."""
    expected = ORIGINAL_SOFTMAX([0.5, -1.0, 2.0])
    with citing.record():
        assert reference.softmax is not ORIGINAL_SOFTMAX
        assert reference.softmax([0.5, -1.0, 2.0]) == expected
        assert reference.softmax.__wrapped__ is ORIGINAL_SOFTMAX
    assert reference.softmax is ORIGINAL_SOFTMAX and activations.softmax is ORIGINAL_SOFTMAX
    reference.log_softmax([1.0])
    assert [u.function for u in citing.used_citations()] == ["dlterms.reference.softmax"]


def test_recording_nests_and_restores_only_after_the_outer_block() -> None:
    """An inner record() leaves the outer one recording; fingerprints ignore the wrappers."""
    outside = fingerprint("softmax")
    with citing.record():
        with citing.record(reset_first=False):
            reference.softmax([1.0])
        reference.sigmoid(1.0)
        assert fingerprint("softmax") == outside
    assert [u.function for u in citing.used_citations()] == ["dlterms.reference.softmax", "dlterms.reference.sigmoid"]
    assert reference.softmax is ORIGINAL_SOFTMAX


def test_calls_between_reference_functions_are_recorded() -> None:
    """cross_entropy computes through log_softmax (losses.py imports it): both are recorded, in call order."""
    losses = sys.modules["dlterms.reference.losses"]
    assert losses.log_softmax is activations.log_softmax  # the call goes through the module's global
    with citing.record():
        reference.cross_entropy([[1.0, 2.0]], [1])
    functions = [u.function for u in citing.used_citations()]
    assert functions == ["dlterms.reference.cross_entropy", "dlterms.reference.log_softmax"]


@pytest.mark.parametrize("site", ["https://dlterms.test/", None], ids=["site-set", "no-site"])
def test_duecredit_receives_each_paper_with_the_function_path(
    monkeypatch: pytest.MonkeyPatch, site: str | None
) -> None:
    """With duecredit importable, the term's page (when DLTERMS_SITE_URL is set) and its papers' DOIs go to
    due.cite(path=dlterms.reference.<fn>)."""
    if site:
        monkeypatch.setenv(citing.SITE_URL_VARIABLE, site)
    else:
        monkeypatch.delenv(citing.SITE_URL_VARIABLE, raising=False)
    cited: list[tuple[str, str, dict[str, Any]]] = []

    class Entry:
        def __init__(self, value: str) -> None:
            self.value = value

    class Doi(Entry): ...

    class Url(Entry): ...

    class BibTeX(Entry): ...

    class Due:
        def cite(self, entry: Entry, **kwargs: Any) -> None:
            cited.append((type(entry).__name__, entry.value, kwargs))

    fake = types.ModuleType("duecredit")
    fake.Doi, fake.Url, fake.BibTeX, fake.due = Doi, Url, BibTeX, Due()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "duecredit", fake)
    with citing.record():
        reference.softmax([1.0])
        reference.softmax([2.0])  # forwarded once per function
    page = [("Url", f"{site}terms/softmax/")] if site else []
    assert [(kind, value) for kind, value, _ in cited] == [*page, ("Doi", "10.1007/978-3-642-76153-9_28")]
    assert {kw["path"] for _, _, kw in cited} == {"dlterms.reference.softmax"}
    assert "dlterms:softmax" in cited[-1][2]["description"]


def test_no_import_switches_recording_on() -> None:
    """Importing dlterms, dlterms.citing and dlterms.reference (even with the retired DLTERMS_RECORD_CITATIONS=1)
    wraps no reference function and records no call: only enable()/record() start recording."""
    code = (
        "import json, dlterms, dlterms.citing as c, dlterms.reference as r\n"
        "from dlterms.reference import activations as a\n"
        "wrapped = [n for n in r.__all__ if hasattr(getattr(r, n), '__wrapped__')]\n"
        "r.softmax([0.0]); r.tanh(0.0)\n"
        "print(json.dumps([wrapped, r.softmax is a.softmax, c.is_recording(), len(c.used_citations())]))\n"
    )
    env = {**os.environ, "DLTERMS_RECORD_CITATIONS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[], True, False, 0]


def test_is_recording_follows_enable_and_disable() -> None:
    """is_recording() is false before enable(), true while any enable() is unmatched, false after the last disable()."""
    assert not citing.is_recording()
    citing.enable()
    citing.enable()
    citing.disable()
    assert citing.is_recording()
    citing.disable()
    assert not citing.is_recording()
