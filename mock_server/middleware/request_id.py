"""`X-Request-Id` on every response, errors included: the client's (sanitised, at most 128 characters) or a new UUID."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
MAX_LENGTH = 128
# Control characters and the separators the reference strips from a client's id.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f;|]")


def sanitise(raw: str | None) -> str:
    """The id to echo: the client's without unsafe characters, cut to 128 characters, else a fresh UUID."""
    cleaned = _UNSAFE.sub("", raw or "").strip()[:MAX_LENGTH].strip()
    return cleaned or str(uuid.uuid4())


class RequestIdMiddleware:
    """Outermost middleware: decides the id, exposes it in `scope["state"]`, stamps every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope["headers"] if k == HEADER), None)
        value = sanitise(raw.decode("latin-1") if raw is not None else None)
        scope.setdefault("state", {})["request_id"] = value
        encoded = value.encode("latin-1", "replace")

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                headers.append((HEADER, encoded))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)
