"""HTTP for the checks: every exchange is kept (for the HAR report) and can be replayed as a curl command.

Secrets never appear in what this module renders: a token is shown as the environment variable the
reproduction reads it from (`"Authorization: Bearer $CALLBACK_KIT_TOKEN"`).
"""

from __future__ import annotations

import json
import shlex
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import httpx

CALLBACK_PATH = "/v1/exceptions/{exceptionId}/callback"
# Headers a client library adds by itself; a reproduction does not need them.
_IMPLICIT = frozenset({"host", "content-length", "user-agent", "accept-encoding", "connection", "accept"})
Headers = tuple[tuple[str, str], ...]


def new_key() -> str:
    """A fresh idempotency key."""
    return f"ck-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Exchange:
    """One request and its response, byte for byte."""

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
    secrets: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        # Short, and without the request headers: they hold a token.
        return f"Exchange({self.label!r}: {self.method} {self.url} -> {self.status})"

    def header(self, name: str) -> str | None:
        """A response header (the first, case-insensitively)."""
        return _find(self.headers, name)

    def request_header(self, name: str) -> str | None:
        return _find(self.request_headers, name)

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        return _loads(self.body)

    def request_json(self) -> Any:
        return _loads(self.request_body)

    def describe(self, replay_header: str) -> str:
        """Status, replay header and body, in one line for a failure message."""
        body = self.body.decode("utf-8", "replace")
        body = body if len(body) <= 300 else f"{body[:300]}…"
        return f"{self.status} {self.reason}, {replay_header}: {self.header(replay_header) or '(absent)'}, body {body}"

    def curl(self) -> str:
        """A curl command that sends this request again."""
        parts = ["curl", "-i", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers:
            if name.lower() in _IMPLICIT:
                continue
            parts += ["-H", _quote_header(name, value, self.secrets)]
        if not self.request_body:
            return " ".join(parts)
        try:
            text = self.request_body.decode("utf-8")
        except UnicodeDecodeError:
            escaped = "".join(f"\\{byte:03o}" for byte in self.request_body)
            return f"printf '{escaped}' | {' '.join(parts)} --data-binary @-"
        return " ".join([*parts, "--data-raw", shlex.quote(_redact(text, self.secrets))])


class Recorder:
    """Every exchange of the run, in order; safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def count(self, label: str) -> int:
        with self._lock:
            return Counter(e.label for e in self._exchanges)[label]


@dataclass(frozen=True)
class CallbackClient:
    """Sends callbacks as one tenant; every exchange is recorded under the client's label."""

    http: httpx.Client = field(repr=False)
    recorder: Recorder = field(repr=False)
    token: str = field(repr=False)
    key_header: str
    secrets: Mapping[str, str] = field(repr=False)
    label: str = ""

    def labelled(self, label: str) -> CallbackClient:
        """The same client, recording under another label."""
        return replace(self, label=label)

    def as_token(self, token: str) -> CallbackClient:
        """The same client, calling with another tenant's token."""
        return replace(self, token=token)

    def callback(
        self,
        exception_id: str,
        body: Mapping[str, Any] | bytes,
        *,
        key: str | None = None,
        key_headers: tuple[str, ...] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """POST a callback; `key` goes in `key_headers` (default: the contract's first key header)."""
        sent = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        if key is not None:
            sent.update({name: key for name in (key_headers or (self.key_header,))})
        sent.update(headers or {})
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        path = CALLBACK_PATH.format(exceptionId=quote(exception_id, safe=""))
        return self.send("POST", path, content=content, headers=sent)

    def send(self, method: str, path: str, *, content: bytes = b"", headers: Mapping[str, str]) -> Exchange:
        """Any request to the server under test (transport errors propagate as `httpx.TransportError`)."""
        request = self.http.build_request(method, path, content=content, headers=dict(headers))
        started = time.time()
        response = self.http.send(request)
        exchange = Exchange(
            label=self.label,
            method=method,
            url=str(request.url),
            request_headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw),
            request_body=content,
            status=response.status_code,
            reason=response.reason_phrase,
            headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw),
            body=response.content,
            started=started,
            elapsed=response.elapsed.total_seconds(),
            http_version=response.http_version,
            secrets=self.secrets,
        )
        self.recorder.add(exchange)
        return exchange


def _find(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _redact(text: str, secrets: Mapping[str, str]) -> str:
    for value, variable in secrets.items():
        text = text.replace(value, f"${variable}")
    return text


def _quote_header(name: str, value: str, secrets: Mapping[str, str]) -> str:
    redacted = _redact(value, secrets)
    if redacted == value:
        return shlex.quote(f"{name}: {value}")
    # Double quotes, so that the shell expands the variable standing for the secret.
    escaped = redacted.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    return f'"{name}: {escaped}"'
