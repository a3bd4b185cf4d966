"""A small model of the callback contract: what the server must answer to a callback, given what came before.

It knows the state rules the spec's operation description states (OPEN may become ASSIGNED or RESOLVED;
ASSIGNED and PENDING_RESOLUTION may become RESOLVED; the same status is a metadata update; anything else
is 409 `MTCH-0507`; an id the tenant does not own is 404 `MTCH-0501`) and takes the idempotency rules from
the spec's `x-idempotency` block. It is written independently of the mock, so that the two can disagree.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from callback_kit.contract import IdempotencyContract
from callback_kit.contract.checks import ACCEPTED, FORBIDDEN_TRANSITION, NOT_FOUND, Expected

Status = Literal["OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED"]
STATUSES: tuple[Status, ...] = ("OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED")
ALLOWED: dict[Status, frozenset[Status]] = {
    "OPEN": frozenset({"ASSIGNED", "RESOLVED"}),
    "ASSIGNED": frozenset({"RESOLVED"}),
    "PENDING_RESOLUTION": frozenset({"RESOLVED"}),
    "RESOLVED": frozenset(),
}
__all__ = ["ACCEPTED", "STATUSES", "Expected", "Model", "Status", "fingerprint", "request_body", "transition"]


def request_body(status: Status, *, issue: str | None = None, **extra: Any) -> dict[str, Any]:
    """A valid callback body asking for `status` (with an assignee when the status needs one)."""
    # A system of its own per callback: Matcher rate-limits callbacks per tenant and external system.
    body: dict[str, Any] = {
        "externalSystem": f"KIT-{uuid.uuid4().hex[:8].upper()}",
        "externalIssueId": issue or f"CK-{uuid.uuid4().hex[:10]}",
        "status": status,
        "callbackType": "status_update",
    }
    if status == "ASSIGNED":
        body["assignee"] = "contract-kit@example.com"
    return {**body, **extra}


def transition(current: Status, target: Status) -> tuple[int, str | None]:
    """The status and error code the contract gives to moving `current` to `target`."""
    if target == current or target in ALLOWED[current]:
        return 200, None
    return 409, FORBIDDEN_TRANSITION


def fingerprint(body: Any) -> str:
    """A body's identity: key order and white space do not make a different request."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    status: int
    body: bytes
    fingerprint: str


@dataclass
class Model:
    """Exceptions of one tenant and the responses stored under their keys, as the contract says they are."""

    contract: IdempotencyContract
    exceptions: dict[str, Status] = field(default_factory=dict)
    stored: dict[tuple[str, str], Stored] = field(default_factory=dict)

    def add(self, exception_id: str, status: Status) -> None:
        self.exceptions[exception_id] = status

    def predict(self, exception_id: str, body: dict[str, Any], key: str | None) -> Expected:
        """The answer the contract requires to this callback now."""
        stored = self.stored.get(self._scope(exception_id, key)) if key else None
        if stored is not None:
            if stored.fingerprint != fingerprint(body) and self.contract.on_different_body == "reject":
                error = self.contract.different_body
                return Expected(error.status, replayed=False, code=error.code)
            return Expected(stored.status, replayed=True, body=stored.body)
        current = self.exceptions.get(exception_id)
        if current is None:
            return Expected(404, replayed=False, code=NOT_FOUND)
        status, code = transition(current, body["status"])
        return Expected(status, replayed=False, code=code)

    def commit(self, exception_id: str, body: dict[str, Any], key: str | None, status: int, raw: bytes) -> None:
        """Take in an answer that matched `predict`: move the exception, store the response under its key."""
        scope = self._scope(exception_id, key)
        if key and scope in self.stored:
            return
        if status == 200 and exception_id in self.exceptions:
            self.exceptions[exception_id] = body["status"]
        if key and status < self.contract.store_status_below:
            self.stored[scope] = Stored(status, raw, fingerprint(body))

    def _scope(self, exception_id: str, key: str | None) -> tuple[str, str]:
        # One tenant, one principal and one method: only the path (the exception) can tell scopes apart.
        return (exception_id.lower() if "path" in self.contract.scope else "", key or "")
