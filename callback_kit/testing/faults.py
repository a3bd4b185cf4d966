"""Typed fault rules over the admin API (`POST /_mock/faults`): make the mock misbehave on purpose.

Each helper adds one rule and returns it as stored. `When` narrows a rule: to a tenant, an exception or an
external system, for the next `times` callbacks, or with a `probability`. A rule without `times` fires on every
callback it matches until it is removed (or the test ends: the `callback_mock` fixture resets the mock).

One fault per callback: the rules are tried in the order they were added, and only the first that matches, wins
its `probability` draw and has `times` left fires; a later matching rule waits (its `remaining` kept) until the
first is spent or removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Unpack

from callback_kit.testing.admin import AdminClient
from callback_kit.testing.journal import FaultAction
from callback_kit.testing.state import Tenant

ForcedStatus = Literal[429, 500, 503]


class When(TypedDict, total=False):
    """Which callbacks a rule applies to, and how often it fires."""

    tenant: Tenant | str
    """A tenant, or its id."""
    exception_id: str
    external_system: str
    times: int
    """Fire for the next `times` matching callbacks only."""
    probability: float
    """Fire on this share of the matching callbacks, in (0, 1]."""


@dataclass(frozen=True)
class FaultRule:
    """A rule as the mock stores it (`GET /_mock/faults`)."""

    id: str
    action: FaultAction
    match: dict[str, str]
    probability: float
    times: int | None
    ms: float | None = None
    max_ms: float | None = None
    status: int | None = None
    retry_after: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        return cls(
            id=data["id"],
            action=data["action"],
            match=dict(data.get("match") or {}),
            probability=float(data.get("probability", 1.0)),
            times=data.get("times"),
            ms=data.get("ms"),
            max_ms=data.get("maxMs"),
            status=data.get("status"),
            retry_after=data.get("retryAfter"),
        )


class Faults:
    """The fault rules of one mock."""

    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin

    def latency(self, ms: float, max_ms: float | None = None, **when: Unpack[When]) -> FaultRule:
        """Wait `ms` milliseconds before processing (or a random time between `ms` and `max_ms`)."""
        fields: dict[str, Any] = {"ms": ms} if max_ms is None else {"minMs": ms, "maxMs": max_ms}
        return self._add("latency", fields, when)

    def force_status(self, status: ForcedStatus, *, retry_after: int = 1, **when: Unpack[When]) -> FaultRule:
        """Answer at once with `status` (429, 500 or 503) and the spec's error body, without processing."""
        return self._add("status", {"status": status, "retryAfter": retry_after}, when)

    def lose_response(self, **when: Unpack[When]) -> FaultRule:
        """Process and store the callback, then close the connection without answering: the lost answer."""
        return self._add("lost_response", {}, when)

    def slow_processing(self, ms: float, **when: Unpack[When]) -> FaultRule:
        """Hold the callback in flight (its key claimed) for `ms` milliseconds: a concurrent retry gets 409."""
        return self._add("slow_processing", {"ms": ms}, when)

    def active(self) -> list[FaultRule]:
        """The active rules, in the order the mock tries them."""
        return [FaultRule.from_json(rule) for rule in self._admin.call("GET", "/faults")]

    def remove(self, rule: FaultRule | str) -> None:
        """Remove one rule (or its id)."""
        self._admin.call("DELETE", f"/faults/{rule.id if isinstance(rule, FaultRule) else rule}")

    def clear(self) -> None:
        """Remove every rule."""
        self._admin.call("DELETE", "/faults")

    def _add(self, action: FaultAction, fields: dict[str, Any], when: When) -> FaultRule:
        rule: dict[str, Any] = {"action": action, **fields}
        match = {
            name: value
            for name, value in (
                ("tenant", _tenant_id(when.get("tenant"))),
                ("exceptionId", when.get("exception_id")),
                ("externalSystem", when.get("external_system")),
            )
            if value is not None
        }
        if match:
            rule["match"] = match
        if "times" in when:
            rule["times"] = when["times"]
        if "probability" in when:
            rule["probability"] = when["probability"]
        return FaultRule.from_json(self._admin.call("POST", "/faults", body=rule))


def _tenant_id(tenant: Tenant | str | None) -> str | None:
    return tenant.id if isinstance(tenant, Tenant) else tenant
