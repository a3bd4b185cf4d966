"""A callback request's moment: one read of the shared settings gives it its time and the active fault rules.

Every component of the request (journal, faults, idempotency, handler) then uses the same `now`, and the
store is read once instead of once per component.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from callback_kit.mock_server.clock import CLOCK_OFFSET, Clock
from callback_kit.mock_server.types import Store

MOMENT = "callback_kit.moment"
RULES = "fault_rules"


@dataclass(frozen=True)
class Moment:
    """When the request arrived, on the mock's clock, and the fault rules in force then."""

    now: float
    wall: float  # the clock's source time when `now` was taken (to derive later times without a read)
    rules: list[dict[str, Any]] = field(default_factory=list)


def moment_of(scope: Scope) -> Moment | None:
    moment = scope.get("extensions", {}).get(MOMENT)
    return moment if isinstance(moment, Moment) else None


async def now_of(scope: Scope, clock: Clock) -> float:
    """The request's time, or the clock's when the request has no moment (not a callback)."""
    moment = moment_of(scope)
    return moment.now if moment is not None else await clock.now()


async def later_of(scope: Scope, clock: Clock) -> float:
    """Now, later in the same request: its moment plus the time the clock's source says has passed."""
    moment = moment_of(scope)
    return moment.now + clock.wall() - moment.wall if moment is not None else await clock.now()


class MomentMiddleware:
    """Outermost of the kit's middlewares on the callback operation: takes the snapshot."""

    def __init__(self, app: ASGIApp, *, store: Store, clock: Clock, operation_id: str) -> None:
        self.app = app
        self.store = store
        self.clock = clock
        self.operation_id = operation_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if scope["type"] == "http" and routing.get("operation_id") == self.operation_id:
            settings = await self.store.settings()
            offset = float(settings.get(CLOCK_OFFSET) or 0.0)
            rules = json.loads(settings[RULES]) if settings.get(RULES) else []
            wall = self.clock.wall()
            scope.setdefault("extensions", {})[MOMENT] = Moment(wall + offset, wall, rules)
        await self.app(scope, receive, send)
