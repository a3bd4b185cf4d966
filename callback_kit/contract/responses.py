"""What the spec declares about the callback operation's answers: headers per status, error codes per status.

The error codes an error status may carry are data in the spec: `x-error-codes` on each error response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callback_kit.contract.refs import resolve
from callback_kit.contract.spec import callback_operation


@dataclass(frozen=True)
class DeclaredHeader:
    """A response header the spec declares for a status: its name, whether required, and its schema."""

    name: str
    required: bool
    schema: dict[str, Any]


def response(spec: dict[str, Any], status: int) -> dict[str, Any]:
    """The operation's response object for `status` (exact, `4XX`, or `default`), references resolved; {} if none."""
    responses = callback_operation(spec).get("responses", {})
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            found: dict[str, Any] = resolve(spec, responses[key])
            return found
    return {}


def declared_headers(spec: dict[str, Any], status: int) -> list[DeclaredHeader]:
    """The headers the spec declares for an answer of `status`."""
    headers = []
    for name, raw in response(spec, status).get("headers", {}).items():
        header = resolve(spec, raw)
        headers.append(DeclaredHeader(name, bool(header.get("required")), resolve(spec, header.get("schema", {}))))
    return headers


def error_codes(spec: dict[str, Any], status: int) -> tuple[str, ...] | None:
    """The error codes the spec allows with `status` (`x-error-codes`), or None when it does not say."""
    codes = response(spec, status).get("x-error-codes")
    return tuple(str(code) for code in codes) if isinstance(codes, list) else None
