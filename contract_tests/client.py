"""HTTP for the checks: every exchange is recorded (for the HAR report and the case counts), every request
carries the run's extra headers (`--header`), and no request starts once the run is interrupted.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import httpx

from callback_kit.contract import CALLBACK_PATH
from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.failures import Interrupted


def new_key() -> str:
    """A fresh idempotency key."""
    return f"ck-{uuid.uuid4().hex}"


def callback_path(exception_id: str) -> str:
    return CALLBACK_PATH.format(exceptionId=quote(exception_id, safe=""))


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
    extra_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    stop: threading.Event = field(default_factory=threading.Event, repr=False)
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
        return self.send("POST", callback_path(exception_id), content=content, headers=sent)

    def send(self, method: str, path: str, *, content: bytes = b"", headers: Mapping[str, str]) -> Exchange:
        """Any request to the server under test (transport errors propagate as `httpx.TransportError`)."""
        if self.stop.is_set():
            raise Interrupted
        request = self.http.build_request(
            method, path, content=content, headers={**dict(self.extra_headers), **headers}
        )
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
        )
        self.recorder.add(exchange)
        return exchange
