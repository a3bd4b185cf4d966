"""Spectral (`spectral:oas`) and Redocly (`recommended`) find nothing in the kit's three OpenAPI documents.

The linters are npm packages pinned in package.json and package-lock.json; `./kit test` installs them with
`npm ci`. Without Node or npm the tests skip with the reason, and fail when CI=true. The rules each document
is spared, with the reason, are in `.spectral.yaml` and `redocly.yaml` at the repository root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"
DOCUMENTS = ("openapi.yaml", "mock_server/admin.yaml", "matcher")


def _unavailable() -> str | None:
    """Why the linters cannot run here, or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node.js and npm are not installed (apt-get install -y nodejs npm)"
    if not (BIN / "spectral").exists() or not (BIN / "redocly").exists():
        return "the spec linters are not installed: npm ci --ignore-scripts (./kit test does it)"
    return None


@pytest.fixture(scope="module")
def linters() -> None:
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three documents by name; the matcher profile's as `callback-kit spec --profile matcher` prints it."""
    printed = subprocess.run(
        [str(Path(sys.executable).parent / "callback-kit"), "spec", "--profile", "matcher"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    matcher = tmp_path_factory.mktemp("spec") / "matcher-openapi.yaml"
    matcher.write_text(printed.stdout, encoding="utf-8")
    return {"openapi.yaml": ROOT / "openapi.yaml", "mock_server/admin.yaml": ROOT / "mock_server/admin.yaml"} | {
        "matcher": matcher
    }


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.usefixtures("linters")
@pytest.mark.parametrize("name", DOCUMENTS)
def test_spectral_finds_nothing(name: str, documents: dict[str, Path], tmp_path: Path) -> None:
    """`spectral lint` with the repository's ruleset reports no error, warning, info or hint."""
    report = tmp_path / "spectral.json"
    command = [str(BIN / "spectral"), "lint", "--ruleset", ".spectral.yaml", "--format", "json"]
    run = _run([*command, "--output", str(report), "--fail-severity", "hint", str(documents[name])])
    assert report.exists(), run.stdout + run.stderr
    results = json.loads(report.read_text(encoding="utf-8"))
    found = [f"{r['code']} at {'.'.join(map(str, r['path']))}: {r['message']}" for r in results]
    assert found == [], "\n".join(found)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.usefixtures("linters")
@pytest.mark.parametrize("name", DOCUMENTS)
def test_redocly_finds_nothing(name: str, documents: dict[str, Path]) -> None:
    """`redocly lint` with the repository's configuration reports no error and no warning."""
    run = _run([str(BIN / "redocly"), "lint", "--config", "redocly.yaml", "--format", "json", str(documents[name])])
    report = json.loads(run.stdout)
    found = [f"{p['ruleId']} at {p['location'][0]['pointer']}: {p['message']}" for p in report["problems"]]
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, "\n".join(found)
    assert run.returncode == 0, run.stderr
