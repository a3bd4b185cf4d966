"""Fault injection: the moments an integrator's retry logic must survive, on demand.

A fault comes from a rule set through the admin API (`/_mock/faults`, shared by every worker through the
store) or from the request header `X-Mock-Fault`, for that request only. Actions:

    latency          wait before processing: {"ms": 250} or {"minMs": 100, "maxMs": 900}
    status           answer at once with the spec's error body: {"status": 429|500|503, "retryAfter": 2}
    lost_response    process and store the result, then drop the connection without answering
    slow_processing  hold the request in flight (key claimed) for {"ms": 3000}: a concurrent retry gets 409

A rule matches on `tenant`, `exceptionId` and `externalSystem` (all optional) and fires with a
`probability` and/or for the next `times` requests; a spent rule (`remaining` 0) stays listed until removed.
One fault per request: the header if given, else the first rule that matches, wins its draw and has times left.
The header form is `X-Mock-Fault: latency=250`, `latency=100-900`, `status=503`, `status=429;retry-after=5`,
`lost-response` or `slow-processing=3000`.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from starlette.types import Scope

from callback_kit.mock_server.errors import BadRequest, MockError, RateLimited, StoreUnavailable
from callback_kit.mock_server.scope import stashed

HEADER = b"x-mock-fault"
Action = Literal["latency", "status", "lost_response", "slow_processing"]
ACTIONS: tuple[Action, ...] = ("latency", "status", "lost_response", "slow_processing")
FORCED_STATUSES = (429, 500, 503)
MAX_MS = 600_000  # the longest delay a fault may ask for, ten minutes
MAX_RETRY_AFTER = 3600
# The one window a rule's `times` are counted in: from the epoch to the year 2286, so that no store collects the
# count while the rule lives (SQLite drops windows that ended over a day ago; a day-long window from 1970 had).
FIRING_WINDOW = (0.0, 1e10)


@dataclass(frozen=True)
class Fault:
    """One fault to apply to one request."""

    action: Action
    ms: float = 0.0
    max_ms: float | None = None
    status: int = 503
    retry_after: int = 1
    rule: str | None = None

    def delay(self, rng: random.Random) -> float:
        return rng.uniform(self.ms, self.max_ms) / 1000 if self.max_ms is not None else self.ms / 1000

    def describe(self) -> dict[str, Any]:
        return {"action": self.action, "rule": self.rule}


def parse_rule(raw: dict[str, Any]) -> dict[str, Any]:
    """A rule from the admin API, checked and normalised; raises `BadRequest` naming the broken field."""
    action = raw.get("action")
    if action not in ACTIONS:
        raise BadRequest(f"action must be one of {', '.join(ACTIONS)} (got {action!r})", details={"field": "action"})
    rule: dict[str, Any] = {"id": raw.get("id") or uuid.uuid4().hex[:8], "action": action}
    match = raw.get("match") or {}
    if not isinstance(match, dict) or set(match) - {"tenant", "exceptionId", "externalSystem"}:
        raise BadRequest("match may name tenant, exceptionId and externalSystem only", details={"field": "match"})
    rule["match"] = {k: str(v) for k, v in match.items()}
    probability = raw.get("probability", 1.0)
    if not isinstance(probability, (int, float)) or not 0 < probability <= 1:
        raise BadRequest(f"probability must be in (0, 1] (got {probability!r})", details={"field": "probability"})
    rule["probability"] = float(probability)
    times = raw.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise BadRequest(f"times must be a whole number >= 1 (got {times!r})", details={"field": "times"})
    rule["times"] = times
    rule.update(_action_fields(action, raw))
    return rule


def _action_fields(action: str, raw: dict[str, Any]) -> dict[str, Any]:
    """A fault's values checked against the one set of limits, for a rule and for a header alike."""
    if action in ("latency", "slow_processing"):
        low, high = raw.get("minMs", raw.get("ms")), raw.get("maxMs")
        if not _number(low) or not 0 <= low <= MAX_MS:
            raise BadRequest(
                f"{action} needs ms (or minMs and maxMs) from 0 to {MAX_MS} (got {low!r})", details={"field": "ms"}
            )
        if high is not None and (not _number(high) or not low <= high <= MAX_MS):
            raise BadRequest(
                f"maxMs must be from minMs ({low!r}) to {MAX_MS} (got {high!r})", details={"field": "maxMs"}
            )
        return {"ms": float(low), "maxMs": None if high is None else float(high)}
    if action == "status":
        status, retry_after = raw.get("status"), raw.get("retryAfter", 1)
        if status not in FORCED_STATUSES or isinstance(status, bool):
            raise BadRequest(f"status must be one of 429, 500, 503 (got {status!r})", details={"field": "status"})
        if not _number(retry_after) or retry_after != int(retry_after) or not 0 <= retry_after <= MAX_RETRY_AFTER:
            raise BadRequest(
                f"retryAfter must be a whole number of seconds from 0 to {MAX_RETRY_AFTER} (got {retry_after!r})",
                details={"field": "retryAfter"},
            )
        return {"status": status, "retryAfter": int(retry_after)}
    return {}


