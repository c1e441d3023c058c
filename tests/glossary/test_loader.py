"""The glossary loader accepts the real entries and refuses bad ones, naming the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dlterms.glossary import GLOSSARY_DIR, GlossaryError, get_term, load_sections, load_terms

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


def _bare_sigmoid() -> str:
    """sigmoid.toml without its pictures and related terms (so that it loads alone)."""
    import re

    return re.sub(r"related = \[[^\]]*\]", "related = []", GOOD.split("[[picture]]")[0]).rstrip() + "\n"


def _picture_entry(tmp_path: Path, table: str) -> Path:
    """A glossary folder whose only entry is sigmoid.toml with ``table`` as its pictures."""
    return _glossary_with(tmp_path, _bare_sigmoid() + "\n" + table)


def test_picture_tables_are_read_in_order_with_their_parameters(tmp_path: Path) -> None:
    """[[picture]] tables become Picture records in file order; omitted stride/padding read 1 and 0."""
    directory = _picture_entry(
        tmp_path,
        '[[picture]]\nkind = "convolution"\npadding = 1\n\n[[picture]]\nkind = "rnn"\nvariant = "many-to-one"\n',
    )
    pictures = load_terms.__wrapped__(directory)["sigmoid"].pictures
    assert [(p.kind, p.stride, p.padding, p.variant) for p in pictures] == [
        ("convolution", 1, 1, ""),
        ("rnn", 1, 0, "many-to-one"),
    ]


def test_entry_without_picture_has_none() -> None:
    """An entry that declares no [[picture]] gets an empty tuple (the site then draws the related-terms map)."""
    assert get_term("bias").pictures == ()


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ('[[picture]]\nkind = "histogram"\n', "'picture[0].kind'"),
        ('[[picture]]\nkind = "descent"\nvariant = "full"\n', "'picture[0].variant'"),
        ('[[picture]]\nkind = "descent"\n', "'picture[0].variant'"),
        ('[[picture]]\nkind = "curves"\n', "'picture[0].functions'"),
        ('[[picture]]\nkind = "convolution"\nstride = 0\n', "'picture[0].stride'"),
        ('[[picture]]\nkind = "convolution"\npadding = -1\n', "'picture[0].padding'"),
        ('[[picture]]\nkind = "curves"\nfunctions = ["relu"]\nstride = 2\n', "'picture[0].stride'"),
        ('picture = "convolution"\n', "'picture'"),
    ],
)
def test_bad_picture_is_refused_naming_the_field(tmp_path: Path, table: str, field: str) -> None:
    """An unknown kind, a variant or parameter the kind lacks, or a bad value raises GlossaryError naming it."""
    if table.startswith("[["):
        directory = _picture_entry(tmp_path, table)
    else:  # a plain key must come before the first table of the file
        directory = _glossary_with(tmp_path, table + _bare_sigmoid())
    with pytest.raises(GlossaryError) as info:
        load_terms.__wrapped__(directory)
    assert "sigmoid.toml" in str(info.value) and field in str(info.value)


def test_related_names_are_never_names_of_the_term_itself(tmp_path: Path) -> None:
    """A related_names entry that is also the term's name or alias is refused, naming the field and the name."""
    aliases = next(line for line in GOOD.splitlines() if line.startswith("aliases = ["))
    bad = GOOD.replace(aliases, aliases + '\nrelated_names = ["logit", "Logistic Function"]', 1)
    assert bad != GOOD
    with pytest.raises(GlossaryError, match=r"field 'en\.related_names'.*'Logistic Function'"):
        load_terms(_glossary_with(tmp_path, bad))


def test_variants_hold_no_related_concept() -> None:
    """Names the issue found among variants (log-softmax, 卷积层, 全局最小值, 凸函数, 鞍点) are related names; BPTT,
    once among the RNN's, is the alias of its own entry now and no name of the RNN's at all."""
    terms = load_terms()
    moved = {"softmax": "对数softmax", "convolution": "卷积层", "local-minimum": "全局最小值"}
    for term_id, name in moved.items():
        t = terms[term_id]
        assert name in t.related_words() and name not in t.search_words(), term_id
    assert {"凸函数", "鞍点"} <= set(terms["local-minimum"].zh.related_names)
    rnn, bptt = terms["recurrent-neural-network"], terms["backpropagation-through-time"]
    assert "BPTT" in bptt.search_words()
    assert "BPTT" not in rnn.search_words() and "BPTT" not in rnn.related_words()


def test_sections_of_the_seed_come_first_and_added_ones_have_no_seed_heading() -> None:
    """sections.toml lists the seed's eight sections (each with its heading), then training, normalization and
    attention."""
    sections = load_sections()
    assert [s.id for s in sections if s.seed is not None][-1] == "rnn"
    assert [s.id for s in sections if s.seed is None] == ["training", "normalization", "attention"]
    assert [s.seed is None for s in sections] == sorted(s.seed is None for s in sections)
    assert [s.order for s in sections] == list(range(len(sections)))


def _sections_with(tmp_path: Path, extra: str) -> Path:
    """A glossary folder whose sections.toml is the real one followed by ``extra``."""
    (tmp_path / "terms").mkdir()
    text = (GLOSSARY_DIR / "sections.toml").read_text(encoding="utf-8")
    (tmp_path / "sections.toml").write_text(text + extra, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('\n[[section]]\nid = "late"\nen = "Late"\nzh = "迟"\nseed = "迟"\n', "'section[{n}].seed'"),
        ('\n[[section]]\nid = "odd"\nen = "Odd"\nzh = "奇"\nheading = "奇"\n', "'section[{n}].heading'"),
        ('\n[[section]]\nid = "blank"\nen = "Blank"\nzh = "空"\nseed = ""\n', "'section[{n}].seed'"),
    ],
)
def test_bad_section_is_refused_naming_the_field(tmp_path: Path, extra: str, field: str) -> None:
    """A seed section after an added one, an unknown key or an empty seed heading raises GlossaryError naming it."""
    with pytest.raises(GlossaryError) as info:
        load_sections.__wrapped__(_sections_with(tmp_path, extra))
    field = field.format(n=len(load_sections()))  # the extra section's index: after every real one
    assert "sections.toml" in str(info.value) and field in str(info.value)


def test_an_added_section_reads_without_seed_heading(tmp_path: Path) -> None:
    """A section without `seed` after the seed's loads, with seed None, in file order."""
    extra = '\n[[section]]\nid = "extra"\nen = "Extra"\nzh = "附加"\n'
    sections = load_sections.__wrapped__(_sections_with(tmp_path, extra))
    assert (sections[-1].id, sections[-1].seed, sections[-1].order) == ("extra", None, len(sections) - 1)


def test_no_index_name_is_a_case_twin_of_its_term_name() -> None:
    """No English alias or Chinese variant differs from its term's name by letter case only.

    The indexes list each such pair once, so the twin would be missing from them (GeLU and Dropout were).
    """
    for t in load_terms().values():
        for name, others in ((t.en.name, t.en.aliases), (t.zh.name, t.zh.variants)):
            twins = [o for o in others if o != name and o.casefold() == name.casefold()]
            assert not twins, f"{t.id}: {twins} differ from {name!r} by case only"
