"""A callback request's moment: one read of the shared settings gives it its time and the active fault rules.

Every later layer of the request (journal, faults, idempotency, handler) uses the same `now`, and the store
is read once instead of once per layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from callback_kit.mock_server.clock import CLOCK_OFFSET, Clock
from callback_kit.mock_server.scope import CallbackLayer, stash, stashed
from callback_kit.mock_server.types import Store

RULES = "fault_rules"


@dataclass(frozen=True)
class Moment:
    """When the request arrived, on the mock's clock, and the fault rules in force then."""

    now: float
    wall: float  # the clock's source time when `now` was taken (to derive later times without a read)
    rules: list[dict[str, Any]] = field(default_factory=list)


def moment_of(scope: Scope) -> Moment | None:
    return stashed(scope, "moment", Moment)


async def now_of(scope: Scope, clock: Clock) -> float:
    """The request's time, or the clock's when the request has no moment (not a callback)."""
    moment = moment_of(scope)
    return moment.now if moment is not None else await clock.now()


async def later_of(scope: Scope, clock: Clock) -> float:
    """Now, later in the same request: its moment plus the time the clock's source says has passed."""
    moment = moment_of(scope)
    return moment.now + clock.wall() - moment.wall if moment is not None else await clock.now()


class MomentMiddleware(CallbackLayer):
    """Outermost of the kit's layers on the callback operation: takes the snapshot."""

    def __init__(self, app: ASGIApp, *, store: Store, clock: Clock) -> None:
        super().__init__(app)
        self.store = store
        self.clock = clock

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = await self.store.settings()
        offset = float(settings.get(CLOCK_OFFSET) or 0.0)
        rules = json.loads(settings[RULES]) if settings.get(RULES) else []
        wall = self.clock.wall()
        stash(scope, "moment", Moment(wall + offset, wall, rules))
        await self.app(scope, receive, send)
