"""The mock in-process for synchronous tests: one app, one `memory://` store and one event loop per `Mock`.

`Mock` runs the app's lifespan on an `asyncio.Runner`, so a test reads as plain calls
(`mock.callback(ACME_OPEN, body("RESOLVED"))`) while the app keeps its state between them. The constants
name the fixtures (`fixtures/tokens.json`, `fixtures/exceptions.json`) so that tests do not repeat them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Coroutine, Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Any, TypeVar

import httpx
import jwt

from callback_kit.mock_server.app import create_app
from callback_kit.mock_server.seed import load_exceptions
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.types import Store
from callback_kit.resources import fixtures_dir
from tests.asgi import client

T = TypeVar("T")

ACME = "7c2e1b9a-4d35-4a8f-9b61-2f0d8e3c5a10"
GLOBEX = "e5a94c27-18b3-4f6e-8d02-9c7b1a6f3e48"
ACME_TOKEN = "acme-integration-token"
ACME_SERVICENOW_TOKEN = "acme-servicenow-token"
ACME_VIEWER_TOKEN = "acme-viewer-token"
GLOBEX_TOKEN = "globex-integration-token"
ADMIN_TOKEN = "kit-admin-token"
JWT_SECRET: str = json.loads((fixtures_dir() / "tokens.json").read_text(encoding="utf-8"))["jwt"]["secret"]

# One seeded exception of each tenant in each status (a second of each exists with the next number).
ACME_OPEN = "1a010000-0000-4000-8000-000100000001"
ACME_ASSIGNED = "1a110000-0000-4000-8000-000100010001"
ACME_PENDING = "1a210000-0000-4000-8000-000100020001"
ACME_RESOLVED = "1a310000-0000-4000-8000-000100030001"
GLOBEX_OPEN = "2b010000-0000-4000-8000-000200000001"
GLOBEX_RESOLVED = "2b310000-0000-4000-8000-000200030001"
SEEDED = {"OPEN": ACME_OPEN, "ASSIGNED": ACME_ASSIGNED, "PENDING_RESOLUTION": ACME_PENDING, "RESOLVED": ACME_RESOLVED}
FIXTURE_IDS = frozenset(record.id for record in load_exceptions(fixtures_dir()))
UNKNOWN_ID = "9f9f9f9f-0000-4000-8000-0000000000ff"

ERROR_FIELDS = {"code", "title", "message", "details"}
_UNSET: Any = object()


def body(status: str = "RESOLVED", **fields: Any) -> dict[str, Any]:
    """A valid callback body for `status` (with an assignee when it is ASSIGNED), plus `fields`."""
    data: dict[str, Any] = {"externalSystem": "JIRA", "externalIssueId": "RECON-1", "status": status}
    if status == "ASSIGNED":
        data["assignee"] = "ana.souza@example.com"
    data.update(fields)
    return data


def make_jwt(secret: str = JWT_SECRET, **claims: Any) -> str:
    """An HS256 JWT of the acme tenant that may process callbacks; a claim given as None is left out."""
    defaults: dict[str, Any] = {
        "sub": "jwt-robot",
        "tenant_id": ACME,
        "exp": int(time.time()) + 3600,
        "permissions": ["callback:process"],
    }
    merged = {name: value for name, value in {**defaults, **claims}.items() if value is not None}
    return jwt.encode(merged, secret, algorithm="HS256")


def assert_error(response: httpx.Response, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    """Check the contract's error body (`{code, title, message, details?}`, application/json); return it."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert response.headers["content-type"].split(";")[0].strip() == "application/json"
    error: dict[str, Any] = response.json()
    assert set(error) <= ERROR_FIELDS, f"unexpected fields in {error}"
    assert error["code"] == code, error
    assert error["title"] == HTTPStatus(status).phrase, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    if message is not None:
        assert error["message"] == message, error
    return error


class Mock:
    """A started mock (a fresh app and store) with a synchronous httpx-like surface."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        clock_source: Callable[[], float] = time.time,
    ) -> None:
        self.app = create_app(settings or Settings(), store=store, clock_source=clock_source)
        self._runner = asyncio.Runner()
        self._stack = contextlib.AsyncExitStack()
        self.http: httpx.AsyncClient

    def __enter__(self) -> Mock:
        self.http = self.run(self._stack.enter_async_context(client(self.app)))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            self.run(self._stack.aclose())
        finally:
            self._runner.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the mock's event loop (for tests that need requests in flight together)."""
        return self._runner.run(coro)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.http.request(method, url, **kwargs))

    def callback(
        self,
        exception_id: str,
        payload: Any = _UNSET,
        *,
        token: str | None = ACME_TOKEN,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST a callback; `payload` is sent as JSON unless `content=` gives the raw bytes."""
        return self.run(self.send_callback(exception_id, payload, token=token, key=key, headers=headers, **kwargs))

    async def send_callback(
        self,
        exception_id: str,
        payload: Any = _UNSET,
        *,
        token: str | None = ACME_TOKEN,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """`callback`, as a coroutine."""
        sent = dict(headers or {})
        if token is not None:
            sent.setdefault("Authorization", f"Bearer {token}")
        if key is not None:
            sent["X-Idempotency-Key"] = key
        if payload is not _UNSET:
            kwargs["content"] = json.dumps(payload).encode()
            sent.setdefault("Content-Type", "application/json")
        elif "content" not in kwargs:
            kwargs["content"] = json.dumps(body()).encode()
            sent.setdefault("Content-Type", "application/json")
        return await self.http.post(f"/v1/exceptions/{exception_id}/callback", headers=sent, **kwargs)

    def admin(self, method: str, path: str, *, token: str | None = ADMIN_TOKEN, **kwargs: Any) -> httpx.Response:
        """Call the admin API (`/_mock` + `path`) with the admin token."""
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.request(method, f"/_mock{path}", headers=headers, **kwargs)

    def exception(self, exception_id: str) -> dict[str, Any]:
        """An exception as the admin API shows it."""
        response = self.admin("GET", f"/exceptions/{exception_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def create(self, status: str, tenant: str = ACME, **fields: Any) -> str:
        """Provision an exception through the admin API; returns its id."""
        response = self.admin("POST", "/exceptions", json={"tenant": tenant, "status": status, **fields})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def journal(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The journal, newest first."""
        response = self.admin("GET", "/journal", params={} if limit is None else {"limit": limit})
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        return entries

    def shift_clock(self, seconds: float) -> None:
        """Move the mock's clock `seconds` from wall time."""
        response = self.admin("PUT", "/clock", json={"offsetSeconds": seconds})
        assert response.status_code == 200, response.text
