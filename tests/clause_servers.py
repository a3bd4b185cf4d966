"""Broken servers for the clauses of the contract, one flaw each: the mock with one clause broken from outside.

Each passes every check but the one named for its flaw (`tests/test_contract_clauses.py`).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.broken_servers import CALLBACK_PATH_RE, REPLAY_HEADER, _RacyStore, mock


def _is_callback(scope: Scope) -> bool:
    return scope["type"] == "http" and bool(CALLBACK_PATH_RE.match(scope["path"]))


async def _body(receive: Receive) -> bytes:
    chunks = [await receive()]
    while chunks[-1].get("more_body"):
        chunks.append(await receive())
    return b"".join(m.get("body", b"") for m in chunks)


def _sending(raw: bytes) -> Receive:
    """A `receive` that gives `raw` as the whole request body."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return receive


def applies_behind_replay(_: Path, app: ASGIApp | None = None) -> ASGIApp:
    """Answers a retry with a perfect replay, then applies the callback again behind it (under a fresh key)."""
    app = app or mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_callback(scope):
            await app(scope, receive, send)
            return
        raw = await _body(receive)
        replayed: list[bool] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                replayed.append((REPLAY_HEADER, b"true") in [(k.lower(), v) for k, v in message["headers"]])
            await send(message)

        await app(scope, _sending(raw), watch)
        if replayed and replayed[0]:
            keyless = [(k, v) for k, v in scope["headers"] if not k.lower().endswith(b"idempotency-key")]
            again = {**scope, "headers": [*keyless, (b"x-idempotency-key", uuid.uuid4().hex.encode())]}

            async def drop(_: Message) -> None:
                return None

            await app(again, _sending(raw), drop)

    return flawed


class _QuickRacyStore(_RacyStore):
    """No in-flight guard, over a database that takes 50 ms to apply a callback."""

    async def apply(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.05)
        return await self._inner.apply(*args, **kwargs)


def applied_twice_when_slow(_: Path) -> ASGIApp:
    """Simultaneous requests with one key are all processed, each taking 50 ms."""
    return mock(store=_QuickRacyStore())
