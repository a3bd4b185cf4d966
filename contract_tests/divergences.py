"""The known divergences of the real implementation from the published contract, and how to recognise them.

The numbers are those of section 6 of the reference (`callback-endpoint.md`, "Discrepancies: public doc vs
code"). A failure that matches one is still a failure; the report names it, so that a team running the suite
against Matcher itself can tell a known gap from a new bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from contract_tests.client import Exchange
from mock_server.contract import IdempotencyContract

_STATUSES = ("OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_KEY_REQUIRED = "X-Idempotency-Key header is required"


@dataclass(frozen=True)
class Divergence:
    number: int
    title: str

    def __str__(self) -> str:
        return f"known divergence #{self.number}: {self.title}"


KEY_REQUIRED = Divergence(1, "X-Idempotency-Key required (400 'X-Idempotency-Key header is required')")
ALIAS_IGNORED = Divergence(2, "Idempotency-Key ignored (only X-Idempotency-Key is read)")
NEVER_FALSE = Divergence(3, "X-Idempotency-Replayed never 'false' (absent on first processing)")
AUTH_OPTIONAL = Divergence(6, "bearer auth enforced only when enabled (off by default)")
UNKNOWN_STATUS_500 = Divergence(7, "500 for an unknown status value")
FORBIDDEN_TRANSITION_500 = Divergence(7, "500 for a transition the current status forbids")
VALID_STATUS_500 = Divergence(7, "500 for a callback with a valid status (a transition the current status forbids?)")
PAYLOAD_DATE_500 = Divergence(7, "500 for a malformed payload date")
PLAIN_403 = Divergence(7, "403 from the auth layer as plain text, not the error body")
NUMERIC_429 = Divergence(8, "429 with the lib-commons body (numeric code 429)")
PAYLOAD_FALLBACK = Divergence(9, "payload used as a fallback for absent top-level fields")
STATUS_ANY_CASE = Divergence(11, "status values parsed case-insensitively")
CALLBACK_TYPE_FALLBACK = Divergence(12, "callbackType used as a fallback for externalSystem")


def classify(
    exchange: Exchange,
    contract: IdempotencyContract,
    *,
    expected_status: int | None = None,
    expected_replay: bool | None = None,
    check: str | None = None,
) -> Divergence | None:
    """The known divergence this exchange shows, if any, given what the contract wanted of it."""
    status, body, sent = exchange.status, exchange.json(), exchange.request_json()
    sent = sent if isinstance(sent, dict) else {}
    primary, *aliases = contract.headers
    has_primary = exchange.request_header(primary) is not None
    alias_values = {exchange.request_header(name) for name in aliases} - {None}
    message = body.get("message", "") if isinstance(body, dict) else ""
    if status == 400 and _KEY_REQUIRED.lower() in str(message).lower():
        return ALIAS_IGNORED if alias_values and not has_primary else KEY_REQUIRED
    if has_primary and alias_values - {exchange.request_header(primary)} and status != 400:
        return ALIAS_IGNORED
    if check == "ignored_auth" and status < 400:
        return AUTH_OPTIONAL
    if 200 <= status < 300 and expected_replay is not True and exchange.header(contract.replay_header) is None:
        return NEVER_FALSE
    if status == 403 and "json" not in (exchange.header("content-type") or ""):
        return PLAIN_403
    if status == 429 and isinstance(body, dict) and body.get("code") == 429:
        return NUMERIC_429
    if status >= 500:
        return _server_error(sent, expected_status)
    if 200 <= status < 300:
        return _lenient_reading(sent)
    return None


def _server_error(sent: dict[str, Any], expected_status: int | None) -> Divergence | None:
    target = sent.get("status")
    if isinstance(target, str) and target.strip().upper() not in _STATUSES:
        return UNKNOWN_STATUS_500
    payload = sent.get("payload")
    if isinstance(payload, dict) and any(
        isinstance(payload.get(name), str) and payload[name].strip() and not _RFC3339.fullmatch(payload[name].strip())
        for name in ("due_at", "dueAt", "updated_at", "updatedAt")
    ):
        return PAYLOAD_DATE_500
    if expected_status == 409:
        return FORBIDDEN_TRANSITION_500
    if expected_status is None and isinstance(target, str) and target in _STATUSES:
        return VALID_STATUS_500  # generated cases: the exception's status is not known, only likely
    return None


def _lenient_reading(sent: dict[str, Any]) -> Divergence | None:
    target = sent.get("status")
    if isinstance(target, str) and target not in _STATUSES and target.strip().upper() in _STATUSES:
        return STATUS_ANY_CASE
    if _blank(sent.get("externalSystem")) and not _blank(sent.get("callbackType")):
        return CALLBACK_TYPE_FALLBACK
    payload = sent.get("payload")
    if isinstance(payload, dict) and any(
        _blank(sent.get(name)) and any(not _blank(payload.get(alias)) for alias in aliases)
        for name, aliases in (
            ("externalSystem", ("external_system", "externalSystem")),
            ("externalIssueId", ("external_issue_id", "externalIssueID")),
            ("status", ("status",)),
        )
    ):
        return PAYLOAD_FALLBACK
    return None


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()
