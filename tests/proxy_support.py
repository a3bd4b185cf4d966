"""A validating proxy served in a thread in front of an upstream app, and the requests the proxy tests send."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from callback_kit.mock_server.proxy import ProxySettings, create_proxy_app
from callback_kit.mock_server.stores.memory import MemoryStore
from tests.broken_servers import serving

ADMIN = {"Authorization": "Bearer kit-admin-token"}
TOKEN = "acme-integration-token"
OPEN_ID = "1a010000-0000-4000-8000-000100000001"
OTHER_OPEN_ID = "1a020000-0000-4000-8000-000100000002"
RESOLVED_ID = "1a310000-0000-4000-8000-000100030001"
RESOLVE = {"externalSystem": "JIRA", "externalIssueId": "RECON-7", "status": "RESOLVED"}
ASSIGN = {"externalSystem": "JIRA", "externalIssueId": "RECON-7", "status": "ASSIGNED", "assignee": "ana"}


@dataclass
class Proxied:
    """A proxy's URL and the upstream's, each with a client."""

    proxy: httpx.Client
    upstream: httpx.Client

    def callback(
        self, exception_id: str = OPEN_ID, *, key: str | None = None, body: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        """A callback through the proxy with the acme token (and a fresh key unless one is given)."""
        sent = {"Authorization": f"Bearer {TOKEN}", "X-Idempotency-Key": key or str(uuid.uuid4()), **headers}
        return self.proxy.post(f"/v1/exceptions/{exception_id}/callback", json=body or RESOLVE, headers=sent)

    def journal(self) -> list[dict[str, Any]]:
        """The proxy's journal, oldest first."""
        answer = self.proxy.get("/_mock/journal", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return list(reversed(answer.json()))

    def violations(self) -> list[str]:
        """The names of the checks the proxy's journal lists, oldest first."""
        return [v["check"] for entry in self.journal() for v in entry["violations"]]

    def report(self) -> dict[str, Any]:
        answer = self.proxy.get("/_mock/report", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        return report


@contextlib.contextmanager
def proxying(upstream_url: str, spec_path: Path | None = None) -> Iterator[str]:
    """The proxy on a free loopback port in front of `upstream_url` (memory store); yields its URL."""
    settings = ProxySettings(upstream=upstream_url)
    if spec_path is not None:
        settings = dataclasses.replace(settings, spec_path=spec_path)
    app = create_proxy_app(settings, store=MemoryStore())
    with serving(app) as url:
        yield url


@contextlib.contextmanager
def proxied(upstream: ASGIApp, spec_path: Path | None = None) -> Iterator[Proxied]:
    """`upstream` served in a thread, the proxy (judging by `spec_path`) in front of it, and a client of each."""
    with (
        serving(upstream) as upstream_url,
        proxying(upstream_url, spec_path) as proxy_url,
        httpx.Client(base_url=proxy_url, timeout=10) as proxy,
        httpx.Client(base_url=upstream_url) as direct,
    ):
        yield Proxied(proxy, direct)
