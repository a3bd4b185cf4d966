"""One HTTP request and its answer, byte for byte: what every check judges and every report renders.

Pure data: rendering (curl, HAR) and redaction of secrets live in `callback_kit.reporting`, judging in
`callback_kit.contract.checks`. The contract suite records an `Exchange` per request it sends; a validating
proxy can build one per request it forwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exchange:
    """One request and its response; `label` says who sent it (a check's name, `probe`, `schemathesis/...`)."""

    label: str
    method: str
    url: str
    request_headers: Headers
    request_body: bytes
    status: int
    reason: str
    headers: Headers
    body: bytes
    started: float
    elapsed: float
    http_version: str = "HTTP/1.1"

    def __repr__(self) -> str:
        # Short, and without the request headers: they hold a token.
        return f"Exchange({self.label!r}: {self.method} {self.url} -> {self.status})"

    def header(self, name: str) -> str | None:
        """A response header (the first of that name, in any letter case)."""
        return find_header(self.headers, name)

    def request_header(self, name: str) -> str | None:
        """A request header (the first of that name, in any letter case)."""
        return find_header(self.request_headers, name)

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        return _loads(self.body)

    def request_json(self) -> Any:
        """The request body as JSON, or None when it is not JSON."""
        return _loads(self.request_body)

    def code(self) -> Any:
        """The `code` of an error body, or None."""
        body = self.json()
        return body.get("code") if isinstance(body, dict) else None

    def message(self) -> str:
        """The `message` of an error body, or ''."""
        body = self.json()
        return str(body.get("message", "")) if isinstance(body, dict) else ""

    def excerpt(self, limit: int = 300) -> str:
        """The answer's body on one line (runs of whitespace squashed), cut at `limit` characters with '…'."""
        text = " ".join(self.body.decode("utf-8", "replace").split())
        return text if len(text) <= limit else f"{text[:limit]}…"

    @property
    def path(self) -> str:
        """The request's path, percent-decoded."""
        return unquote(urlsplit(self.url).path)


def find_header(headers: Headers, name: str) -> str | None:
    """The first value of header `name` (case-insensitive), or None."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
