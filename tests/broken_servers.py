"""Deliberately broken implementations of the callback endpoint, one flaw each, and a live server for them.

Each is the mock (`callback_kit.mock_server.create_app`) with one flaw put in from outside: a wrapping ASGI middleware,
a store wrapper, or a spec whose `x-idempotency` block says something else than the kit's. Everything the
flaw does not touch keeps the contract, so a run against one of them fails only where the flaw shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.contract import CALLBACK_PATH, load_spec
from callback_kit.mock_server import Settings, create_app
from callback_kit.mock_server.stores.memory import MemoryStore
from callback_kit.mock_server.types import InFlight

TOKEN = "acme-integration-token"
OTHER_TENANT_TOKEN = "globex-integration-token"
ADMIN_TOKEN = "kit-admin-token"
REPLAY_HEADER = b"x-idempotency-replayed"
CALLBACK_PATH_RE = re.compile("^" + re.escape(CALLBACK_PATH).replace(re.escape("{exceptionId}"), "[^/]+") + "$")
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
STARTUP_SECONDS = 30.0


def mock(spec_path: Path | None = None, store: Any = None) -> ASGIApp:
    """The mock itself, on a memory store (the reference that keeps the contract)."""
    settings = Settings(store_url="memory://")
    if spec_path is not None:
        settings = dataclasses.replace(settings, spec_path=spec_path)
    app: ASGIApp = create_app(settings, store=store if store is not None else MemoryStore())
    return app


def no_replay_header(_: Path, app: ASGIApp | None = None) -> ASGIApp:
    """Never sends `X-Idempotency-Replayed`, neither 'false' nor 'true'."""
    app = app or mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        async def strip(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [h for h in message["headers"] if h[0].lower() != REPLAY_HEADER]}
            await send(message)

        await app(scope, receive, strip)

    return flawed


def replay_with_other_body(_: Path, app: ASGIApp | None = None) -> ASGIApp:
    """A replay re-serialises the stored JSON body: the same data, other bytes."""
    app = app or mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            if (REPLAY_HEADER, b"true") in [(k.lower(), v) for k, v in headers]:
                body = json.dumps(json.loads(body), indent=1).encode()
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, rewrite if scope["type"] == "http" else send)

    return flawed


class _RacyStore:
    """A store whose key check does not see keys in flight, over a slow database: concurrent requests all run."""

    def __init__(self) -> None:
        self._inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def claim(self, scope_key: str, fingerprint: str, now: float, in_flight_ttl: float) -> Any:
        outcome = await self._inner.claim(scope_key, fingerprint, now, in_flight_ttl)
        if isinstance(outcome, InFlight):
            # The flaw: a key in flight looks free, so the request is processed as if it were the first.
            return await self._inner.claim(f"{scope_key}#{uuid.uuid4()}", fingerprint, now, in_flight_ttl)
        return outcome

    async def apply(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.2)  # a slow database keeps the requests of a race overlapping
        return await self._inner.apply(*args, **kwargs)


def applied_twice_under_race(_: Path) -> ASGIApp:
    """Simultaneous requests with one key are all processed."""
    return mock(store=_RacyStore())


def no_auth(_: Path) -> ASGIApp:
    """Callbacks without a valid token are processed as the first tenant's."""
    app = mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and CALLBACK_PATH_RE.match(scope["path"]):
            headers = dict(scope["headers"])
            if headers.get(b"authorization") not in tuple(f"Bearer {t}".encode() for t in (TOKEN, OTHER_TENANT_TOKEN)):
                others = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
                scope = {**scope, "headers": [*others, (b"authorization", f"Bearer {TOKEN}".encode())]}
        await app(scope, receive, send)

    return flawed


