"""Semantic fingerprints: what changes them, what does not, and the recorded release."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from dlterms.glossary import load_terms

from dlterms import fingerprint as fp

_counter = itertools.count()


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``module(source)`` imports ``source`` as a fresh ``dlterms.reference._fp_case_N`` module."""

    def load(source: str) -> ModuleType:
        name = f"dlterms.reference._fp_case_{next(_counter)}"
        path = tmp_path / f"{name.rsplit('.', 1)[1]}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, mod)
        spec.loader.exec_module(mod)
        return mod

    return load


BASE = '''
    import math

    SCALE = 2.0


    def _helper(v):
        return math.exp(v) * SCALE


    def op(x, axis=-1):
        """Doc."""
        return [_helper(v) for v in x]
'''


def test_canonical_text_of_a_tiny_function_is_the_hand_written_one(module) -> None:
    """The canonical text drops the docstring and annotations, keeps names, arguments, defaults and the body."""
    mod = module('''
        def f(x: float, y: int = 2) -> float:
            """Add."""
            return x + y  # a comment
    ''')
    expected_ast = (
        "FunctionDef(name=str:'f', args=arguments(args=[arg(arg=str:'x'), arg(arg=str:'y')], "
        "defaults=[Constant(value=int:2)]), body=[Return(value=BinOp(left=Name(id=str:'x'), op=Add(), "
        "right=Name(id=str:'y')))])"
    )
    assert fp.canonical_ast(mod.f) == expected_ast
    assert fp.canonical_signature(mod.f) == "(POSITIONAL_OR_KEYWORD x, POSITIONAL_OR_KEYWORD y=2)"
    text = "\n".join(
        ["dlterms.fingerprint/1", "def f(POSITIONAL_OR_KEYWORD x, POSITIONAL_OR_KEYWORD y=2)", expected_ast]
    )
    assert fp.fingerprint_callables([mod.f]) == (
        "sha256:" + hashlib.sha256(text.encode()).hexdigest(),
        [f"{mod.__name__}.f"],
    )


def test_docstrings_comments_annotations_and_layout_do_not_change_the_fingerprint(module) -> None:
    """Editing what is not semantics (docs, comments, type hints, formatting) keeps the fingerprint."""
    edited = module('''
        import math

        SCALE = 2.0  # the factor


        def _helper(v: float) -> float:
            """A helper with a new docstring."""
            # a new comment
            return (
                math.exp(v)
                * SCALE
            )


        def op(x: list[float], axis: int = -1) -> list[float]:
            """A completely rewritten docstring.

            .. math:: y = 2 e^x
            """
            return [_helper(v)
                    for v in x]
    ''')
    assert fp.fingerprint_callables([edited.op])[0] == fp.fingerprint_callables([module(BASE).op])[0]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("return [_helper(v) for v in x]", "return [_helper(-v) for v in x]"),  # the function's body
        ("return math.exp(v) * SCALE", "return math.exp(v) + SCALE"),  # a helper it calls
        ("SCALE = 2.0", "SCALE = 3.0"),  # a module constant a helper reads
        ("def op(x, axis=-1):", "def op(x, axis=0):"),  # a default value
        ("def op(x, axis=-1):", "def op(x, *, axis=-1):"),  # a parameter's kind
    ],
)
def test_a_change_of_semantics_changes_the_fingerprint(module, old: str, new: str) -> None:
    """A change to the body, a called helper, a constant it reads, a default or a parameter kind shows."""
    assert old in BASE
    changed = module(BASE.replace(old, new))
    assert fp.fingerprint_callables([changed.op])[0] != fp.fingerprint_callables([module(BASE).op])[0]


def test_softmax_fingerprint_covers_its_helpers_and_vjps_but_not_the_validation_choke_point() -> None:
    """softmax's fingerprint covers softmax, log_softmax, their VJPs and lane helpers, not _tensor."""
    softmax = load_terms()["softmax"]
    names = [f.__name__ for f in fp.term_functions(softmax)]
    assert names == ["softmax", "softmax_vjp", "log_softmax", "log_softmax_vjp"]
    _, covered = fp.fingerprint_callables(fp.term_functions(softmax))
    assert "dlterms.reference.activations._softmax_lane" in covered
    assert not [c for c in covered if c.startswith("dlterms.reference._tensor.")]


def test_concept_terms_have_no_fingerprint_and_function_terms_have_one() -> None:
    """A concept term fingerprints nothing (None); a function term gets "sha256:" and 64 hex digits."""
    for term in load_terms().values():
        value = fp.fingerprint(term)
        if term.kind == "concept":
            assert value is None, term.id
        else:
            assert value is not None and value.startswith("sha256:") and len(value) == 71, term.id


def test_the_recorded_fingerprints_match_the_glossary() -> None:
    """glossary/fingerprints.json matches every term: a changed reference needs a version bump and --update."""
    drifts = fp.check()
    assert not drifts, "\n".join(d.message for d in drifts)


