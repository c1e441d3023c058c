"""dlterms.site.generate: the same pages as the MkDocs build, one per term, into any folder, safely."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dlterms.glossary import load_terms

from dlterms.site import generate

if TYPE_CHECKING:
    from conftest import BuiltSite

REPO = Path(__file__).resolve().parents[2]
TERMS = load_terms()


def test_generate_writes_the_pages_the_mkdocs_build_uses(site: BuiltSite, fake_reports: Path, tmp_path: Path) -> None:
    """generate() writes one page per term, byte-equal to docs/terms/ as the MkDocs build left it."""
    written = generate(tmp_path, fake_reports)
    pages = sorted(p.stem for p in tmp_path.glob("*.md") if not p.stem.startswith("index"))
    assert pages == sorted(TERMS)
    built = REPO / "docs" / "terms"
    for path in written:
        rel = path.relative_to(tmp_path)
        assert path.read_bytes() == (built / rel).read_bytes(), rel
    assert {p.relative_to(tmp_path) for p in written} >= {Path("index.md"), Path("index-en.md"), Path("index-zh.md")}


def test_generate_keeps_files_it_did_not_write_and_removes_its_own_stale_ones(tmp_path: Path) -> None:
    """A file that was in the folder before survives; a page listed by an earlier run and not rewritten goes."""
    (tmp_path / "notes.md").write_text("mine", encoding="utf-8")
    generate(tmp_path, tmp_path / "no-reports")
    stale = tmp_path / "removed-term.md"
    stale.write_text("old page", encoding="utf-8")
    manifest = tmp_path / ".dlterms-generated"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "removed-term.md\n", encoding="utf-8")
    generate(tmp_path, tmp_path / "no-reports")
    assert (tmp_path / "notes.md").read_text(encoding="utf-8") == "mine"
    assert not stale.exists()
    assert "removed-term.md" not in manifest.read_text(encoding="utf-8").split()


def test_importing_dlterms_does_not_import_the_site_generator() -> None:
    """`import dlterms` (and the glossary) leaves dlterms.site, matplotlib and mkdocs unimported."""
    code = (
        "import sys, dlterms, dlterms.glossary; "
        "print(sorted(m for m in sys.modules if m.startswith(('dlterms.site', 'matplotlib', 'mkdocs'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
