"""`openapi.yaml` loaded once (cached per file version), and the callback operation in it.

`load_spec` raises what reading and parsing raise; `read_spec` turns each into the one-line `SpecProblem` that
every command shows for a spec it cannot read (lint, serve, proxy, fuzz, replay, contract).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from callback_kit.resources import spec_path

CALLBACK_PATH = "/v1/exceptions/{exceptionId}/callback"


class ContractError(ValueError):
    """The spec, or its `x-idempotency` block, is not usable; the message names the place."""


class SpecProblem(ValueError):
    """The spec cannot be read at all, or is no OpenAPI document."""


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


def read_spec(path: Path | None = None) -> dict[str, Any]:
    """The parsed spec, an OpenAPI document; a `SpecProblem` naming the file and what is wrong with it."""
    path = path or default_spec_path()
    try:
        spec = load_spec(path)
    except OSError as exc:
        raise SpecProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    except ContractError as exc:  # YAML, but no mapping at the top
        raise SpecProblem(str(exc)) from None
    except UnicodeDecodeError:
        raise SpecProblem(f"{path} is not an OpenAPI document: not UTF-8 text") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise SpecProblem(f"{path} is not an OpenAPI document: {_first_line(exc)}") from None
    if "openapi" not in spec:
        found = "swagger: 2.0, which the kit does not read" if "swagger" in spec else "no `openapi` field"
        raise SpecProblem(f"{path} is not an OpenAPI document ({found}), e.g. openapi: 3.0.3 at the top")
    return spec


def _first_line(exc: Exception) -> str:
    """A parser's message on one line (PyYAML spreads its own over several, with the place last)."""
    mark = getattr(exc, "problem_mark", None)
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"not YAML or JSON ({reason} at line {mark.line + 1}, column {mark.column + 1})"
    return reason


def callback_operation(spec: dict[str, Any]) -> dict[str, Any]:
    """The callback operation (`POST` on `CALLBACK_PATH`) of a spec; raises `ContractError` when absent."""
    try:
        operation = spec["paths"][CALLBACK_PATH]["post"]
    except (KeyError, TypeError):
        raise ContractError(f"paths.{CALLBACK_PATH}.post is missing") from None
    if not isinstance(operation, dict):
        raise ContractError(f"paths.{CALLBACK_PATH}.post must be a map")
    return operation
