"""Which known divergences together explain one failing case of a Schemathesis check: pure.

Each explainer returns () when some part of the failure has no known divergence behind it, so that a new bug
never hides among known ones; and none labels an answer Matcher could not have written (`matcher_answer`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from callback_kit.contract import IdempotencyContract, callback_operation
from callback_kit.contract.checks import replayed
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.refs import resolve
from callback_kit.contract.spec_view import body_schema, parameters, schema_ok
from callback_kit.contract_tests.divergences.catalogue import Divergence, known
from callback_kit.contract_tests.divergences.classify import Facts, bearer, classify_exchange, refusal
from callback_kit.contract_tests.divergences.reading import bound_fields, exception_id_of, matcher_answer, read

Spec = dict[str, Any]
Explainer = Callable[[Exchange, Spec, IdempotencyContract, Facts], tuple[Divergence, ...]]


def explain(
    check: str, exchange: Exchange, spec: Spec, contract: IdempotencyContract, facts: Facts
) -> tuple[Divergence, ...]:
    """The known divergences that together explain one failing case of Schemathesis check `check`; () if none."""
    if not matcher_answer(exchange, contract):
        return ()
    explainer = _EXPLAINERS.get(check)
    if explainer is not None:
        return explainer(exchange, spec, contract, facts)
    found = refusal(exchange, read(exchange, contract), None)
    return _only({found if found in (known("plain-403"), known("numeric-429")) else None})


def _server_error(
    exchange: Exchange, _spec: Spec, contract: IdempotencyContract, _facts: Facts
) -> tuple[Divergence, ...]:
    found = refusal(exchange, read(exchange, contract), None) if exchange.status == 500 else None
    return _only({found})


def _valid_refused(
    exchange: Exchange, _spec: Spec, contract: IdempotencyContract, facts: Facts
) -> tuple[Divergence, ...]:
    found = classify_exchange(exchange, contract, facts)
    wanted = (known("key-required"), known("alias-ignored"), known("unsupported-target"))
    return _only({found if found in wanted else None})


def _auth_ignored(
    exchange: Exchange, _spec: Spec, _contract: IdempotencyContract, facts: Facts
) -> tuple[Divergence, ...]:
    # Accepted with a token the run does not know: only a server that checks no token at all does that.
    refused = exchange.status in (401, 403) or bearer(exchange) in facts.tokens or facts.auth_enforced is not False
    return _only({None if refused else known("auth-optional")})


def _missing_header(
    exchange: Exchange, spec: Spec, _contract: IdempotencyContract, facts: Facts
) -> tuple[Divergence, ...]:
    missing = [
        p["name"] for p in parameters(spec, "header") if p.get("required") and not exchange.request_header(p["name"])
    ]
    accepted = _auth_required(spec) and bearer(exchange) is None and exchange.status < 400
    return _only({None if missing or not accepted or facts.auth_enforced is not False else known("auth-optional")})


def _invalid_accepted(
    exchange: Exchange, spec: Spec, contract: IdempotencyContract, facts: Facts
) -> tuple[Divergence, ...]:
    """Each part of the request that breaks the spec, excused by the divergence that makes Matcher accept it."""
    if not 200 <= exchange.status < 300:
        return ()
    found: set[Divergence | None] = set()
    if _auth_required(spec) and bearer(exchange) is None:
        found.add(known("auth-optional") if facts.auth_enforced is False else None)
    primary, *aliases = contract.headers
    for param in parameters(spec, "header"):
        value = exchange.request_header(param["name"])
        if value is None or schema_ok(param.get("schema", {}), value, spec):
            continue
        if param["name"].lower() == "x-request-id":
            found.add(known("request-id-unchecked"))
        elif param["name"] in aliases and exchange.request_header(primary):
            found.add(known("alias-ignored"))
        else:
            found.add(None)
    reading = read(exchange, contract)
    if replayed(exchange, contract):
        # Only a keyed request that once succeeded is replayed, by the first layer: before the path or body is read.
        stored = bool(exchange.request_header(primary)) and reading.refusal != "invalid idempotency key format"
        if not stored:
            found.add(None)
        elif not (_path_ok(exchange, spec) and _body_ok(exchange, spec)):
            found.add(known("replay-first"))
    elif reading.refusal is not None or reading.failure is not None or not _path_ok(exchange, spec):
        found.add(None)
    else:
        fields = bound_fields(exchange.request_json())
        payload = fields.get("payload")  # an object or None: `read` checked
        payload_schema = body_schema(spec).get("properties", {}).get("payload", {})
        if "payload" in fields and (payload is None or not schema_ok(payload_schema, payload, spec)):
            found.add(known("payload-ignored"))
        body = {k: v for k, v in reading.body.items() if not (k == "payload" and v is None)}
        found.update(reading.lenient if schema_ok(body_schema(spec), body, spec) else {None})
    return _only(found)


def _header_problems(
    exchange: Exchange, spec: Spec, contract: IdempotencyContract, _facts: Facts
) -> tuple[Divergence, ...]:
    """Each required response header missing or malformed, excused by a divergence."""
    found: set[Divergence | None] = set()
    for name, header in resolve(spec, _response(spec, exchange.status).get("headers", {})).items():
        schema = resolve(spec, header).get("schema", {})
        value = exchange.header(name)
        if value is None and not resolve(spec, header).get("required"):
            continue
        if value is not None and schema_ok(schema, _typed(schema, value), spec):
            continue
        if value is None and name.lower() == contract.replay_header.lower() and 200 <= exchange.status < 300:
            found.add(known("never-false"))
        elif value is None and name.lower() == "retry-after" and exchange.code() == "MTCH-0506":
            found.add(known("callback-limit-429"))
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


# Readers of the spec the explainers alone need.


def _response(spec: Spec, status: int) -> dict[str, Any]:
    responses = callback_operation(spec).get("responses", {})
    found = responses.get(str(status)) or responses.get(f"{status // 100}XX") or responses.get("default") or {}
    return dict(resolve(spec, found))  # a copy is fine: only its header objects are validated against


def _auth_required(spec: Spec) -> bool:
    return bool(callback_operation(spec).get("security", spec.get("security")))


def _path_ok(exchange: Exchange, spec: Spec) -> bool:
    value = exception_id_of(exchange)
    return value is not None and all(
        schema_ok(p.get("schema", {}), value, spec) for p in parameters(spec, "path") if p["name"] == "exceptionId"
    )


def _body_ok(exchange: Exchange, spec: Spec) -> bool:
    media = (exchange.request_header("content-type") or "").split(";")[0].strip().lower()
    try:
        body = json.loads(exchange.request_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return media == "application/json" and schema_ok(body_schema(spec), body, spec)


def _typed(schema: dict[str, Any], value: str) -> Any:
    """A header's text as the type its schema declares (Retry-After is an integer)."""
    if schema.get("type") == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    return value
