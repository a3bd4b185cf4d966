"""The innermost layer of the callback operation: the handler answers here, as a plain ASGI endpoint."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from callback_kit.mock_server.handlers import CallbackHandler
from callback_kit.mock_server.scope import CallbackLayer, ParsedBody, buffer_body, stashed


class CallbackEndpoint(CallbackLayer):
    """The callback operation as a plain ASGI endpoint, innermost in the stack.

    Connexion has routed, authenticated and validated the request by now; its own handler layer would parse
    the body a second time and inspect the handler's signature on every call, which cost about a quarter of
    a callback's instructions when measured. Every other operation goes on to Connexion.
    """

    def __init__(self, app: ASGIApp, *, handler: CallbackHandler) -> None:
        super().__init__(app)
        self.handler = handler

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        parsed = stashed(scope, "body", ParsedBody)  # what validation parsed: no second parse
        if parsed is not None:
            body = parsed.value
        else:
            raw, receive = await buffer_body(receive)
            body = json.loads(raw)
        exception_id = str(scope["path_params"]["exceptionId"])
        response = await self.handler.handle(scope, exception_id, body)
        await response(scope, receive, send)
