"""The command line's core: stdlib-only imports, one-line errors for a missing extra, usage errors only where meant."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dlterms.cli import main
from dlterms.commands import UsageError, needs_extra


def _imported_modules(code: str, cwd: Path) -> set[str]:
    """The modules that ``python -X importtime -c code`` imports, start-up included (failed attempts left out)."""
    marker = "--- sys.modules ---"
    script = f"{code}\nimport sys\nprint({marker!r}, *sys.modules, sep='\\n')"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("import time:") and "|" in ln]
    timed = {ln.rsplit("|", 1)[1].strip() for ln in lines}
    loaded = set(proc.stdout.split(marker, 1)[1].split())  # `import org.python.core` in copy.py fails, for one
    return timed & loaded


def test_core_and_show_import_only_the_standard_library(tmp_path: Path) -> None:
    """Importing dlterms, its reference, glossary and CLI and running `dlterms show softmax` imports no third party."""
    start_up = _imported_modules("pass", tmp_path)  # site hooks (.pth files) are not dlterms' doing
    used = _imported_modules(
        "import dlterms, dlterms.reference, dlterms.glossary, dlterms.cli; dlterms.cli.main(['show', 'softmax'])",
        tmp_path,
    )
    outside = sorted(m for m in used - start_up if m.partition(".")[0] not in (*sys.stdlib_module_names, "dlterms"))
    assert "dlterms.cli" in used
    assert outside == []


def test_missing_third_party_module_names_the_extra() -> None:
    """A third-party module missing while a command imports its modules becomes one line naming the extra."""
    expected = r"needs the 'conformance' extra \(numpy is not installed\): pip install 'dlterms\[conformance\]'"
    with pytest.raises(UsageError, match=expected), needs_extra("conformance"):
        raise ModuleNotFoundError("No module named 'numpy'", name="numpy")


def test_missing_dlterms_module_is_not_blamed_on_an_extra() -> None:
    """A dlterms module that cannot be imported is a bug, raised as it is."""
    with pytest.raises(ModuleNotFoundError), needs_extra("docs"):
        raise ModuleNotFoundError("No module named 'dlterms.nothing'", name="dlterms.nothing")


def test_only_eval_turns_a_value_error_into_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ValueError from the glossary inside `show` is a bug and propagates; the same refusal in `eval` is exit 2."""
    import dlterms.glossary

    def broken(term: str) -> None:
        raise ValueError("a broken glossary entry")

    monkeypatch.setattr(dlterms.glossary, "get_term", broken)
    with pytest.raises(ValueError, match="a broken glossary entry"):
        main(["show", "softmax"])
    assert main(["eval", "softmax", '"abc"']) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlterms eval: error: softmax") and err.count("\n") == 1


def test_malformed_access_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`dlterms cite --accessed 2025-13-01` names the option and the value, exit 2."""
    assert main(["cite", "softmax", "--accessed", "2025-13-01"]) == 2
    assert "--accessed '2025-13-01': expected a date YYYY-MM-DD" in capsys.readouterr().err
