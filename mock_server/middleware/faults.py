"""Applies the fault of a callback request: the header `X-Mock-Fault` first, then the admin API's rules.

The faults themselves (their forms, their parsing, the forced errors) are described in `mock_server.faults`.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from callback_kit.mock_server.auth import principal_of
from callback_kit.mock_server.faults import (
    FIRING_WINDOW,
    HEADER,
    Fault,
    firings,
    forced_error,
    from_rule,
    parse_header,
)
from callback_kit.mock_server.middleware.moment import moment_of
from callback_kit.mock_server.scope import CallbackLayer, buffer_body, exception_id, stash
from callback_kit.mock_server.types import Store


class FaultMiddleware(CallbackLayer):
    """Picks the fault of a callback request (header first, then the rules) and applies it."""

    def __init__(self, app: ASGIApp, *, store: Store, seed: int | None = None) -> None:
        super().__init__(app)
        self.store = store
        self.rng = random.Random(seed)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = next((v for k, v in scope["headers"] if k == HEADER), None)
        if header is not None:
            fault: Fault | None = parse_header(header.decode("latin-1"))
        else:
            moment = moment_of(scope)
            fault = None
            if moment is not None and moment.rules:
                body, receive = await buffer_body(receive)
                fault = await self._matching_rule(moment.rules, scope, body)
        if fault is None:
            await self.app(scope, receive, send)
            return
        stash(scope, "fault", fault)
        if fault.action == "status":
            await buffer_body(receive)  # read it, so that the journal records what was sent
            raise forced_error(fault)
        if fault.action == "latency":
            # A slow server answers late even to a client gone (the timeout retry reports look for); a stop cuts
            # the wait short after its grace (`middleware.cut_short`), so a latency never keeps the server up.
            await asyncio.sleep(fault.delay(self.rng))
        await self.app(scope, receive, send)

    async def _matching_rule(self, rules: list[dict[str, Any]], scope: Scope, body: bytes) -> Fault | None:
        principal = principal_of(scope)
        facts = {
            "tenant": principal.tenant if principal else None,
            "exceptionId": exception_id(scope),
            "externalSystem": system_of(body),
        }
        return await matching_fault(rules, facts, self.store, self.rng)


async def matching_fault(
    rules: list[dict[str, Any]], facts: dict[str, str | None], store: Store, rng: random.Random
) -> Fault | None:
    """The fault of the first rule that matches a request's facts, fires by its probability and has times left.

    The mock and the proxy pick faults with this one function (the proxy knows no tenant: its facts say None).
    """
    for rule in rules:
        if any(str(facts.get(k) or "").lower() != v.lower() for k, v in rule["match"].items()):
            continue
        if rng.random() >= rule["probability"]:
            continue
        if rule.get("times") is not None:
            used = await store.hit(firings(rule["id"]), *FIRING_WINDOW)
            if used > rule["times"]:
                continue
        return from_rule(rule)
    return None


def system_of(body: bytes) -> str | None:
    """The callback body's `externalSystem`, upper-cased as the mock stores it (None when absent)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    value = data.get("externalSystem") if isinstance(data, dict) else None
    return value.strip().upper() if isinstance(value, str) else None
