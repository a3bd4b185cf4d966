"""What the README says of the contract suite and its tools is what they do: the clause table names every check,
the missing-extra line is the real one, and the HAR size of a 20,000-case fuzz run is the one measured."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest

from callback_kit.cli import CONTRACT_EXTRA, main
from callback_kit.contract_tests.registry import all_checks

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def clause_table() -> str:
    start = README.index("| clause of the contract | the check that judges it |")
    return README[start : README.index("\n\n", start)]


def test_every_check_of_a_clause_is_in_the_readmes_clause_table() -> None:
    """Each registered check but the probe's and Schemathesis' rows is named against its clause."""
    table = clause_table()
    unnamed = [
        c.label for c in all_checks() if c.group not in ("startup", "schemathesis") and f"`{c.label}`" not in table
    ]
    assert not unnamed, unnamed


def test_the_readme_shows_the_real_missing_extra_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The line the README quotes is the one `callback-kit contract` prints when none of the extra is installed."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name in CONTRACT_EXTRA else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert main(["contract", "--base-url", "http://127.0.0.1:9"], environ={}) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("callback-kit contract: needs the contract extra ("), line
    assert line in " ".join(README.split())


def test_the_readmes_har_size_of_20000_fuzz_cases_is_the_measured_one(tmp_path: Path) -> None:
    """2,000 cases' HAR, times ten, is within 3% of the size the README gives for 20,000."""
    command = [
        sys.executable,
        "-m",
        "callback_kit",
        "fuzz",
        "--count",
        "2000",
        "--out",
        str(tmp_path),
        "--formats",
        "har",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    measured = (tmp_path / "cases.har").stat().st_size * 10 / 1e6
    said = re.search(r"no (\d+) MB HAR", README)
    assert said is not None
    assert abs(int(said.group(1)) - measured) / measured < 0.03, (said.group(1), measured)
