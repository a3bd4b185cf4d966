"""The project's own files agree with what pyproject.toml says: the licence, the package data, the examples."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from callback_kit.contract import load_spec
from callback_kit.contract.schemas import validator
from callback_kit.resources import fixtures_dir
from tests.mock_client import Mock

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CALLBACKS = sorted((fixtures_dir() / "callbacks").glob("*.json"))
# The heading each SPDX identifier's standard text opens with.
LICENSE_HEADINGS = {"Apache-2.0": ("Apache License", "Version 2.0, January 2004")}


def test_the_license_file_is_the_license_pyproject_names() -> None:
    """LICENSE is the standard text of pyproject's `license`, with this project's copyright notice."""
    spdx = PYPROJECT["project"]["license"]
    lines = [line.strip() for line in (ROOT / "LICENSE").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert tuple(lines[:2]) == LICENSE_HEADINGS[spdx]
    assert "END OF TERMS AND CONDITIONS" in lines
    assert "Copyright 2026 The callback contract kit authors" in lines


def test_every_package_data_pattern_matches_a_file() -> None:
    """Each glob of `[tool.setuptools.package-data]` names at least one file of the package."""
    for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        folder = ROOT.joinpath(*package.split("."))
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: {pattern} matches nothing in {folder}"


def test_there_are_example_callbacks_of_each_target_status() -> None:
    """fixtures/callbacks/ holds an ASSIGNED and a RESOLVED example at least."""
    assert {json.loads(path.read_text(encoding="utf-8"))["status"] for path in CALLBACKS} >= {"ASSIGNED", "RESOLVED"}


@pytest.mark.parametrize("path", CALLBACKS, ids=[path.stem for path in CALLBACKS])
def test_an_example_callback_is_valid_against_the_request_schema(path: Path) -> None:
    """The example is a body the spec's CallbackRequest schema accepts."""
    spec = load_spec()
    schema = spec["components"]["schemas"]["CallbackRequest"]
    errors = [error.message for error in validator(schema, spec).iter_errors(json.loads(path.read_bytes()))]
    assert errors == []


@pytest.mark.parametrize("path", CALLBACKS, ids=[path.stem for path in CALLBACKS])
def test_an_example_callback_moves_an_open_exception(path: Path) -> None:
    """Sent to an OPEN exception, the example is processed and the exception takes its status."""
    body = json.loads(path.read_bytes())
    with Mock() as mock:
        target = mock.create("OPEN")
        answer = mock.callback(target, body)
        assert answer.status_code == 200, answer.text
        assert mock.exception(target)["status"] == body["status"]


def test_the_checkout_folder_run_as_a_module_is_a_one_line_usage_error() -> None:
    """`python -m mock_server` in a checkout exits 2 with one line naming the command to run instead."""
    run = subprocess.run(
        [sys.executable, "-m", "mock_server"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert "python -m callback_kit serve" in run.stderr
