"""The body size limit, enforced before anything reads the body (413 `MTCH-0010`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.mock_server.errors import PayloadTooLarge, render


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("The request payload is too large.", details={"limitBytes": limit})


class BodyLimitMiddleware:
    """Refuses a declared Content-Length over the limit at once, and stops a chunked body that grows past it."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            # Outside Connexion's error handling: render here, and leave the unread body unread.
            await render(_too_large(self.limit))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _too_large(self.limit)
            return message

        await self.app(scope, counted, send)