def server_error_on_bad_date(_: Path, app: ASGIApp | None = None) -> ASGIApp:
    """A `dueAt` or `updatedAt` that is not RFC 3339 crashes the handler: 500."""
    app = app or mock()
    crash = json.dumps(
        {"code": "MTCH-0002", "title": "Internal Server Error", "message": "an unexpected error occurred"}
    ).encode()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not CALLBACK_PATH_RE.match(scope["path"]):
            await app(scope, receive, send)
            return
        messages = [await receive()]
        while messages[-1].get("more_body"):
            messages.append(await receive())
        try:
            body = json.loads(b"".join(m.get("body", b"") for m in messages))
        except ValueError:
            body = None
        dates = [body.get(name) for name in ("dueAt", "updatedAt")] if isinstance(body, dict) else []
        if any(isinstance(d, str) and not RFC3339.fullmatch(d) for d in dates):
            await send(
                {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": crash})
            return
        pending = iter(messages)

        async def replay() -> Message:
            return next(pending, None) or await receive()

        await app(scope, replay, send)

    return flawed


def _with_idempotency(tmp: Path, **changes: Any) -> ASGIApp:
    """The mock serving a spec whose `x-idempotency` block has `changes`."""
    spec = copy.deepcopy(load_spec())
    spec["paths"][CALLBACK_PATH]["post"]["x-idempotency"].update(changes)
    path = tmp / f"openapi-{uuid.uuid4().hex}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return mock(spec_path=path)


def key_replays_across_tenants(tmp: Path) -> ASGIApp:
    """Keys are scoped by method and path only: another tenant's request with the key gets the stored response."""
    return _with_idempotency(tmp, scope=["method", "path"])


def key_not_scoped_by_exception(tmp: Path) -> ASGIApp:
    """Keys are not scoped by path: the same key on another exception replays the first one's response."""
    return _with_idempotency(tmp, scope=["tenant", "principal", "method"])


def stores_failed_responses(_: Path, app: ASGIApp | None = None) -> ASGIApp:
    """A key store in front of the mock that keeps every answer below 500, 4xx included, and replays it."""
    app = app or mock()
    stored: dict[tuple[bytes | None, str, bytes], tuple[int, bytes, bytes]] = {}

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        key = headers.get(b"x-idempotency-key") or headers.get(b"idempotency-key")
        if scope["type"] != "http" or not CALLBACK_PATH_RE.match(scope["path"]) or key is None:
            await app(scope, receive, send)
            return
        where = (headers.get(b"authorization"), scope["path"].lower(), key)
        if where in stored:
            status, content_type, body = stored[where]
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", content_type),
                        (b"content-length", str(len(body)).encode()),
                        (REPLAY_HEADER, b"true"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        answer: dict[str, Any] = {"body": b""}

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["type"] = dict(message["headers"]).get(b"content-type", b"application/json")
            else:
                answer["body"] += message.get("body", b"")
                if not message.get("more_body") and answer["status"] < 500:
                    stored[where] = (answer["status"], answer["type"], answer["body"])
            await send(message)

        await app(scope, receive, keep)

    return flawed


def matcher_parity(*, as_served: bool = False) -> ASGIApp:
    """The mock's parity profile: Matcher 2.1 as it runs, with the known divergences of the reference.

    By default with auth on and no rate limit (so that tenants and checks can be told apart); `as_served`
    gives `callback-kit serve --profile matcher`'s defaults (auth off, 60 callbacks a minute).
    """
    settings = Settings(store_url="memory://", profile="matcher")
    if not as_served:
        settings = dataclasses.replace(settings, auth=True, rate_limit_per_minute=0)
    app: ASGIApp = create_app(settings, store=MemoryStore())
    return app


FLAWS: dict[str, Callable[[Path], ASGIApp]] = {
    "no_replay_header": no_replay_header,
    "replay_with_other_body": replay_with_other_body,
    "applied_twice_under_race": applied_twice_under_race,
    "no_auth": no_auth,
    "key_replays_across_tenants": key_replays_across_tenants,
    "key_not_scoped_by_exception": key_not_scoped_by_exception,
    "stores_failed_responses": stores_failed_responses,
    "server_error_on_bad_date": server_error_on_bad_date,
}


@contextlib.contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on 127.0.0.1, on a free port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, name="broken-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)  # readiness poll
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
