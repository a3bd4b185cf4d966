"""Where the kit's data files are: the spec it ships and the fixtures folder (seed data, tokens, fuzz corpus)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def spec_path() -> Path:
    """The spec shipped with the kit (the repository's `openapi.yaml`)."""
    return Path(str(resources.files("callback_kit").joinpath("openapi.yaml")))


def fixtures_dir() -> Path:
    """The folder holding the packaged fixtures (the repository's `fixtures/`)."""
    return Path(str(resources.files("callback_kit").joinpath("fixtures")))
