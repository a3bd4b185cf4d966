"""The specs Swagger UI reads (`/openapi.json`, `/_mock/openapi.json`) name the server they were read from.

Connexion serves each spec with `servers` set to the API's base path: `''` for the callback API, which Swagger
UI lists as a blank server. Here the served copy (and only it: `openapi.yaml` is untouched) gets one absolute
entry, the request's own base URL plus that base path, so that "Try it out" reaches the mock that served it,
whatever host, port or proxy prefix it was reached at.
"""

from __future__ import annotations

import json

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SPEC_FILE = "/openapi.json"
DESCRIPTION = "this mock, at the address the spec was read from"


def server_of(scope: Scope, base_path: str) -> str:
    """The absolute URL of an API with this base path, on the server that received the request."""
    base: URL = Request(scope).base_url  # scheme, Host header and root path, as the client addressed us
    return str(base).rstrip("/") + base_path


class ServedSpecMiddleware:
    """Around Connexion: rewrites `servers` in the JSON specs it serves at `<base path>/openapi.json`."""

    def __init__(self, app: ASGIApp, *, base_paths: list[str]) -> None:
        self.app = app
        self._specs = {base_path + SPEC_FILE: base_path for base_path in base_paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        base_path = self._specs.get(scope.get("path", "")) if scope["type"] == "http" else None
        if base_path is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def rewriting(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if start["status"] == 200:
                body = _with_server(body, server_of(scope, base_path))
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewriting)


def _with_server(body: bytes, url: str) -> bytes:
    try:
        spec = json.loads(body)
    except ValueError:
        return body  # not a spec after all: passed on as it came
    if not isinstance(spec, dict):
        return body
    spec["servers"] = [{"url": url, "description": DESCRIPTION}]
    return json.dumps(spec).encode()
