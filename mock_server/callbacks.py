"""The callback rules: how a callback body is read, and the state machine it drives.

Reading follows the reference: strings are trimmed, `externalSystem` is upper-cased, and absent fields fall
back to `callbackType` (for the system) and to fixed keys of `payload` (string values only). Applying
follows its transition table; where the reference answers 500 to a client mistake, the mock answers 400
(an invalid value) or 409 `MTCH-0507` (a transition the current status forbids).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from callback_kit.contract.schemas import parse_rfc3339
from callback_kit.mock_server.errors import BadRequest, Conflict, MockError
from callback_kit.mock_server.types import STATUSES, ExceptionRecord, Status, Transition

# The same characters the spec's "not blank" pattern excludes, so the spec and the mock agree on blankness.
BLANK = " \t\n\r\f\v"
ALLOWED: dict[Status, frozenset[Status]] = {
    "OPEN": frozenset({"ASSIGNED", "RESOLVED"}),
    "ASSIGNED": frozenset({"RESOLVED"}),
    "PENDING_RESOLUTION": frozenset({"RESOLVED"}),
    "RESOLVED": frozenset(),
}
# Matcher 2.1's transition table: wider than what a callback can do; the rest is refused later.
MATCHER_TABLE: dict[Status, frozenset[Status]] = {
    "OPEN": frozenset({"ASSIGNED", "RESOLVED", "PENDING_RESOLUTION"}),
    "ASSIGNED": frozenset({"RESOLVED", "PENDING_RESOLUTION"}),
    "PENDING_RESOLUTION": frozenset({"RESOLVED", "OPEN", "ASSIGNED"}),
    "RESOLVED": frozenset(),
}
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class Callback:
    """A callback body after trimming, fallbacks and normalisation."""

    external_system: str
    external_issue_id: str
    status: Status
    callback_type: str | None = None
    resolution_notes: str | None = None
    assignee: str | None = None
    due_at: str | None = None
    updated_at: str | None = None

    def summary(self, at: str, key: str | None) -> dict[str, Any]:
        """What the exception's history keeps of this callback."""
        return {
            "at": at,
            "status": self.status,
            "externalSystem": self.external_system,
            "externalIssueId": self.external_issue_id,
            "callbackType": self.callback_type,
            "idempotencyKey": key,
        }


def read_callback(body: dict[str, Any], *, server_errors: bool = False) -> Callback:
    """Read a (schema-valid) body into a `Callback`; raises `BadRequest` for what the schema cannot say.

    With `server_errors` (the matcher profile), a status that is no status is a 500, as in Matcher 2.1.
    """
    raw_payload = body.get("payload")
    payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
    system = _text(body, "externalSystem") or _text(body, "callbackType")
    system = system or _text(payload, "external_system") or _text(payload, "externalSystem")
    if not system:
        raise BadRequest("external system is required", details={"field": "externalSystem", "rule": "required"})
    issue = _text(body, "externalIssueId") or _text(payload, "external_issue_id")
    issue = issue or _text(payload, "externalIssueID")
    if not issue:
        raise BadRequest("external issue id is required", details={"field": "externalIssueId", "rule": "required"})
    status = (_text(body, "status") or _text(payload, "status") or "").upper()
    if not status:
        raise BadRequest("callback status is required", details={"field": "status", "rule": "required"})
    if status not in STATUSES:
        if server_errors:
            raise MockError("an unexpected error occurred")
        raise BadRequest(
            f"invalid callback status {status!r}: expected one of {', '.join(STATUSES)}",
            details={"field": "status", "rule": "enum"},
        )
    notes = _text(body, "resolutionNotes") or _text(payload, "resolution_notes") or _text(payload, "resolutionNotes")
    return Callback(
        external_system=system.upper(),
        external_issue_id=issue,
        status=status,  # type: ignore[arg-type]
        callback_type=_text(body, "callbackType"),
        resolution_notes=notes,
        assignee=_text(body, "assignee") or _text(payload, "assignee"),
        due_at=_time(body, payload, "dueAt", "due_at", server_errors=server_errors),
        updated_at=_time(body, payload, "updatedAt", "updated_at", server_errors=server_errors),
    )