def _record(tmp_path: Path, terms: dict[str, dict[str, object]]) -> Path:
    path = tmp_path / "fingerprints.json"
    path.write_text(json.dumps({"schema": "dlterms.fingerprints/1", "terms": terms}), encoding="utf-8")
    return path


def test_a_changed_fingerprint_under_the_same_version_blocks_and_says_what_to_do(tmp_path: Path) -> None:
    """Same version, other fingerprint: check() names the term, the file to edit and the command to run."""
    path = _record(tmp_path, {"softmax": {"version": "1.0.0", "fingerprint": "sha256:" + "0" * 64}})
    terms = {"softmax": load_terms()["softmax"]}
    assert terms["softmax"].version == "1.0.0"
    (drift,) = fp.check(terms, fp.load_record(path))
    assert drift.blocking
    for words in ("softmax", "glossary/terms/softmax.toml", "Bump `version`", "python -m dlterms.fingerprint --update"):
        assert words in drift.message
    before = path.read_text()
    assert fp.main(["--update", "--path", str(path)]) == 1  # refused ...
    assert path.read_text() == before  # ... and nothing written


def test_a_bumped_version_with_a_new_fingerprint_is_recorded_by_update(tmp_path: Path) -> None:
    """Version bumped (recorded 0.9.0): the stale record is not blocking and --update records the term."""
    path = _record(tmp_path, {"softmax": {"version": "0.9.0", "fingerprint": "sha256:" + "0" * 64}})
    terms = {"softmax": load_terms()["softmax"]}
    (drift,) = fp.check(terms, fp.load_record(path))
    assert not drift.blocking and "--update" in drift.message
    assert fp.main(["--update", "--path", str(path)]) == 0
    recorded = fp.load_record(path)
    assert set(recorded) == set(load_terms())
    assert recorded["softmax"] == {"version": "1.0.0", "fingerprint": fp.fingerprint("softmax")}
    assert fp.check(record=recorded) == []


def test_removed_terms_and_lowered_versions_block(tmp_path: Path) -> None:
    """A recorded term that is gone (IDs are stable) or whose version went down is refused."""
    terms = {"softmax": load_terms()["softmax"]}
    record = {
        "no-such-term": {"version": "1.0.0", "fingerprint": None},
        "softmax": {"version": "2.0.0", "fingerprint": fp.fingerprint("softmax")},
    }
    drifts = {d.term: d for d in fp.check(terms, record)}
    assert drifts["no-such-term"].blocking and "stable" in drifts["no-such-term"].message
    assert drifts["softmax"].blocking and "lower" in drifts["softmax"].message


def test_a_new_term_is_reported_as_not_recorded(tmp_path: Path) -> None:
    """A term missing from the record is stale (run --update), not a semantic change."""
    (drift,) = fp.check({"softmax": load_terms()["softmax"]}, {})
    assert not drift.blocking and "not recorded" in drift.message


def test_an_unknown_reference_function_is_named(tmp_path: Path) -> None:
    """A term naming a function dlterms.reference lacks gets an error naming it."""
    from dataclasses import replace

    bad = replace(load_terms()["softmax"], reference=("softmaxx",))
    with pytest.raises(LookupError, match=r"dlterms\.reference\.softmaxx"):
        fp.fingerprint(bad)


def test_a_record_made_with_another_algorithm_is_stale_not_a_semantic_change(tmp_path: Path) -> None:
    """Fingerprints of another algorithm cannot be compared: --update remakes them without a version bump."""
    path = tmp_path / "fingerprints.json"
    path.write_text(
        json.dumps(
            {
                "algorithm": "dlterms.fingerprint/0",
                "terms": {"softmax": {"version": "1.0.0", "fingerprint": "sha256:" + "0" * 64}},
            }
        ),
        encoding="utf-8",
    )
    terms = {"softmax": load_terms()["softmax"]}
    (drift,) = fp.check(terms, fp.load_record(path), fp.record_algorithm(path) or fp.ALGORITHM)
    assert not drift.blocking and "dlterms.fingerprint/0" in drift.message
    assert fp.main(["--update", "--path", str(path)]) == 0
    assert fp.record_algorithm(path) == fp.ALGORITHM
    assert fp.load_record(path)["softmax"]["fingerprint"] == fp.fingerprint("softmax")


def test_rebuild_remakes_an_unreleased_record_despite_blocking_drift(tmp_path: Path) -> None:
    """--rebuild ignores the old record (a changed fingerprint, a vanished term) and records the glossary."""
    path = _record(
        tmp_path,
        {
            "softmax": {"version": "1.0.0", "fingerprint": "sha256:" + "0" * 64},
            "never-shipped": {"version": "1.0.0", "fingerprint": None},
        },
    )
    assert fp.main(["--update", "--path", str(path)]) == 1
    assert fp.main(["--rebuild", "--path", str(path)]) == 0
    assert set(fp.load_record(path)) == set(load_terms())
    assert fp.check(record=fp.load_record(path)) == []
