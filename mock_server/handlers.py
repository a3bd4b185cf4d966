"""The callback operation: read the body, check the rate limit, apply the transition (and complete the key)."""

from __future__ import annotations

import asyncio
import json
import math
import random
from typing import Any

from connexion import request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from callback_kit.contract import IdempotencyContract
from callback_kit.mock_server.callbacks import Callback, read_callback, transition
from callback_kit.mock_server.clock import Clock, iso
from callback_kit.mock_server.errors import Conflict, RateLimited, Unauthorized
from callback_kit.mock_server.exchange import buffer_body
from callback_kit.mock_server.faults import fault_of
from callback_kit.mock_server.idempotency import Claim, claim_of, principal_of
from callback_kit.mock_server.moment import now_of
from callback_kit.mock_server.profiles import PUBLISHED, Profile
from callback_kit.mock_server.types import Completion, InFlight, Replay, Store, StoredResponse

ACCEPTED = StoredResponse(200, b'{"status":"accepted"}', "application/json")
RATE_WINDOW = 60.0


class CallbackHandler:
    """`processCallback`, bound to one app's store, clock and settings."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        contract: IdempotencyContract,
        rate_limit_per_minute: int | None,
        profile: Profile = PUBLISHED,
    ) -> None:
        self.store = store
        self.clock = clock
        self.contract = contract
        self.rate_limit = rate_limit_per_minute or None
        self.profile = profile
        self.rng = random.Random()

    async def process_callback(self, exception_id: str, body: dict[str, Any]) -> Response:
        """The Connexion entry point (`CallbackEndpoint` answers first, so this serves only a bare app)."""
        return await self.handle(request.scope, exception_id, body)

    async def handle(self, scope: Scope, exception_id: str, body: dict[str, Any]) -> Response:
        """Apply a validated callback body to the exception, for the caller the security step identified."""
        principal = principal_of(scope)
        if principal is None:  # unreachable behind the security step; never process anonymously
            raise Unauthorized("missing authorization token")
        callback = read_callback(body, server_errors=self.profile.server_errors)
        now = await now_of(scope, self.clock)
        if self.rate_limit is not None:
            await self._check_rate(principal.tenant, callback.external_system, now)
        fault = fault_of(scope)
        if fault is not None and fault.action == "slow_processing":
            await asyncio.sleep(fault.delay(self.rng))  # the key stays claimed: a concurrent retry gets 409
        claim = claim_of(scope)
        if claim is not None and self.profile.dedup_layer:
            return await self._deduplicated(principal.tenant, exception_id.lower(), callback, claim, now)
        await self._apply(principal.tenant, exception_id.lower(), callback, claim, now)
        return _accepted()

    async def _apply(self, tenant: str, exception_id: str, callback: Callback, claim: Claim | None, now: float) -> None:
        completion = claim.completion(ACCEPTED, now, self.contract.completed_ttl) if claim else None
        change = transition(callback, iso(now), claim.key if claim else None, server_errors=self.profile.server_errors)
        await self.store.apply(tenant, exception_id, change, completion)
        if claim is not None:
            claim.completed = True

    async def _deduplicated(
        self, tenant: str, exception_id: str, callback: Callback, claim: Claim, now: float
    ) -> Response:
        """Matcher's second layer, keyed on (tenant, system, exception, key) whatever the principal or path spelling:
        a duplicate it catches is a fresh 200 that changes nothing."""
        dedup_key = json.dumps(["dedup", tenant, callback.external_system, exception_id, claim.key])
        outcome = await self.store.claim(dedup_key, "", now, self.contract.in_flight_ttl)
        if isinstance(outcome, InFlight):
            raise Conflict("callback is already being processed", code="MTCH-0504")
        if isinstance(outcome, Replay):
            return _accepted()
        try:
            await self._apply(tenant, exception_id, callback, claim, now)
        except BaseException:
            await self.store.release(dedup_key, outcome.token)
            raise
        done = Completion(dedup_key, outcome.token, "", ACCEPTED, now + self.contract.completed_ttl)
        await self.store.complete(done)
        return _accepted()

    async def _check_rate(self, tenant: str, system: str, now: float) -> None:
        window_start = math.floor(now / RATE_WINDOW) * RATE_WINDOW
        hits = await self.store.hit(f"rate:{tenant}:{system}", window_start, RATE_WINDOW)
        if self.rate_limit is not None and hits > self.rate_limit:
            if not self.profile.retry_after:
                raise RateLimited("callback rate limit exceeded")
            retry_after = max(1, math.ceil(window_start + RATE_WINDOW - now))
            raise RateLimited(
                "callback rate limit exceeded",
                details={"limitPerMinute": self.rate_limit, "externalSystem": system},
                headers={"Retry-After": str(retry_after)},
            )


def _accepted() -> Response:
    return Response(ACCEPTED.body, ACCEPTED.status, media_type=ACCEPTED.content_type)


class CallbackEndpoint:
    """The callback operation as a plain ASGI endpoint, innermost in the stack.

    Connexion has routed, authenticated and validated the request by now; its own handler layer would parse
    the body a second time and inspect the handler's signature on every call, which cost about a quarter of
    a callback's instructions when measured. Every other operation goes on to Connexion.
    """

    def __init__(self, app: ASGIApp, *, handler: CallbackHandler, operation_id: str) -> None:
        self.app = app
        self.handler = handler
        self.operation_id = operation_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if scope["type"] != "http" or routing.get("operation_id") != self.operation_id:
            await self.app(scope, receive, send)
            return
        raw, receive = await buffer_body(receive)
        exception_id = str(scope["path_params"]["exceptionId"])
        response = await self.handler.handle(scope, exception_id, json.loads(raw))
        await response(scope, receive, send)