def transition(callback: Callback, at: str, key: str | None, *, server_errors: bool = False) -> Transition:
    """The pure function that moves an exception as `callback` asks, or refuses.

    Refusals follow the published contract (409 for a transition the status forbids), or, with
    `server_errors`, Matcher 2.1's own answers (its 400 texts and its 500s).
    """
    refuse = _matcher_refusal if server_errors else _published_refusal

    def apply(record: ExceptionRecord) -> ExceptionRecord:
        target = callback.status
        changes: dict[str, Any]
        if target == record.status:
            # Same status: a metadata update; only what the callback carries changes.
            changes = {"assignee": callback.assignee or record.assignee, "due_at": callback.due_at or record.due_at}
        else:
            refusal = refuse(record, callback)
            if refusal is not None:
                raise refusal
            if target == "ASSIGNED":
                # An absent dueAt clears the previous due date, as the reference does.
                changes = {"status": "ASSIGNED", "assignee": callback.assignee, "due_at": callback.due_at}
            else:
                notes = callback.resolution_notes or f"Resolved via {callback.external_system} callback"
                changes = {"status": "RESOLVED", "resolution_notes": notes}
        # One `replace` per callback (it was two: `replace` is a fifth of the state machine's cost).
        return replace(
            record,
            external_system=callback.external_system,
            external_issue_id=callback.external_issue_id,
            version=record.version + 1,
            updated_at=at,
            callbacks=(*record.callbacks, callback.summary(at, key))[-HISTORY_LIMIT:],
            **changes,
        )

    return apply


def _published_refusal(record: ExceptionRecord, callback: Callback) -> MockError | None:
    current, target = record.status, callback.status
    if target not in ALLOWED[current]:
        allowed = sorted(ALLOWED[current])
        if allowed:
            hint = f"from {current} a callback may ask for {' or '.join(allowed)}, or {current} to update metadata"
        else:
            hint = f"{current} is final: only {current} itself, to update metadata"
        return Conflict(
            f"cannot move an exception from {current} to {target} ({hint})", details={"from": current, "to": target}
        )
    if target == "ASSIGNED" and not callback.assignee:
        return BadRequest("callback assignee is required", details={"field": "assignee", "rule": "required"})
    if target == "RESOLVED" and current == "ASSIGNED" and not record.assignee:
        return Conflict(
            "cannot resolve an ASSIGNED exception that has no assignee", details={"from": current, "to": target}
        )
    return None


def _matcher_refusal(record: ExceptionRecord, callback: Callback) -> MockError | None:
    """Matcher 2.1's order of checks: its transition table, then the callback's own rules, then the entity's."""
    current, target = record.status, callback.status
    if target not in MATCHER_TABLE[current]:
        return MockError("an unexpected error occurred")
    if target == "OPEN":
        return BadRequest("apply callback: OPEN is not a valid callback resolution target: use ASSIGNED or RESOLVED")
    if target == "PENDING_RESOLUTION":
        return BadRequest("apply callback: callback status is unsupported: PENDING_RESOLUTION")
    if target == "ASSIGNED":
        if not callback.assignee:
            return BadRequest("apply callback: callback assignee is required")
        return None if current == "OPEN" else MockError("an unexpected error occurred")
    if current == "ASSIGNED" and not record.assignee:
        return MockError("an unexpected error occurred")
    return None


def _text(source: dict[str, Any], name: str) -> str | None:
    value = source.get(name)
    if not isinstance(value, str):
        return None
    return value.strip(BLANK) or None


def _time(
    body: dict[str, Any], payload: dict[str, Any], name: str, snake: str, *, server_errors: bool = False
) -> str | None:
    raw = body.get(name)
    from_payload = raw is None
    if from_payload:
        raw = _text(payload, snake) or _text(payload, name)
    if raw is None:
        return None
    parsed = parse_rfc3339(raw) if isinstance(raw, str) else None
    if parsed is None:
        if from_payload and server_errors:  # Matcher 2.1 parses payload dates after its checks: a 500
            raise MockError("an unexpected error occurred")
        raise BadRequest(
            f"invalid {name} format {raw!r}: expected RFC 3339, e.g. 2026-11-07T05:31:56Z",
            details={"field": name, "rule": "format"},
        )
    return parsed
