"""CITATION.cff: valid Citation File Format 1.2.0, and the same facts as pyproject.toml and dlterms.citing."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

import dlterms
from dlterms import citing

ROOT = Path(__file__).resolve().parents[2]
CFF = ROOT / "CITATION.cff"
SCHEMA = json.loads((Path(__file__).parent / "data" / "cff-1.2.0.schema.json").read_text(encoding="utf-8"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_citation_cff_passes_cffconvert_validate() -> None:
    """`cffconvert --validate` accepts the repository's CITATION.cff."""
    if shutil.which("cffconvert") is None:
        pytest.skip("cffconvert is not installed (pip install cffconvert; it pins jsonschema<4)")
    done = subprocess.run(["cffconvert", "--validate", "-i", str(CFF)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout


def test_citation_cff_matches_the_cff_1_2_0_schema() -> None:
    """CITATION.cff validates against the CFF 1.2.0 JSON schema (the one cffconvert uses), without cffconvert."""
    jsonschema.validate(yaml.safe_load(CFF.read_text(encoding="utf-8")), SCHEMA)


def test_citation_cff_names_the_software_and_the_version_of_pyproject() -> None:
    """Title, version, licence, URL and authors agree with pyproject.toml, the installed package and citing."""
    cff = yaml.safe_load(CFF.read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["title"] == PYPROJECT["name"] == citing.TITLE
    assert cff["version"] == PYPROJECT["version"] == dlterms.__version__
    assert cff["license"] == PYPROJECT["license"]
    assert cff.get("url") == PYPROJECT.get("urls", {}).get("Documentation")  # the package's one address, if any
    assert cff["authors"] == [{"name": citing.AUTHOR}] == [{"name": a["name"]} for a in PYPROJECT["authors"]]
