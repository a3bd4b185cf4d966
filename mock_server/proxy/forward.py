"""The forwarding app: every request but `/_mock/` goes to the upstream; a callback is also judged and journaled.

For a callback (`POST /v1/exceptions/{exceptionId}/callback`), in order:

    fault     the X-Mock-Fault header (taken off the forwarded request) or the first matching rule; a malformed
              header is the proxy's own 400, journaled
    status    a forced status is answered here, never forwarded
    latency   waits, then forwards
    ledger    looks the key up (`ledger.Ledger`), forwards, keeps a first answer
    judge     the contract suite's checks (`judge.judge`)
    journal   one entry of the mock's shape, with the violations (`journal`)
    answer    the upstream's answer unchanged; `slow_processing` holds it back, `lost_response` drops it
              (`DropConnectionMiddleware`, around the whole app, closes the connection instead)
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Scope, Send

from callback_kit.contract import CALLBACK_PATH, IdempotencyContract
from callback_kit.contract.exchange import Exchange
from callback_kit.mock_server.clock import Clock, iso
from callback_kit.mock_server.errors import MockError, render
from callback_kit.mock_server.faults import HEADER, Fault, forced_error, parse_header
from callback_kit.mock_server.middleware.faults import matching_fault, system_of
from callback_kit.mock_server.middleware.moment import RULES
from callback_kit.mock_server.middleware.request_id import HEADER as REQUEST_ID
from callback_kit.mock_server.middleware.request_id import sanitise
from callback_kit.mock_server.proxy.journal import append, journal_entry
from callback_kit.mock_server.proxy.judge import judge
from callback_kit.mock_server.proxy.ledger import Entry, Ledger, credential_of
from callback_kit.mock_server.proxy.upstream import Answer, RawHeaders, Upstream, UpstreamFailed
from callback_kit.mock_server.scope import buffer_body, exception_id, stash
from callback_kit.mock_server.types import Store

CALLBACK = re.compile("^" + re.escape(CALLBACK_PATH).replace(re.escape("{exceptionId}"), "[^/]+") + "/?$")
log = logging.getLogger("callback_kit.proxy")


@dataclass(frozen=True)
class Context:
    """What the forwarding app works with: the spec, its idempotency contract, the store and the upstream."""

    spec: dict[str, Any]
    contract: IdempotencyContract
    store: Store
    clock: Clock
    upstream: Upstream
    admin_token: str


class Forwarder:
    """The ASGI app behind the proxy's port, `/_mock/` aside."""

    def __init__(self, context: Context, *, seed: int | None = None) -> None:
        self.context = context
        self.ledger = Ledger(context.store, context.clock, context.contract)
        self.rng = random.Random(seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # websockets are not forwarded: the server closes them
        body, _ = await buffer_body(receive)
        target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        if scope["method"] != "POST" or not CALLBACK.match(scope["path"]):
            answer = await self._forward(scope["method"], target, scope["headers"], body, _request_id(scope))
            await _send(send, answer)
            return
        await self._callback(scope, send, target, body)

    async def _callback(self, scope: Scope, send: Send, target: str, body: bytes) -> None:
        started, wall = time.perf_counter(), self.context.clock.wall()
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        request_id = _request_id(scope)
        forwarded = [(k, v) for k, v in scope["headers"] if k.lower() != HEADER]
        key, key_header = self.ledger.key_of(headers)
        caller = credential_of(headers.get("authorization"))
        try:
            fault = await self._fault(scope, headers, body)
        except MockError as exc:  # a malformed X-Mock-Fault: the proxy's own 400, journaled as the mock does
            fault, entry, answer = None, Entry("none"), _own_answer(exc, request_id)
        else:
            entry, answer = await self._answer(scope, fault, caller, key, target, forwarded, body, request_id)
        exchange = Exchange(
            "proxy", scope["method"], target, _text(forwarded), body, answer.status, answer.reason,
            _text(answer.headers), answer.decoded, wall, time.perf_counter() - started,
        )  # fmt: skip
        await self.ledger.close(entry, exchange)  # before the answer leaves: a retry then finds it stored
        # The proxy's own answer (a forced status, an upstream down) is not the upstream's to be judged for.
        violations = [] if answer.own else judge(exchange, entry, self.context.spec, self.context.contract)
        if fault is not None and fault.action == "slow_processing":
            await asyncio.sleep(fault.delay(self.rng))
        request_id = exchange.header("x-request-id") or request_id
        secrets = {s: n for s, n in ((_credential(headers), "TOKEN"), (self.context.admin_token, "ADMIN_TOKEN")) if s}
        record = journal_entry(
            exchange, at=iso(await self.context.clock.now()), request_id=request_id, caller=caller,
            exception_id=exception_id(scope), key=key, key_header=key_header, claimed=entry.seen == "first",
            fault=fault, violations=violations, secrets=secrets, replay_header=self.context.contract.replay_header,
        )  # fmt: skip
        await append(self.context.store, record)
        for found in record["violations"]:
            log.warning(
                "violation by the %s, %s: %s (request %s)", found["party"], found["check"], found["message"], request_id
            )
        await _send(send, answer)

    async def _answer(
        self,
        scope: Scope,
        fault: Fault | None,
        caller: str,
        key: str | None,
        target: str,
        headers: RawHeaders,
        body: bytes,
        request_id: str,
    ) -> tuple[Entry, Answer]:
        """The answer to a callback: the forced status of a fault, or the upstream's, the key looked up first."""
        if fault is not None and fault.action == "status":
            return Entry("none"), _own_answer(forced_error(fault), request_id)
        if fault is not None and fault.action == "latency":
            await asyncio.sleep(fault.delay(self.rng))
        entry = await self.ledger.open(caller, scope["method"], scope["path"], key, body)
        try:
            return entry, await self._forward(scope["method"], target, headers, body, request_id)
        except BaseException:
            await self.ledger.abandon(entry)  # else the key would look in flight until its TTL ends
            raise

    async def _fault(self, scope: Scope, headers: dict[str, str], body: bytes) -> Fault | None:
        """The request's fault (the header first, then the rules), left in the scope for the outer layers."""
        named = headers.get(HEADER.decode())
        if named is not None:
            fault: Fault | None = parse_header(named)
        else:
            raw = await self.context.store.get_setting(RULES)
            facts = {"tenant": None, "exceptionId": exception_id(scope), "externalSystem": system_of(body)}
            fault = await matching_fault(_rules(raw), facts, self.context.store, self.rng) if raw else None
        if fault is not None:
            stash(scope, "fault", fault)
        return fault

    async def _forward(self, method: str, target: str, headers: RawHeaders, body: bytes, request_id: str) -> Answer:
        try:
            return await self.context.upstream.send(method, target, headers, body)
        except UpstreamFailed as exc:
            log.warning("%s", exc.message)
            return _own_answer(exc, request_id)


def _own_answer(error: MockError, request_id: str) -> Answer:
    """An answer the proxy gives itself, rendered by the mock's one error renderer (never judged), with the
    request's id (`request_id.sanitise`: the client's, else a fresh one)."""
    response = render(error)
    headers = [(k, v) for k, v in response.raw_headers if k not in (b"content-length", REQUEST_ID)]
    stamped = (REQUEST_ID, request_id.encode("latin-1", "replace"))
    return Answer(error.status, "", [*headers, stamped], bytes(response.body), own=True)


async def _send(send: Send, answer: Answer) -> None:
    headers = [*answer.headers, (b"content-length", str(len(answer.body)).encode())]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def _request_id(scope: Scope) -> str:
    """The id the proxy's own answers carry, as the mock's do: the client's X-Request-Id (sanitised) or a new one."""
    raw = next((value for name, value in scope["headers"] if name.lower() == REQUEST_ID), None)
    return sanitise(raw.decode("latin-1") if raw is not None else None)


def _text(headers: RawHeaders) -> tuple[tuple[str, str], ...]:
    return tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in headers)


def _credential(headers: dict[str, str]) -> str:
    """The secret part of the Authorization header ('' when none)."""
    return headers.get("authorization", "").strip().partition(" ")[2].strip()


def _rules(raw: str) -> list[dict[str, Any]]:
    rules = json.loads(raw)
    return list(rules) if isinstance(rules, list) else []
