"""How Matcher 2.1 reads a request and what its answers look like (reference sections 0 to 3.4): pure, no network.

`read` follows Matcher's checks in its order and says what it would refuse first, what it fails on before any
state is read, and the fields it ends up with (fallbacks applied). `matcher_answer` says whether an answer
could have come from Matcher at all: an answer no Matcher gives (a `false` replay header, an error message
Matcher never writes) is never explained by a known divergence, whatever its status.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from callback_kit.contract import IdempotencyContract
from callback_kit.contract.checks import ACCEPTED
from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.divergences.catalogue import Divergence, known

KEY_REQUIRED_MESSAGE = "X-Idempotency-Key header is required"
BAD_BODY_MESSAGE = "invalid request body"
STATUSES = ("OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED")
# Go's strings.TrimSpace (unicode.IsSpace), which Matcher applies to every field it reads.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_KEY = re.compile(r"[A-Za-z0-9:_-]{1,128}")
# google/uuid.Parse: hyphenated (also as urn:uuid:... or in braces) or 32 bare hex digits, any letter case.
_HYPHENATED = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_UUID = re.compile(rf"(?:urn:uuid:)?{_HYPHENATED}|\{{{_HYPHENATED}\}}|[0-9a-f]{{32}}", re.I)
_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-](\d\d):(\d\d))")
_REQUIRED = ("externalSystem", "externalIssueId", "status")  # `validate:"required"`: a non-empty string
_TEXT_FIELDS = (*_REQUIRED, "callbackType", "resolutionNotes", "assignee")
_DATE_FIELDS = {"dueAt": ("due_at", "dueAt"), "updatedAt": ("updated_at", "updatedAt")}
# Every error Matcher's endpoint writes (reference 3.3): (status, code) -> its messages.
MESSAGES: dict[tuple[int, str], frozenset[str]] = {
    (400, "MTCH-0001"): frozenset({
        "invalid exception id", KEY_REQUIRED_MESSAGE, BAD_BODY_MESSAGE, "invalid dueAt format, expected RFC3339",
        "invalid updatedAt format, expected RFC3339", "exception id is required", "external system is required",
        "external issue id is required", "callback status is required", "idempotency key is required",
        "invalid idempotency key format", "apply callback: callback assignee is required",
        "apply callback: OPEN is not a valid callback resolution target: use ASSIGNED or RESOLVED",
        "apply callback: callback status is unsupported: PENDING_RESOLUTION",
    }),
    (400, "MTCH-0015"): frozenset({"invalid idempotency key format", "idempotency key is required"}),
    (401, "MTCH-0003"): frozenset({"missing authorization token", "invalid authorization token"}),
    (403, "MTCH-0004"): frozenset({"tenant claim required"}),
    (404, "MTCH-0501"): frozenset({"exception not found"}),
    (409, "MTCH-0018"): frozenset({"A request with this idempotency key is currently being processed"}),
    (409, "MTCH-0504"): frozenset({"callback is already being processed"}),
    (409, "MTCH-0505"): frozenset({"callback can be retried"}),
    (413, "MTCH-0010"): frozenset({"The request payload is too large."}),
    (429, "MTCH-0506"): frozenset({"callback rate limit exceeded"}),
    (500, "MTCH-0002"): frozenset({"an unexpected error occurred", "authentication service unavailable"}),
}  # fmt: skip
LIB_COMMONS_429 = {"code": 429, "title": "rate_limit_exceeded", "message": "rate limit exceeded"}


@dataclass(frozen=True)
class Reading:
    """A request as Matcher 2.1 reads it before it looks at the exception (reference sections 0 and 1)."""

    refusal: str | None = None  # the 400 message Matcher answers first, if any
    failure: Divergence | None = None  # the 500 Matcher answers before any state is read, if any
    body: dict[str, Any] = field(default_factory=dict)  # the fields it ends up with, fallbacks applied
    lenient: frozenset[Divergence] = frozenset()  # the lenient readings it took on the way


def matcher_answer(exchange: Exchange, contract: IdempotencyContract) -> bool:
    """Whether Matcher 2.1 writes answers like this one: its body, its messages, its replay header."""
    status, body = exchange.status, exchange.json()
    if 200 <= status < 300:
        return body == ACCEPTED and exchange.header(contract.replay_header) in (None, "true")
    if exchange.header(contract.replay_header) is not None:
        return False  # only a replayed 200 carries the header, and it says "true"
    if status == 403 and plain_403(exchange):
        return True
    if status == 429 and body == LIB_COMMONS_429:
        return True
    if not isinstance(body, dict):
        return False
    return str(body.get("message")) in MESSAGES.get((status, str(body.get("code"))), frozenset())


def plain_403(exchange: Exchange) -> bool:
    """lib-auth's refusal: `Forbidden` as plain text."""
    media = exchange.header("content-type") or ""
    return exchange.status == 403 and "json" not in media and exchange.body.strip() == b"Forbidden"


