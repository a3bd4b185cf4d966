"""The known divergences of the real implementation from the published contract, and how to recognise them.

The numbers are those of section 6 of the reference (`callback-endpoint.md`, "Discrepancies: public doc vs
code"). A failure that matches one is still a failure; the report names it, so that a team running the suite
against Matcher itself can tell a known gap from a new bug. Attribution is per failing case, from its request
and its answer: `classify` for the suite's own checks, `explain` for a Schemathesis check. Both first read the
request the way Matcher 2.1 does (`_read`), so that an answer Matcher could not give is never excused: a 500
to a request Matcher refuses with 400, for instance, matches no divergence. One fact is not in any exchange:
whether the server checks tokens at all; a failure seen with the second tenant's token asks it (`_tokens_ignored`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from callback_kit.contract import IdempotencyContract, callback_operation
from callback_kit.contract.refs import resolve as _resolve
from callback_kit.contract.schemas import validator
from callback_kit.contract_tests.client import Exchange
from callback_kit.contract_tests.config import ENV_PREFIX
from callback_kit.contract_tests.model import ACCEPTED, STATUSES

KEY_REQUIRED_MESSAGE = "X-Idempotency-Key header is required"
BAD_BODY_MESSAGE = "invalid request body"
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
_OTHER_TENANT = f"{ENV_PREFIX}OTHER_TENANT_TOKEN"


@dataclass(frozen=True)
class Divergence:
    """One way Matcher 2.1 shows a discrepancy of section 6: its number there, and what the suite sees of it."""

    number: int
    title: str

    def __str__(self) -> str:
        return f"known divergence #{self.number}: {self.title}"


KEY_REQUIRED = Divergence(1, "X-Idempotency-Key required (400 'X-Idempotency-Key header is required')")
ALIAS_IGNORED = Divergence(2, "Idempotency-Key ignored (only X-Idempotency-Key is read)")
NEVER_FALSE = Divergence(3, "X-Idempotency-Replayed never 'false' (absent on first processing)")
REQUEST_ID_UNCHECKED = Divergence(4, "X-Request-Id not validated (any value is accepted, then sanitised)")
REPLAY_FIRST = Divergence(5, "a repeated key is replayed before the request is validated (body and path unread)")
DEDUP_200 = Divergence(5, "a duplicate caught by the second dedup layer is a fresh 200 without the replay header")
BARE_IN_FLIGHT_409 = Divergence(5, "409 MTCH-0018 for a key in flight without Retry-After (reference section 3.4)")
AUTH_OPTIONAL = Divergence(6, "bearer auth enforced only when enabled (off by default)")
ONE_TENANT = Divergence(6, "bearer auth off by default: every token is the same default tenant")
UNKNOWN_STATUS_500 = Divergence(7, "500 for an unknown status value")
FORBIDDEN_TRANSITION_500 = Divergence(7, "500 for a transition the current status forbids")
PAYLOAD_DATE_500 = Divergence(7, "500 for a malformed payload date")
PLAIN_403 = Divergence(7, "403 from the auth layer as plain text, not the error body")
CALLBACK_LIMIT_429 = Divergence(8, "429 from the callback rate limiter (MTCH-0506) without Retry-After")
NUMERIC_429 = Divergence(8, "429 with the lib-commons body (numeric code 429)")
PAYLOAD_FALLBACK = Divergence(9, "payload used as a fallback for blank top-level fields")
PAYLOAD_IGNORED = Divergence(9, "payload not read unless as a fallback (null, or non-string values, ignored)")
STATUS_ANY_CASE = Divergence(11, "status values read trimmed and in any letter case")
UNSUPPORTED_TARGET = Divergence(11, "only ASSIGNED and RESOLVED transitions succeed (400 'apply callback: ...')")
CALLBACK_TYPE_FALLBACK = Divergence(12, "callbackType used as a fallback for a blank externalSystem")


@dataclass(frozen=True)
class Reading:
    """A request as Matcher 2.1 reads it before it looks at the exception (reference sections 0 and 1)."""

    refusal: str | None = None  # the 400 message Matcher answers first, if any
    failure: Divergence | None = None  # the 500 Matcher answers before any state is read, if any
    body: dict[str, Any] = field(default_factory=dict)  # the fields it ends up with, fallbacks applied
    lenient: frozenset[Divergence] = frozenset()  # the lenient readings it took on the way


def classify(
    exchange: Exchange,
    contract: IdempotencyContract,
    *,
    expected_status: int | None = None,
    expected_replay: bool | None = None,
    original: Exchange | None = None,
) -> Divergence | None:
    """The known divergence that explains why a check of the suite got `exchange`, if one does.

    `original` is the exchange a replay was expected of; it tells a duplicate the first layer missed.
    """
    status, replayed = exchange.status, _replayed(exchange, contract)
    reading = _read(exchange, contract)
    if status == 400 and _message(exchange) == KEY_REQUIRED_MESSAGE and reading.refusal == KEY_REQUIRED_MESSAGE:
        return ALIAS_IGNORED if _aliases(exchange, contract) else KEY_REQUIRED
    if expected_status == contract.key_invalid.status != status and _alias_ignored(exchange, contract):
        return ALIAS_IGNORED  # both key headers, different keys: Matcher takes the first and never reads the other
    crossed = (replayed and expected_replay is False) or (_ok(status) and not replayed and expected_status == 404)
    if crossed and _as_other_tenant(exchange) and _tokens_ignored(exchange):
        return ONE_TENANT
    in_flight = contract.in_flight
    if expected_status == in_flight.status == status and in_flight.retry_after is not None:
        body = exchange.json()
        if isinstance(body, dict) and body.get("code") == in_flight.code and exchange.header("retry-after") is None:
            return BARE_IN_FLIGHT_409
    if _ok(status) and exchange.header(contract.replay_header) is None and exchange.json() == ACCEPTED:
        if expected_replay is False and expected_status in (None, status):
            return NEVER_FALSE
        if expected_replay and original is not None and _first_layer_misses(original, exchange):
            return DEDUP_200
        return None
    return _refusal(exchange, reading, expected_status)


def explain(
    check: str, exchange: Exchange, spec: dict[str, Any], contract: IdempotencyContract
) -> tuple[Divergence, ...]:
    """The known divergences that together explain one failing case of a Schemathesis check; () when none does."""
    explainer = _EXPLAINERS.get(check)
    if explainer is not None:
        return explainer(exchange, spec, contract)
    found = _refusal(exchange, _read(exchange, contract), None)
    return _only({found if found in (PLAIN_403, NUMERIC_429) else None})


# The explainers of the Schemathesis checks that Matcher's behaviour fails; each returns () when nothing explains.
Explainer = Callable[[Exchange, dict[str, Any], IdempotencyContract], tuple[Divergence, ...]]


def _server_error(exchange: Exchange, _spec: dict[str, Any], contract: IdempotencyContract) -> tuple[Divergence, ...]:
    found = _refusal(exchange, _read(exchange, contract), None) if exchange.status == 500 else None
    return _only({found})


def _valid_refused(exchange: Exchange, _spec: dict[str, Any], contract: IdempotencyContract) -> tuple[Divergence, ...]:
    found = classify(exchange, contract)
    return _only({found if found in (KEY_REQUIRED, ALIAS_IGNORED, UNSUPPORTED_TARGET) else None})


def _auth_ignored(exchange: Exchange, _spec: dict[str, Any], _contract: IdempotencyContract) -> tuple[Divergence, ...]:
    refused = exchange.status in (401, 403) or _bearer(exchange) in exchange.secrets
    return _only({None if refused else AUTH_OPTIONAL})


def _missing_header(exchange: Exchange, spec: dict[str, Any], _contract: IdempotencyContract) -> tuple[Divergence, ...]:
    missing = [
        p["name"] for p in _parameters(spec, "header") if p.get("required") and not exchange.request_header(p["name"])
    ]
    accepted = _auth_required(spec) and _bearer(exchange) is None and exchange.status < 400
    return _only({None if missing or not accepted else AUTH_OPTIONAL})


def _invalid_accepted(
    exchange: Exchange, spec: dict[str, Any], contract: IdempotencyContract
) -> tuple[Divergence, ...]:
    """Each part of the request that breaks the spec, excused by the divergence that makes Matcher accept it."""
    if not _ok(exchange.status):
        return ()
    found: set[Divergence | None] = {AUTH_OPTIONAL} if _auth_required(spec) and _bearer(exchange) is None else set()
    primary, *aliases = contract.headers
    for param in _parameters(spec, "header"):
        value = exchange.request_header(param["name"])
        if value is None or _schema_ok(param.get("schema", {}), value, spec):
            continue
        if param["name"].lower() == "x-request-id":
            found.add(REQUEST_ID_UNCHECKED)
        elif param["name"] in aliases and exchange.request_header(primary):
            found.add(ALIAS_IGNORED)
        else:
            found.add(None)
    reading = _read(exchange, contract)
    if _replayed(exchange, contract):
        # Only a keyed request that once succeeded is replayed, by the first layer: before the path or body is read.
        stored = bool(exchange.request_header(primary)) and reading.refusal != "invalid idempotency key format"
        if not stored:
            found.add(None)
        elif not (_path_ok(exchange, spec) and _body_ok(exchange, spec)):
            found.add(REPLAY_FIRST)
    elif reading.refusal is not None or reading.failure is not None or not _path_ok(exchange, spec):
        found.add(None)
    else:
        fields = _fields(exchange.request_json())
        payload = fields.get("payload")  # an object or None: `_read` checked
        payload_schema = _body_schema(spec).get("properties", {}).get("payload", {})
        if "payload" in fields and (payload is None or not _schema_ok(payload_schema, payload, spec)):
            found.add(PAYLOAD_IGNORED)
        body = {k: v for k, v in reading.body.items() if not (k == "payload" and v is None)}
        found.update(reading.lenient if _schema_ok(_body_schema(spec), body, spec) else {None})
    return _only(found)


def _header_problems(exchange: Exchange, spec: dict[str, Any], contract: IdempotencyContract) -> tuple[Divergence, ...]:
    """Each required response header missing or malformed, excused by a divergence."""
    found: set[Divergence | None] = set()
    for name, header in _resolve(spec, _response(spec, exchange.status).get("headers", {})).items():
        schema = _resolve(spec, header).get("schema", {})
        value = exchange.header(name)
        if value is None and not _resolve(spec, header).get("required"):
            continue
        if value is not None and _schema_ok(schema, _typed(schema, value), spec):
            continue
        if value is None and name.lower() == contract.replay_header.lower() and _ok(exchange.status):
            found.add(NEVER_FALSE)
        elif value is None and name.lower() == "retry-after" and _code(exchange) == "MTCH-0506":
            found.add(CALLBACK_LIMIT_429)
        else:
            found.add(None)
    return _only(found)


def _only(found: set[Divergence | None]) -> tuple[Divergence, ...]:
    """The divergences, in order, when each part of a failure has one; () when some part has none."""
    if None in found or not found:
        return ()
    return tuple(sorted((d for d in found if d is not None), key=lambda d: (d.number, d.title)))


_EXPLAINERS: dict[str, Explainer] = {
    "not_a_server_error": _server_error,
    "positive_data_acceptance": _valid_refused,
    "ignored_auth": _auth_ignored,
    "missing_required_header": _missing_header,
    "negative_data_rejection": _invalid_accepted,
    "response_headers_conformance": _header_problems,
}


# How Matcher answers an error, given how it read the request.


def _refusal(exchange: Exchange, reading: Reading, expected_status: int | None) -> Divergence | None:
    status, body = exchange.status, exchange.json()
    if status == 403 and "json" not in (exchange.header("content-type") or ""):
        return PLAIN_403
    if status == 429 and isinstance(body, dict) and body.get("code") == 429:
        return NUMERIC_429
    if reading.refusal is not None:
        return None  # Matcher would have refused the request first
    target = reading.body.get("status")
    if status == 500 and _code(exchange) == "MTCH-0002":
        if reading.failure is not None:
            return reading.failure
        # From a status that allows the target, Matcher's only 500 is ASSIGNED -> RESOLVED without an assignee.
        forbidden = expected_status in (None, 409) or (expected_status == 200 and target == "RESOLVED")
        return FORBIDDEN_TRANSITION_500 if forbidden else None
    message = _message(exchange)
    unsupported = {
        "OPEN": "apply callback: OPEN is not a valid callback resolution target: use ASSIGNED or RESOLVED",
        "PENDING_RESOLUTION": "apply callback: callback status is unsupported: PENDING_RESOLUTION",
    }
    if status == 400 and expected_status != 200 and target in unsupported and message == unsupported[target]:
        return UNSUPPORTED_TARGET
    return None


def _read(exchange: Exchange, contract: IdempotencyContract) -> Reading:
    """Matcher's checks in its order: key format, path, key presence, content type, body, then its use case."""
    primary, *aliases = contract.headers
    key = exchange.request_header(primary) or next(filter(None, map(exchange.request_header, aliases)), None)
    if key is not None and not _KEY.fullmatch(key.strip(GO_SPACE)):
        return Reading("invalid idempotency key format")
    exception_id = _exception_id(exchange)
    if exception_id is None or not _UUID.fullmatch(exception_id):
        return Reading("invalid exception id")
    if not exchange.request_header(primary):
        return Reading(KEY_REQUIRED_MESSAGE)
    media = (exchange.request_header("content-type") or "").split(";")[0].strip().lower()
    try:
        raw = json.loads(exchange.request_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raw = None
    fields = _fields(raw) if media == "application/json" else {}
    if any(not isinstance(fields.get(name), str) or not fields[name] for name in _REQUIRED):
        return Reading(BAD_BODY_MESSAGE)
    for name in _DATE_FIELDS:
        if fields.get(name) is not None and not _rfc3339(fields[name]):
            return Reading(f"invalid {name} format, expected RFC3339")
    if exception_id.strip("{}").lower().removeprefix("urn:uuid:").replace("-", "").strip("0") == "":
        return Reading("exception id is required")
    return _use_case(fields)


def _use_case(fields: dict[str, Any]) -> Reading:
    """The use case's own reading: trimming, fallbacks, the status parse and the payload dates."""
    payload = fields.get("payload") or {}
    lenient: set[Divergence] = set()

    def fallback(name: str, siblings: tuple[str, ...], keys: tuple[str, ...]) -> str:
        value = _trim(fields.get(name))
        if value:
            return value
        for sibling in siblings:
            if _trim(fields.get(sibling)):
                lenient.add(CALLBACK_TYPE_FALLBACK)
                return _trim(fields.get(sibling))
        for key in keys:
            if _trim(payload.get(key)):
                lenient.add(PAYLOAD_FALLBACK)
                return _trim(payload.get(key))
        return ""

    system = fallback("externalSystem", ("callbackType",), ("external_system", "externalSystem"))
    issue = fallback("externalIssueId", (), ("external_issue_id", "externalIssueID"))
    status = fallback("status", (), ("status",))
    for message, value in (("external system", system), ("external issue id", issue), ("callback status", status)):
        if not value:
            return Reading(f"{message} is required")
    if status.upper() != fields["status"]:
        lenient.add(STATUS_ANY_CASE)
    if status.upper() not in STATUSES:
        return Reading(failure=UNKNOWN_STATUS_500)
    body = {name: fields[name] for name in ("callbackType", "resolutionNotes") if fields.get(name) is not None}
    body.update(externalSystem=system, externalIssueId=issue, status=status.upper())
    assignee = _trim(fields.get("assignee")) or _trim(payload.get("assignee"))
    if assignee:
        body["assignee"] = assignee
    for name, keys in _DATE_FIELDS.items():
        # A top-level date was checked by the handler; absent or null, the first non-blank payload string is used.
        date = fields.get(name) or next(filter(None, (_trim(payload.get(key)) for key in keys)), None)
        if date is not None and not _rfc3339(date):
            return Reading(failure=PAYLOAD_DATE_500)
        if date is not None:
            body[name] = date
    return Reading(body=body, lenient=frozenset(lenient))


def _fields(raw: Any) -> dict[str, Any]:
    """The body's fields as Go's decoder binds them (names in any letter case, last wins); {} on a type error."""
    if not isinstance(raw, dict):
        return {}
    known = {name.lower(): name for name in (*_TEXT_FIELDS, *_DATE_FIELDS, "payload")}
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        name = known.get(key.lower())
        if name is None:
            continue
        if value is not None and not isinstance(value, dict if name == "payload" else str):
            return {}
        fields[name] = value
    return fields


# Small readers of exchanges and of the spec.


def _first_layer_misses(original: Exchange, again: Exchange) -> bool:
    """The first layer's key holds the principal and the exact path and query; the second layer's does not."""
    principal = ("authorization", "x-user-id")
    return original.url != again.url or any(original.request_header(h) != again.request_header(h) for h in principal)


def _tokens_ignored(exchange: Exchange) -> bool:
    """Whether the server lets a callback without credentials past authentication: auth is off, one tenant for all.

    The exchange alone cannot tell that from keys or data leaking between tenants (a bug), so this asks the
    server once: a keyless `{}` without `Authorization`, refused either way (401, or 400 with auth off).
    """
    try:
        answer = httpx.post(exchange.url, content=b"{}", headers={"Content-Type": "application/json"}, timeout=10)
    except httpx.HTTPError:
        return False
    return answer.status_code not in (401, 403)


def _alias_ignored(exchange: Exchange, contract: IdempotencyContract) -> bool:
    primary = exchange.request_header(contract.headers[0])
    return bool(primary) and any(value != primary for value in _aliases(exchange, contract))


def _aliases(exchange: Exchange, contract: IdempotencyContract) -> list[str]:
    return [v for v in map(exchange.request_header, contract.headers[1:]) if v is not None]


def _as_other_tenant(exchange: Exchange) -> bool:
    token = _bearer(exchange)
    return token is not None and exchange.secrets.get(token) == _OTHER_TENANT


def _bearer(exchange: Exchange) -> str | None:
    scheme, _, token = (exchange.request_header("authorization") or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _exception_id(exchange: Exchange) -> str | None:
    match = re.search(r"/exceptions/([^/]*)/callback$", urlsplit(exchange.url).path)
    return unquote(match.group(1)) if match else None


def _replayed(exchange: Exchange, contract: IdempotencyContract) -> bool:
    return exchange.header(contract.replay_header) == "true"


def _ok(status: int) -> bool:
    return 200 <= status < 300


def _message(exchange: Exchange) -> str:
    body = exchange.json()
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _code(exchange: Exchange) -> Any:
    body = exchange.json()
    return body.get("code") if isinstance(body, dict) else None


def _trim(value: Any) -> str:
    return value.strip(GO_SPACE) if isinstance(value, str) else ""


def _rfc3339(value: str) -> bool:
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


def _typed(schema: dict[str, Any], value: str) -> Any:
    """A header's text as the type its schema declares (Retry-After is an integer)."""
    if schema.get("type") == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _parameters(spec: dict[str, Any], where: str) -> Iterator[dict[str, Any]]:
    for param in callback_operation(spec).get("parameters", []):
        param = _resolve(spec, param)
        if param.get("in") == where:
            yield param


def _response(spec: dict[str, Any], status: int) -> dict[str, Any]:
    responses = callback_operation(spec).get("responses", {})
    found = responses.get(str(status)) or responses.get(f"{status // 100}XX") or responses.get("default") or {}
    return dict(_resolve(spec, found))  # a copy is fine: only its header objects are validated against


def _body_schema(spec: dict[str, Any]) -> dict[str, Any]:
    body = _resolve(spec, callback_operation(spec).get("requestBody", {}))
    schema: dict[str, Any] = _resolve(spec, body.get("content", {}).get("application/json", {}).get("schema", {}))
    return schema  # the spec's own object: validators are cached by identity


def _auth_required(spec: dict[str, Any]) -> bool:
    return bool(callback_operation(spec).get("security", spec.get("security")))


def _path_ok(exchange: Exchange, spec: dict[str, Any]) -> bool:
    value = _exception_id(exchange)
    return value is not None and all(
        _schema_ok(p.get("schema", {}), value, spec) for p in _parameters(spec, "path") if p["name"] == "exceptionId"
    )


def _body_ok(exchange: Exchange, spec: dict[str, Any]) -> bool:
    media = (exchange.request_header("content-type") or "").split(";")[0].strip().lower()
    try:
        body = json.loads(exchange.request_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return media == "application/json" and _schema_ok(_body_schema(spec), body, spec)


def _schema_ok(schema: dict[str, Any], value: Any, spec: dict[str, Any]) -> bool:
    return not schema or validator(schema, spec).is_valid(value)
