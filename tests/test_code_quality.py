"""The project's own code passes its linters: ruff (lint, format) over everything, mypy (strict) over the packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_finds_nothing() -> None:
    """`ruff check .` is clean."""
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing() -> None:
    """`ruff format --check .` is clean: the tree is in the one formatting."""
    result = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_finds_nothing() -> None:
    """`mypy --strict` over the `callback_kit` package (the mock and the suite through it) is clean."""
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_shipped_spec_lints_clean(tmp_path: Path) -> None:
    """`callback-kit lint` accepts openapi.yaml and the spec the matcher profile derives from it."""
    assert run(sys.executable, "-m", "callback_kit", "lint").returncode == 0
    derived = run(sys.executable, "-m", "callback_kit", "spec", "--profile", "matcher")
    assert derived.returncode == 0, derived.stderr
    (tmp_path / "matcher.yaml").write_text(derived.stdout, encoding="utf-8")
    linted = run(sys.executable, "-m", "callback_kit", "lint", str(tmp_path / "matcher.yaml"))
    assert linted.returncode == 0, linted.stdout + linted.stderr