def read(exchange: Exchange, contract: IdempotencyContract) -> Reading:
    """Matcher's checks in its order: key format, path, key presence, content type, body, then its use case."""
    primary, *aliases = contract.headers
    key = exchange.request_header(primary) or next(filter(None, map(exchange.request_header, aliases)), None)
    if key is not None and not _KEY.fullmatch(key.strip(GO_SPACE)):
        return Reading("invalid idempotency key format")
    exception_id = exception_id_of(exchange)
    if exception_id is None or not _UUID.fullmatch(exception_id):
        return Reading("invalid exception id")
    if not exchange.request_header(primary):
        return Reading(KEY_REQUIRED_MESSAGE)
    media = (exchange.request_header("content-type") or "").split(";")[0].strip().lower()
    try:
        raw = json.loads(exchange.request_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raw = None
    fields = bound_fields(raw) if media == "application/json" else {}
    if any(not isinstance(fields.get(name), str) or not fields[name] for name in _REQUIRED):
        return Reading(BAD_BODY_MESSAGE)
    for name in _DATE_FIELDS:
        if fields.get(name) is not None and not rfc3339(fields[name]):
            return Reading(f"invalid {name} format, expected RFC3339")
    if exception_id.strip("{}").lower().removeprefix("urn:uuid:").replace("-", "").strip("0") == "":
        return Reading("exception id is required")
    return _use_case(fields)


def _use_case(fields: dict[str, Any]) -> Reading:
    """The use case's own reading: trimming, fallbacks, the status parse and the payload dates."""
    payload = fields.get("payload") or {}
    lenient: set[Divergence] = set()

    def fallback(name: str, siblings: tuple[str, ...], keys: tuple[str, ...]) -> str:
        value = trim(fields.get(name))
        if value:
            return value
        for sibling in siblings:
            if trim(fields.get(sibling)):
                lenient.add(known("callback-type-fallback"))
                return trim(fields.get(sibling))
        for key in keys:
            if trim(payload.get(key)):
                lenient.add(known("payload-fallback"))
                return trim(payload.get(key))
        return ""

    system = fallback("externalSystem", ("callbackType",), ("external_system", "externalSystem"))
    issue = fallback("externalIssueId", (), ("external_issue_id", "externalIssueID"))
    status = fallback("status", (), ("status",))
    for message, value in (("external system", system), ("external issue id", issue), ("callback status", status)):
        if not value:
            return Reading(f"{message} is required")
    if status.upper() != fields["status"]:
        lenient.add(known("status-any-case"))
    if status.upper() not in STATUSES:
        return Reading(failure=known("unknown-status-500"))
    body = {name: fields[name] for name in ("callbackType", "resolutionNotes") if fields.get(name) is not None}
    body.update(externalSystem=system, externalIssueId=issue, status=status.upper())
    assignee = trim(fields.get("assignee")) or trim(payload.get("assignee"))
    if assignee:
        body["assignee"] = assignee
    for name, keys in _DATE_FIELDS.items():
        # A top-level date was checked by the handler; absent or null, the first non-blank payload string is used.
        date = fields.get(name) or next(filter(None, (trim(payload.get(key)) for key in keys)), None)
        if date is not None and not rfc3339(date):
            return Reading(failure=known("payload-date-500"))
        if date is not None:
            body[name] = date
    return Reading(body=body, lenient=frozenset(lenient))


def bound_fields(raw: Any) -> dict[str, Any]:
    """The body's fields as Go's decoder binds them (names in any letter case, last wins); {} on a type error."""
    if not isinstance(raw, dict):
        return {}
    names = {name.lower(): name for name in (*_TEXT_FIELDS, *_DATE_FIELDS, "payload")}
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        name = names.get(key.lower())
        if name is None:
            continue
        if value is not None and not isinstance(value, dict if name == "payload" else str):
            return {}
        fields[name] = value
    return fields


def exception_id_of(exchange: Exchange) -> str | None:
    """The path's exception id, percent-decoded."""
    match = re.search(r"/exceptions/([^/]*)/callback$", urlsplit(exchange.url).path)
    return unquote(match.group(1)) if match else None


def trim(value: Any) -> str:
    return value.strip(GO_SPACE) if isinstance(value, str) else ""


def rfc3339(value: str) -> bool:
    """Go's `time.Parse(time.RFC3339, ...)`: date, time and zone, each in range."""
    match = _RFC3339.fullmatch(value)
    if match is None or (match.group(9) and (int(match.group(9)) > 23 or int(match.group(10)) > 59)):
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True
