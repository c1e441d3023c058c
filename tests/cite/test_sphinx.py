"""The Sphinx extension and the site's objects.inv: a small project builds with -W and its links reach term pages."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import dlterms.reference as reference
import pytest
from dlterms.glossary import load_terms
from sphinx.util.inventory import InventoryFile

from dlterms import citing

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://dlterms.test/"  # the site's address, as a Sphinx project sets it (dlterms_base_url)
DAY = "2025-01-31"


def load_hook():
    spec = importlib.util.spec_from_file_location("objects_inv_hook", ROOT / "docs" / "hooks" / "objects_inv.py")
    assert spec and spec.loader
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


class Links(HTMLParser):
    """Every <a href> of a page, with its title attribute, classes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and dict(attrs).get("href"):
            a = {k: v or "" for k, v in attrs}
            self._open = {"href": a["href"], "title": a.get("title", ""), "class": a.get("class", ""), "text": ""}
            self.links.append(self._open)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None


def term_page(href: str) -> str | None:
    """The term id a site URL points at (``.../terms/<id>/#<id>``), or None."""
    parts = urlsplit(href)
    m = re.fullmatch(r"/terms/([a-z0-9-]+)/", parts.path)
    if not (href.startswith(BASE) and m and m[1] in load_terms()):
        return None
    assert parts.fragment in ("", m[1]), href
    return m[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder with the objects.inv the MkDocs hook writes."""
    site_dir = tmp_path_factory.mktemp("site")
    load_hook().on_post_build({"site_dir": str(site_dir), "use_directory_urls": True})
    return site_dir


def build(tmp_path: Path, inventory: Path, body: str) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "conf.py").write_text(
        textwrap.dedent(f"""
            project = "uses dlterms"
            extensions = ["dlterms.sphinx", "sphinx.ext.intersphinx"]
            intersphinx_mapping = {{"dlterms": ({BASE!r}, {str(inventory)!r})}}
            intersphinx_cache_limit = 0
            dlterms_accessed = {DAY!r}
            dlterms_base_url = {BASE!r}
            html_theme = "basic"
        """),
        encoding="utf-8",
    )
    (src / "index.rst").write_text("Notes\n=====\n\n" + textwrap.dedent(body), encoding="utf-8")
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "-E", "-q", "-b", "html", str(src), str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, site: Path) -> list[dict[str, str]]:
    """The links of a Sphinx page that uses the role, the directive and intersphinx (built with -W, offline)."""
    tmp = tmp_path_factory.mktemp("sphinx")
    done = build(
        tmp,
        site / "objects.inv",
        """
        The :dlterm:`softmax` turns logits into probabilities; :dlterm:`the logistic curve <sigmoid>` too.

        Intersphinx: :term:`softmax`, :term:`softmax函数`, :term:`softmax function` and
        :py:func:`dlterms.reference.softmax`.

        .. dlterm-citation:: softmax

        .. dlterm-citation:: softmax
           :format: bibtex
        """,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    html = (tmp / "html" / "index.html").read_text(encoding="utf-8")
    text = unescape(re.sub(r"<[^>]+>", "", html))
    assert "@misc{dlterms:softmax," in text and "@incollection{bridle1990probabilistic," in text  # the BibTeX block
    assert "Original paper:" in text  # the APA text
    parser = Links()
    parser.feed(html)
    return parser.links


def test_the_role_links_to_the_term_page_with_the_definition_as_tooltip(built: list[dict[str, str]]) -> None:
    """:dlterm:`softmax` is the term's name linked to /terms/softmax/, titled with its English definition."""
    softmax, sigmoid = load_terms()["softmax"], load_terms()["sigmoid"]
    roles = [a for a in built if "dlterm" in a["class"].split()]
    assert [(a["text"], a["href"]) for a in roles] == [
        (softmax.en.name, BASE + "terms/softmax/"),
        ("the logistic curve", BASE + "terms/sigmoid/"),
    ]
    assert roles[0]["title"] == " ".join(softmax.en.definition.split())
    assert roles[1]["title"] == " ".join(sigmoid.en.definition.split())


def test_intersphinx_terms_and_functions_resolve_to_the_site(built: list[dict[str, str]]) -> None:
    """:term: (English, Chinese, alias) and :py:func: resolve through objects.inv to the term and API pages."""
    hrefs = [a["href"] for a in built]
    assert hrefs.count(BASE + "terms/softmax/#softmax") == 3
    assert BASE + "api/reference/#dlterms.reference.softmax" in hrefs


def test_every_site_link_of_the_page_reaches_an_existing_term(built: list[dict[str, str]]) -> None:
    """Each link into /terms/ names a term of the glossary (and its own anchor)."""
    to_terms = [a["href"] for a in built if "/terms/" in a["href"]]
    assert len(to_terms) >= 6  # 2 roles, 3 :term:, the citation's URL
    assert all(term_page(h) for h in to_terms), to_terms


def test_the_citation_directive_renders_the_apa_text_with_links(built: list[dict[str, str]]) -> None:
    """The directive's APA text links the term page and the paper's DOI."""
    hrefs = [a["href"] for a in built]
    assert BASE + "terms/softmax/" in hrefs
    assert "https://doi.org/10.1007/978-3-642-76153-9_28" in hrefs


def test_an_unknown_term_fails_the_build_naming_the_closest_ids(tmp_path: Path, site: Path) -> None:
    """:dlterm:`sofmax` is an error under -W that suggests softmax."""
    done = build(tmp_path, site / "objects.inv", "A :dlterm:`sofmax` typo.\n")
    assert done.returncode != 0
    assert "unknown term 'sofmax'" in done.stderr and "softmax" in done.stderr


def test_objects_inv_has_every_name_of_every_term_and_every_reference_function(site: Path) -> None:
    """Sphinx reads the inventory: std:term per name/alias/variant -> terms/<id>/#<id>; py:function per function."""
    inv = InventoryFile.loads((site / "objects.inv").read_bytes(), uri=BASE)
    data = inv.data if hasattr(inv, "data") else inv
    terms = {name.lower(): item.uri if hasattr(item, "uri") else item[2] for name, item in data["std:term"].items()}
    for t in load_terms().values():
        for name in (t.id, t.en.name, *t.en.aliases, t.zh.name, *t.zh.variants, *t.zh.aliases):
            assert term_page(terms[" ".join(name.split()).lower()]), (t.id, name)
        assert terms[t.en.name.lower()] == f"{BASE}terms/{t.id}/#{t.id}"
    functions = data["py:function"]
    for name in reference.__all__:
        item = functions[f"dlterms.reference.{name}"]
        uri = item.uri if hasattr(item, "uri") else item[2]
        assert uri == f"{BASE}api/reference/#dlterms.reference.{name}"


def test_the_hook_writes_objects_inv_atomically_and_readable(tmp_path: Path) -> None:
    """on_post_build leaves exactly objects.inv (no temporary file), world-readable, v2 header, zlib body."""
    load_hook().on_post_build({"site_dir": str(tmp_path), "use_directory_urls": False})
    assert [p.name for p in tmp_path.iterdir()] == ["objects.inv"]
    path = tmp_path / "objects.inv"
    assert path.stat().st_mode & 0o044 == 0o044
    data = path.read_bytes()
    assert data.startswith(b"# Sphinx inventory version 2\n# Project: dlterms\n")
    assert data == citing.objects_inv(directory_urls=False)
    assert b"terms/softmax.html#softmax" in __import__("zlib").decompress(data.split(b"zlib.\n", 1)[1])


def test_mkdocs_yml_runs_the_hook() -> None:
    """mkdocs.yml lists docs/hooks/objects_inv.py under hooks, once (twice would write objects.inv twice)."""
    mkdocs = ROOT / "mkdocs.yml"
    if not mkdocs.exists():
        pytest.skip("mkdocs.yml not written yet")
    text = mkdocs.read_text(encoding="utf-8")
    assert re.search(r"^hooks:\n(?:\s+-.*\n)*\s+- docs/hooks/objects_inv\.py", text, re.M)
    assert text.count("docs/hooks/objects_inv.py") == 1
