"""Broken servers for the clauses of the contract, one flaw each: the mock with one clause broken from outside.

Each passes every check but the one named for its flaw (`tests/test_contract_clauses.py`).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.mock_server.stores.memory import MemoryStore
from callback_kit.mock_server.types import Completion, ExceptionRecord, InFlight, Replay, Transition
from tests.broken_servers import CALLBACK_PATH_RE, REPLAY_HEADER, _RacyStore, _with_idempotency, mock

KEY_HEADERS = (b"x-idempotency-key", b"idempotency-key")


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


class _GuardlessStore(_RacyStore):
    """No in-flight guard at all, over a database that takes 50 ms to apply a callback: every request of a
    burst is applied (those that met the key in flight store nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self._unguarded: set[str] = set()

    async def claim(self, scope_key: str, fingerprint: str, now: float, in_flight_ttl: float) -> Any:
        outcome = await self._inner.claim(scope_key, fingerprint, now, in_flight_ttl)
        if isinstance(outcome, InFlight):
            outcome = await self._inner.claim(f"{scope_key}#{uuid.uuid4()}", fingerprint, now, in_flight_ttl)
            self._unguarded.add(outcome.token)
        return outcome

    async def apply(self, tenant: Any, exception_id: Any, transition: Any, completion: Any) -> Any:
        await asyncio.sleep(0.05)
        if completion is not None and completion.token in self._unguarded:
            completion = None
        return await self._inner.apply(tenant, exception_id, transition, completion)


def applied_twice_when_slow(_: Path) -> ASGIApp:
    """Simultaneous requests with one key are all processed, each taking 50 ms."""
    return mock(store=_GuardlessStore())


def _rewriting_headers(app: ASGIApp, rewrite: Any) -> ASGIApp:
    """`app` whose response headers pass through `rewrite(status, headers) -> headers`."""

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        async def rewritten(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": rewrite(message["status"], list(message["headers"]))}
            await send(message)

        await app(scope, receive, rewritten if scope["type"] == "http" else send)

    return flawed


def _without(name: bytes) -> Any:
    return lambda _status, headers: [(k, v) for k, v in headers if k.lower() != name]


def lowercases_keys(_: Path) -> ASGIApp:
    """Idempotency keys are compared without letter case: `Key-A` and `key-a` are one key."""
    app = mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if _is_callback(scope):
            headers = [(k, v.lower() if k.lower() in KEY_HEADERS else v) for k, v in scope["headers"]]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return flawed


def keys_both_headers_apart(_: Path) -> ASGIApp:
    """A key sent in both key headers is taken for another key than the same key in one header."""
    app = mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if _is_callback(scope) and sum(k.lower() in KEY_HEADERS for k, _ in scope["headers"]) == 2:
            headers = [(k, v + b"-both" if k.lower() in KEY_HEADERS else v) for k, v in scope["headers"]]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return flawed


def forgets_answers_early(tmp: Path) -> ASGIApp:
    """A stored answer is kept one second, not the seven days the spec says."""
    return _with_idempotency(tmp, completedTtlSeconds=1, inFlightTtlSeconds=1)


def keeps_answers_forever(tmp: Path) -> ASGIApp:
    """A stored answer is never forgotten: replayed long after the completed TTL."""
    return _with_idempotency(tmp, completedTtlSeconds=315_360_000)


def in_flight_never_freed(tmp: Path) -> ASGIApp:
    """A key in flight stays in flight for seven days, not the in-flight TTL the spec says."""
    return _with_idempotency(tmp, inFlightTtlSeconds=604_800)


def rejects_different_body(tmp: Path) -> ASGIApp:
    """A key reused with another body is refused (422 MTCH-0019) although the spec's policy is to replay."""
    return _with_idempotency(tmp, onDifferentBody="reject")


def echoes_no_request_id(_: Path) -> ASGIApp:
    """Every answer carries a fresh `X-Request-Id`, never the client's."""

    def fresh(_status: int, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return [*_without(b"x-request-id")(0, headers), (b"x-request-id", uuid.uuid4().hex.encode())]

    return _rewriting_headers(mock(), fresh)


def no_www_authenticate(_: Path) -> ASGIApp:
    """A 401 without `WWW-Authenticate`."""
    return _rewriting_headers(mock(), _without(b"www-authenticate"))


def no_retry_after(_: Path) -> ASGIApp:
    """An in-flight 409 without `Retry-After`."""
    return _rewriting_headers(mock(), _without(b"retry-after"))


def validation_errors_422(_: Path) -> ASGIApp:
    """A body the schema refuses is answered 422 (the spec keeps 422 for MTCH-0019): 400 MTCH-0001 becomes 422."""
    app = mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        pending: list[Message] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 400:
                pending.append(message)
                return
            if pending and message["type"] == "http.response.body":
                start = pending.pop()
                status = 422 if b'"MTCH-0001"' in message.get("body", b"") else 400
                await send({**start, "status": status})
            await send(message)

        await app(scope, receive, rewrite if scope["type"] == "http" else send)

    return flawed


def applies_before_refusing_key(_: Path) -> ASGIApp:
    """A callback with a malformed key is refused (400 MTCH-0015) but applied first, as if it had no key."""
    app = mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_callback(scope):
            await app(scope, receive, send)
            return
        raw = await _body(receive)
        key = dict((k.lower(), v) for k, v in scope["headers"]).get(b"x-idempotency-key")
        if key is not None and not key.replace(b"-", b"").isalnum():
            keyless = [(k, v) for k, v in scope["headers"] if k.lower() not in KEY_HEADERS]

            async def drop(_: Message) -> None:
                return None

            await app({**scope, "headers": keyless}, _sending(raw), drop)
        await app(scope, _sending(raw), send)

    return flawed


def forgets_lost_answers(_: Path) -> ASGIApp:
    """A callback whose answer is lost is stored under another key: its retry is applied again."""
    app = mock()

    async def flawed(scope: Scope, receive: Receive, send: Send) -> None:
        if _is_callback(scope) and any(k.lower() == b"x-mock-fault" for k, _ in scope["headers"]):
            swapped = [(k, uuid.uuid4().hex.encode() if k.lower() in KEY_HEADERS else v) for k, v in scope["headers"]]
            scope = {**scope, "headers": swapped}
        await app(scope, receive, send)

    return flawed


class _TenantBlindStore(MemoryStore):
    """Looks an exception up by its id alone: any tenant's callback finds (and moves) another tenant's exception."""

    async def get_exception(self, tenant: Any, exception_id: str) -> ExceptionRecord | None:
        return await super().get_exception(None, exception_id)


def other_tenant_acts_on_exception(_: Path) -> ASGIApp:
    """Another tenant's callback on an exception is applied instead of being answered 404."""
    return mock(store=_TenantBlindStore())


class _ReplayWritesBackStore(MemoryStore):
    """Keeps, with each stored answer, the exception as its callback left it, and writes it back when the answer is
    replayed: the replay is perfect, and the callback is applied again (the exception moves back)."""

    def __init__(self) -> None:
        super().__init__()
        self._left: dict[str, ExceptionRecord] = {}

    async def apply(
        self, tenant: Any, exception_id: str, transition: Transition, completion: Completion | None
    ) -> ExceptionRecord:
        record = await super().apply(tenant, exception_id, transition, completion)
        if completion is not None:
            self._left[completion.scope_key] = record
        return record

    async def claim(self, scope_key: str, fingerprint: str, now: float, in_flight_ttl: float) -> Any:
        outcome = await super().claim(scope_key, fingerprint, now, in_flight_ttl)
        if isinstance(outcome, Replay) and scope_key in self._left:
            await self.put_exception(self._left[scope_key])
        return outcome


def replay_applies_again(_: Path) -> ASGIApp:
    """A replay answers the stored answer but sets the exception back to what the first processing made it."""
    return mock(store=_ReplayWritesBackStore())


CLAUSE_FLAWS = {
    "applies_behind_replay": applies_behind_replay,
    "applied_twice_when_slow": applied_twice_when_slow,
    "lowercases_keys": lowercases_keys,
    "keys_both_headers_apart": keys_both_headers_apart,
    "forgets_answers_early": forgets_answers_early,
    "keeps_answers_forever": keeps_answers_forever,
    "in_flight_never_freed": in_flight_never_freed,
    "rejects_different_body": rejects_different_body,
    "echoes_no_request_id": echoes_no_request_id,
    "no_www_authenticate": no_www_authenticate,
    "no_retry_after": no_retry_after,
    "validation_errors_422": validation_errors_422,
    "applies_before_refusing_key": applies_before_refusing_key,
    "forgets_lost_answers": forgets_lost_answers,
    "other_tenant_acts_on_exception": other_tenant_acts_on_exception,
    "replay_applies_again": replay_applies_again,
}
