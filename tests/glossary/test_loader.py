"""The glossary loader accepts the real entries and refuses bad ones, naming the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dlterms.glossary import GLOSSARY_DIR, GlossaryError, get_term, load_terms

GOOD = (GLOSSARY_DIR / "terms" / "sigmoid.toml").read_text(encoding="utf-8")


def test_every_entry_loads_with_both_languages() -> None:
    """Every term file parses, with an English and a Chinese name and definition."""
    terms = load_terms()
    assert len(terms) == len(list((GLOSSARY_DIR / "terms").glob("*.toml")))
    for t in terms.values():
        assert t.en.name and t.en.definition and t.zh.name and t.zh.definition and t.zh.name_source


def test_mistranslations_carry_a_correction_in_both_languages() -> None:
    """An entry that flags the seed's wording as wrong explains the error in English and Chinese."""
    flagged = [t for t in load_terms().values() if t.seed and t.seed.mistranslation]
    assert any(t.id == "sigmoid" for t in flagged)
    for t in flagged:
        assert t.seed.correction_en and t.seed.correction_zh


def test_get_term_accepts_the_stable_id_and_suggests_close_ids() -> None:
    """`dlterms:softmax` resolves; a typo gets the closest ids in the error."""
    assert get_term("dlterms:softmax").id == "softmax"
    with pytest.raises(KeyError, match="did you mean softmax"):
        get_term("sotfmax")


def _glossary_with(tmp_path: Path, text: str, name: str = "sigmoid.toml") -> Path:
    (tmp_path / "terms").mkdir()
    shutil.copy(GLOSSARY_DIR / "sections.toml", tmp_path / "sections.toml")
    (tmp_path / "terms" / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.replace('kind = "function"', 'kind = "operator"'), "'kind'"),
        (lambda s: s.replace('section = "activation-functions"', 'section = "nowhere"'), "'section'"),
        (lambda s: s.replace('version = "1.0.0"', 'version = "one"'), "'version'"),
        (lambda s: s.replace('reference = ["sigmoid"]', "reference = []"), "'reference'"),
        (lambda s: s.replace('name = "sigmoid函数"', 'name = ""'), "'zh.name'"),
        (lambda s: s.replace("mistranslation = true", 'mistranslation = "yes"'), "'seed.mistranslation'"),
        (lambda s: s.replace('id = "sigmoid"', 'id = "logistic"'), "'id'"),
        (lambda s: "unknown_field = 1\n" + s, "'unknown_field'"),
        (lambda s: s.replace("related = [", 'related = ["no-such-term", '), "'related'"),
        (lambda s: s.replace("order = 2", "order = [2"), "not valid TOML"),
    ],
)
def test_bad_entry_is_refused_naming_file_and_field(tmp_path: Path, mutate, field: str) -> None:
    """Each schema violation raises GlossaryError with the file path and the field name."""
    directory = _glossary_with(tmp_path, mutate(GOOD))
    # related ids must exist: keep only the entry itself valid otherwise
    text = (directory / "terms" / "sigmoid.toml").read_text(encoding="utf-8")
    if field != "'related'":
        import re

        text = re.sub(r"related = \[[^\]]*\]", "related = []", text)
        (directory / "terms" / "sigmoid.toml").write_text(text, encoding="utf-8")
    with pytest.raises(GlossaryError) as info:
        load_terms.__wrapped__(directory)
    message = str(info.value)
    assert "sigmoid.toml" in message
    assert field in message
