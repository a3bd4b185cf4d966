"""A request still in flight when the server stops, held by a fault (`latency`, `slow_processing`) or slow.

A fault's wait goes on when its client gives up, as a slow server's work does (the timeout the retry report
looks for), so a stop cannot wait for it: the server gives the requests in flight `STOP_GRACE_SECONDS`, then
cancels them (uvicorn's `timeout_graceful_shutdown`), and `CutShortMiddleware` (just inside
`DropConnectionMiddleware`) answers such a request with the spec's 503 instead of a cancellation traceback.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.mock_server.errors import StoreUnavailable, render

# How long a stop waits for the requests in flight before it cuts them short (the mock's and the proxy's).
STOP_GRACE_SECONDS = 1.0
log = logging.getLogger("callback_kit.cut_short")


class CutShortMiddleware:
    """A request the stopping server cancels ends with a 503 (or quietly, if answered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the cancellation is handled here: the answer below must still be sent
            log.info("%s %s cut short: the server is stopping", scope["method"], scope["path"])
            if not started:
                await render(StoreUnavailable("the server is stopping; retry shortly"))(scope, receive, send)
