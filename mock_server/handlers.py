"""The callback operation: read the body, check the rate limit, apply the transition (and complete the key)."""

from __future__ import annotations

import asyncio
import json
import math
import random
from typing import Any

from connexion import request
from starlette.responses import Response

from mock_server.callbacks import Callback, read_callback, transition
from mock_server.clock import Clock, iso
from mock_server.contract import IdempotencyContract
from mock_server.errors import Conflict, RateLimited, Unauthorized
from mock_server.faults import fault_of
from mock_server.idempotency import Claim, claim_of, principal_of
from mock_server.moment import now_of
from mock_server.profiles import PUBLISHED, Profile
from mock_server.types import Completion, InFlight, Replay, Store, StoredResponse

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
        scope = request.scope
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