def _number(value: object) -> TypeGuard[float]:
    """True for a finite int or float (JSON's NaN and Infinity, and booleans, are no delay)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_header(value: str) -> Fault:
    """The fault an `X-Mock-Fault` header asks for, its values checked as a rule's are; raises `BadRequest`."""
    raw = _header_rule(value)
    try:
        fields = _action_fields(raw["action"], raw)
    except BadRequest as exc:
        raise BadRequest(
            f"X-Mock-Fault {value[:60]!r} is refused: {exc.message}",
            details={"field": "X-Mock-Fault", "rule": (exc.details or {}).get("field", "format")},
        ) from None
    return from_rule({"id": None, "action": raw["action"], **fields})


def _header_rule(value: str) -> dict[str, Any]:
    """The header's fault in the admin API's form (values not yet checked); raises `BadRequest` on another form."""
    parts = [p.strip() for p in value.split(";") if p.strip()]
    name, _, argument = (parts[0] if parts else "").partition("=")
    options = dict(p.partition("=")[::2] for p in parts[1:])
    try:
        if name in ("latency", "slow-processing"):
            low, _, high = argument.partition("-")
            action = "latency" if name == "latency" else "slow_processing"
            return {"action": action, "minMs": _parsed(low), "maxMs": _parsed(high) if high else None}
        if name == "status":
            return {"action": "status", "status": int(argument), "retryAfter": _parsed(options.get("retry-after", "1"))}
        if name == "lost-response":
            return {"action": "lost_response"}
    except ValueError:
        pass
    raise BadRequest(
        f"X-Mock-Fault {value[:60]!r} is not a fault: use latency=250, latency=100-900, status=503, "
        "status=429;retry-after=5, lost-response or slow-processing=3000",
        details={"field": "X-Mock-Fault", "rule": "format"},
    )


def _parsed(text: str) -> float:
    """A header's number (int when whole, so that a whole retry-after stays one); raises ValueError."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def firings(rule_id: str) -> str:
    """The store counter of a rule's firings (in one window, `FIRING_WINDOW`, from the epoch)."""
    return f"fault:{rule_id}"


def with_remaining(rule: dict[str, Any], fired: int) -> dict[str, Any]:
    """The rule as the admin API lists it: with `remaining`, the firings left of its `times` (None: no limit)."""
    times = rule.get("times")
    return {**rule, "remaining": None if times is None else max(0, times - fired)}


def from_rule(rule: dict[str, Any]) -> Fault:
    return Fault(
        rule["action"],
        ms=rule.get("ms", 0.0) or 0.0,
        max_ms=rule.get("maxMs"),
        status=rule.get("status", 503),
        retry_after=rule.get("retryAfter", 1),
        rule=rule.get("id"),
    )


def forced_error(fault: Fault) -> MockError:
    """The spec's error for a forced status."""
    if fault.status == 429:
        return RateLimited("callback rate limit exceeded", headers={"Retry-After": str(fault.retry_after)})
    if fault.status == 503:
        return StoreUnavailable("service unavailable (injected fault)", retry_after=fault.retry_after)
    return MockError("an unexpected error occurred")


def fault_of(scope: Scope) -> Fault | None:
    """The fault chosen for this request (by `middleware.faults`), if any."""
    return stashed(scope, "fault", Fault)
