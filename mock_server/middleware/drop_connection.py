"""The lost answer (fault `lost_response`): the callback is processed and stored, then the connection is closed
without an answer. Only the server's own `send` can close the connection, so this wraps the whole app."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.mock_server.faults import fault_of


class DropConnectionMiddleware:
    """Around the whole app: for a `lost_response` fault, swallow the answer and close the connection instead.

    It must wrap the app from outside (see `mock_server/asgi.py`): only there is `send` the server's own, through
    which the connection can be closed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Created here so that the shallow scope copies made further in share it, and the fault is seen.
        scope.setdefault("extensions", {})
        dropped = False

        async def maybe_drop(message: Message) -> None:
            nonlocal dropped
            fault = fault_of(scope)
            if fault is None or fault.action != "lost_response":
                await send(message)
                return
            if message["type"] == "http.response.start":
                dropped = True
            if dropped:
                return
            await send(message)

        await self.app(scope, receive, maybe_drop)
        if dropped:
            await _close_transport(send)


async def _close_transport(send: Send) -> None:
    """Close the client's connection with no answer (uvicorn's protocol object owns the transport)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        # Not under uvicorn (an in-process test client): an exception is what a lost connection looks like.
        raise ConnectionResetError("response dropped by the lost_response fault")
    transport.close()
    for _ in range(3):  # let the loop run connection_lost, so uvicorn does not answer 500 in our place
        await asyncio.sleep(0)
    with contextlib.suppress(AttributeError):
        cycle.response_complete = True  # type: ignore[union-attr]
