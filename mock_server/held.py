"""A held request (a fault's `latency` or `slow_processing`): its wait, and its end when the server stops.

The wait ends when its time is up or as soon as the client hangs up (`http.disconnect`), so that a client gone
holds nothing. A client still waiting when the server is asked to stop is let go `STOP_GRACE_SECONDS` later:
uvicorn then cancels the requests still in flight (its `timeout_graceful_shutdown`), and `CutShortMiddleware`
(just inside `DropConnectionMiddleware`) answers such a request with the spec's 503 instead of a cancellation traceback.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.mock_server.errors import StoreUnavailable, render

# How long a stop waits for the requests in flight before it cuts them short (the mock's and the proxy's).
STOP_GRACE_SECONDS = 1.0
log = logging.getLogger("callback_kit.held")


class Holder:
    """Holds one request: its `receive` has given the whole body, so that the next message is the hang-up."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive

    async def hold(self, seconds: float) -> None:
        """Wait `seconds`, or less: until the client hangs up."""
        timer = asyncio.ensure_future(asyncio.sleep(seconds))
        hangup = asyncio.ensure_future(_hangup(self.receive))
        try:
            await asyncio.wait((timer, hangup), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            hangup.cancel()


async def _hangup(receive: Receive) -> None:
    """Returns once the client has gone (the body was read: nothing but a disconnect is left to receive)."""
    while (await receive())["type"] != "http.disconnect":
        continue  # an empty `http.request`: the server woke its receiver for nothing


class CutShortMiddleware:
    """Around the whole app: a request the stopping server cancels ends with a 503 (or quietly, if answered)."""

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
