"""The callback operation: read the body, check the rate limit, apply the transition (and complete the key)."""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

from connexion import request
from starlette.responses import Response
from starlette.types import Scope

from callback_kit.contract import IdempotencyContract
from callback_kit.mock_server.auth import principal_of
from callback_kit.mock_server.callbacks import Callback, read_callback, transition
from callback_kit.mock_server.clock import Clock, iso
from callback_kit.mock_server.errors import RateLimited, Unauthorized
from callback_kit.mock_server.faults import fault_of
from callback_kit.mock_server.middleware.idempotency import Claim, claim_of, deduplicated
from callback_kit.mock_server.middleware.moment import now_of
from callback_kit.mock_server.profiles import PUBLISHED, Profile
from callback_kit.mock_server.scope import stash
from callback_kit.mock_server.types import Store, StoredResponse

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
        tenant, exception = principal.tenant, exception_id.lower()

        async def apply() -> None:
            await self._apply(tenant, exception, callback, claim, now)
            stash(scope, "applied", True)  # the journal tells an applied callback from a deduplicated one

        if claim is not None and self.profile.dedup_layer:
            key = (tenant, callback.external_system, exception)
            await deduplicated(self.store, self.contract, claim, key, now, apply)
        else:
            await apply()
        return accepted()

    async def _apply(self, tenant: str, exception_id: str, callback: Callback, claim: Claim | None, now: float) -> None:
        completion = claim.completion(ACCEPTED, now, self.contract.completed_ttl) if claim else None
        change = transition(callback, iso(now), claim.key if claim else None, server_errors=self.profile.server_errors)
        await self.store.apply(tenant, exception_id, change, completion)
        if claim is not None:
            claim.completed = True

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


def accepted() -> Response:
    return Response(ACCEPTED.body, ACCEPTED.status, media_type=ACCEPTED.content_type)
