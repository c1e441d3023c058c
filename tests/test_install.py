"""A release that installs: the sdist and wheel hold their data, and the bare wheel works in a fresh venv.

The distributions are built once per session (``python -m build --no-isolation``,
the wheel from the sdist) and the wheel is installed once, without its extras
and offline, into a fresh venv that every test below reuses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]

# What the issue requires a release to hold, as paths inside the installed package.
TERM_FILES = sorted(f"dlterms/glossary/terms/{p.name}" for p in (ROOT / "glossary" / "terms").glob("*.toml"))
DATA = [
    *TERM_FILES,
    "dlterms/glossary/sections.toml",
    "dlterms/glossary/citations.bib",
    "dlterms/glossary/fingerprints.json",
    "dlterms/conformance/report.schema.json",
    "dlterms/py.typed",
]


def _source_path(installed: str) -> str:
    """The repository path of a file the wheel installs as ``installed`` (through [tool.setuptools] package-dir)."""
    parts = installed.split("/")
    for n in range(len(parts) - 1, 0, -1):
        dotted = ".".join(parts[:n])
        if dotted in SETUPTOOLS["package-dir"]:
            return "/".join([SETUPTOOLS["package-dir"][dotted], *parts[n:]])
    return installed


def _package_folders() -> dict[str, Path]:
    """Every folder with an ``__init__.py`` under the mapped source folders, by the dotted name it installs as."""
    found = {}
    for package, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(ROOT / folder).parts
            found[".".join([package, *rel])] = init.parent
    return found


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """A package folder missing from [tool.setuptools] packages would be left out of the wheel: none is missing."""
    missing = sorted(set(_package_folders()) - set(SETUPTOOLS["packages"]))
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_listed_package_has_a_folder() -> None:
    """Each package named in pyproject.toml exists with an __init__.py (else the build fails)."""
    assert sorted(set(SETUPTOOLS["packages"]) - set(_package_folders())) == []


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built once (the wheel from the sdist, as pip would)."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sdist,) = out.glob("dlterms-*.tar.gz")
    (wheel,) = out.glob("dlterms-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_wheel_holds_the_glossary_data_the_schema_and_py_typed(dist: dict[str, Path]) -> None:
    """The wheel has every term file, the sections, bibliography, fingerprints, report schema and py.typed."""
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    assert [p for p in DATA if p not in names] == []


def test_sdist_holds_the_glossary_data_the_schema_and_py_typed(dist: dict[str, Path]) -> None:
    """The sdist has the same files, at their repository paths."""
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert [p for p in DATA if _source_path(p) not in names] == []


@pytest.fixture(scope="session")
def bare(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel alone installed (no extras, no index): its bin/ (Scripts/ on Windows) folder."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--no-deps",
         "--disable-pip-version-check", str(dist["wheel"])],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return bindir


def _run(bare: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DLTERMS_"))}
    return subprocess.run(
        [str(bare / argv[0]), *argv[1:]], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("dlterms", "--version"), f"dlterms {PYPROJECT['project']['version']}"),
        (("dlterms", "terms"), "softmax"),
        (("dlterms", "show", "softmax"), "dlterms:softmax"),
        (("dlterms", "cite", "softmax"), "@misc{"),
        (("dlterms", "eval", "softmax", "[1, 2, 3]"), "0.6652409557748"),  # e^3 / (e + e^2 + e^3)
        (("python", "-c", "import dlterms, dlterms.reference, dlterms.glossary; print('imported')"), "imported"),
    ],
    ids=["version", "terms", "show", "cite", "eval", "import"],
)
def test_core_command_works_in_a_bare_install(bare: Path, tmp_path: Path, argv: tuple[str, ...], expected: str) -> None:
    """With no extra installed (so no numpy, Hypothesis or framework), the glossary commands run and exit 0."""
    proc = _run(bare, *argv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout


@pytest.mark.parametrize(
    "argv",
    [("conform", "--backend", "reference"), ("conventions",), ("report", "merge", "a.json", "-o", "b.json")],
    ids=["conform", "conventions", "report-merge"],
)
def test_conformance_command_in_a_bare_install_names_the_extra(
    bare: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """Without the conformance extra, its commands say in one line which extra to install, and exit 2."""
    proc = _run(bare, "dlterms", *argv, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"dlterms {argv[0]}: error: ")
    assert "'conformance' extra" in proc.stderr and "pip install 'dlterms[conformance]'" in proc.stderr
