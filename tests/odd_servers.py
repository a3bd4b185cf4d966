"""Servers that prove how the suite judges, beside the flaws of `broken_servers`: a probe meeting a broken
contract, tenants mixed, another implementation's bug, a gateway that wants its header, a slow server, and a
server that counts what it is sent. Each wraps an ASGI app (the mock, or the mock's matcher profile), except
`not_an_implementation`, a static file server that is no implementation at all.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.broken_servers import CALLBACK_PATH_RE, OTHER_TENANT_TOKEN, TOKEN

GATEWAY_HEADER = "X-Gateway-Key"
GATEWAY_KEY = "gw-4d1c9a7e52"


def _is_callback(scope: Scope) -> bool:
    return scope["type"] == "http" and bool(CALLBACK_PATH_RE.match(scope["path"]))


async def _read_body(receive: Receive) -> bytes:
    chunks = [await receive()]
    while chunks[-1].get("more_body"):
        chunks.append(await receive())
    return b"".join(m.get("body", b"") for m in chunks)


async def _answer(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    raw = json.dumps(body).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": raw})


def answers_202_to_unknown_exceptions(app: ASGIApp) -> ASGIApp:
    """A callback to an exception it does not know is 'queued' with 202, a status the spec does not declare."""

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_callback(scope):
            await app(scope, receive, send)
            return
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await app(scope, receive, keep)
        if messages and messages[0].get("status") == 404:
            await _answer(send, 202, {"status": "queued"})
            return
        for message in messages:
            await send(message)

    return flawed


def mixes_tenants(app: ASGIApp) -> ASGIApp:
    """Every callback is taken for the first tenant's, whichever token it carries (tenants mixed)."""
    first, other = f"Bearer {TOKEN}".encode(), f"Bearer {OTHER_TENANT_TOKEN}".encode()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if _is_callback(scope):
            headers = [(k, first if k == b"authorization" and v == other else v) for k, v in scope["headers"]]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return flawed


def accepts_null_fields(app: ASGIApp) -> ASGIApp:
    """A pydantic-style server: a field sent as `null` counts as absent (the spec allows null for none)."""

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_callback(scope):
            await app(scope, receive, send)
            return
        raw = await _read_body(receive)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict) and None in body.values():
            raw = json.dumps({k: v for k, v in body.items() if v is not None}).encode()
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(raw)).encode())]}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await app(scope, replay, send)

    return flawed


def behind_gateway(app: ASGIApp) -> ASGIApp:
    """A staging gateway: every request without `X-Gateway-Key: gw-...` is refused with 401."""
    wanted = (GATEWAY_HEADER.lower().encode(), GATEWAY_KEY.encode())

    async def gateway(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and wanted not in scope["headers"]:
            await _answer(send, 401, {"code": "GW-401", "title": "Unauthorized", "message": "gateway key required"})
            return
        await app(scope, receive, send)

    return gateway


class Counting:
    """Counts the HTTP requests that reach `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


class Slow:
    """Answers the first `quick` callbacks, then holds every callback until `release` is set (or 60 s pass)."""

    def __init__(self, app: ASGIApp, quick: int) -> None:
        self.app, self.quick = app, quick
        self.seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_callback(scope):
            self.seen += 1
            if self.seen > self.quick:
                self.holding.set()
                for _ in range(600):  # polled, so that the server can stop as soon as the test releases it
                    if self.release.is_set():
                        break
                    await asyncio.sleep(0.1)
        await self.app(scope, receive, send)


# What a static file server (`python -m http.server`) answers to a POST: 501 with a page of HTML.
NOT_IMPLEMENTED_PAGE = b"""<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: 501</p>
        <p>Message: Unsupported method ('POST').</p>
        <p>Error code explanation: 501 - Server does not support this operation.</p>
    </body>
</html>
"""


async def not_an_implementation(scope: Scope, receive: Receive, send: Send) -> None:
    """Every request but a GET is answered 501 with the same page of HTML; a GET finds nothing (404)."""
    if scope["type"] != "http":
        return
    await _read_body(receive)
    status = 404 if scope["method"] in ("GET", "HEAD") else 501
    headers = [(b"content-type", b"text/html;charset=utf-8"), (b"content-length", b"%d" % len(NOT_IMPLEMENTED_PAGE))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": NOT_IMPLEMENTED_PAGE})
