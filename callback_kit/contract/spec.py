"""`openapi.yaml` loaded once (cached per file version), and the callback operation in it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from callback_kit.resources import spec_path

CALLBACK_PATH = "/v1/exceptions/{exceptionId}/callback"


class ContractError(ValueError):
    """The spec, or its `x-idempotency` block, is not usable; the message names the place."""


def default_spec_path() -> Path:
    """The spec shipped with the kit (the repository's `openapi.yaml`)."""
    return spec_path()


@cache
def _load_cached(path: str, mtime_ns: int) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    if not isinstance(spec, dict):
        raise ContractError(f"{path}: not an OpenAPI document (top level is {type(spec).__name__})")
    return spec


def load_spec(path: Path | None = None) -> dict[str, Any]:
    """The parsed spec (cached per file version; treat it as read-only)."""
    resolved = (path or default_spec_path()).resolve()
    return _load_cached(str(resolved), resolved.stat().st_mtime_ns)


def callback_operation(spec: dict[str, Any]) -> dict[str, Any]:
    """The callback operation (`POST` on `CALLBACK_PATH`) of a spec; raises `ContractError` when absent."""
    try:
        operation = spec["paths"][CALLBACK_PATH]["post"]
    except (KeyError, TypeError):
        raise ContractError(f"paths.{CALLBACK_PATH}.post is missing") from None
    if not isinstance(operation, dict):
        raise ContractError(f"paths.{CALLBACK_PATH}.post must be a map")
    return operation
