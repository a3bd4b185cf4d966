"""The named checks of one exchange against the spec's shapes: the request, the status, the answer's headers and body.

Each judges a single exchange of the callback operation, without history: `request_conforms` (what the client
sent), `status_declared` and `response_conforms` (what the server answered).
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema.exceptions import best_match

from callback_kit.contract import callback_operation
from callback_kit.contract.checks.base import Violation, violation
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.idempotency import IdempotencyContract
from callback_kit.contract.refs import resolve
from callback_kit.contract.schemas import validator
from callback_kit.contract.spec_view import broken_rule, declares

Spec = dict[str, Any]


def request_conforms(exchange: Exchange, spec: Spec, contract: IdempotencyContract) -> Violation | None:
    """The request keeps the spec: path, headers, content type and body (the client's side of the contract)."""
    rule = broken_rule(exchange, spec)
    if not rule:
        return None
    return violation(
        "request_conforms",
        f"the request breaks the spec ({rule})",
        "a request the spec allows (the server then answers 400 at most)",
        exchange,
        contract,
    )


def status_declared(exchange: Exchange, spec: Spec, contract: IdempotencyContract) -> Violation | None:
    """The answer's status is one the operation documents."""
    if declares(spec, exchange.status):
        return None
    documented = ", ".join(str(k) for k in callback_operation(spec).get("responses", {}))
    return violation(
        "status_declared",
        f"status {exchange.status} is not documented for the callback operation",
        f"one of {documented}",
        exchange,
        contract,
    )


def response_conforms(exchange: Exchange, spec: Spec, contract: IdempotencyContract) -> Violation | None:
    """The answer has the headers its status declares, a declared media type, and a body its schema accepts."""
    declared = _response(spec, exchange.status)
    if declared is None:
        return None  # an undocumented status is status_declared's to name
    problems = [*_header_problems(exchange, declared, spec), *_body_problems(exchange, declared, spec)]
    if not problems:
        return None
    return violation(
        "response_conforms",
        f"the {exchange.status} answer breaks its schema ({'; '.join(problems)})",
        f"the {exchange.status} response the spec declares",
        exchange,
        contract,
        expected_status=exchange.status,
    )


def _response(spec: Spec, status: int) -> dict[str, Any] | None:
    responses = callback_operation(spec).get("responses", {})
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            found: dict[str, Any] = resolve(spec, responses[key])
            return found
    return None


def _header_problems(exchange: Exchange, declared: dict[str, Any], spec: Spec) -> list[str]:
    problems = []
    for name, header in (declared.get("headers") or {}).items():
        header = resolve(spec, header)
        value = exchange.header(name)
        if value is None:
            if header.get("required"):
                problems.append(f"header {name} missing")
            continue
        schema = header.get("schema") or {}
        if schema and not validator(schema, spec).is_valid(_header_value(value, schema, spec)):
            problems.append(f"header {name}: {value[:40]!r} breaks its schema")
    return problems


def _header_value(value: str, schema: dict[str, Any], spec: Spec) -> Any:
    """A header's text as the schema's type (headers are strings on the wire)."""
    kind = resolve(spec, schema).get("type")
    try:
        return int(value) if kind == "integer" else float(value) if kind == "number" else value
    except ValueError:
        return value


def _body_problems(exchange: Exchange, declared: dict[str, Any], spec: Spec) -> list[str]:
    content = declared.get("content") or {}
    if not content:
        return []
    media = (exchange.header("content-type") or "").split(";")[0].strip().lower()
    if media not in content:
        return [f"content type {media or '(absent)'} instead of {', '.join(content)}"]
    schema = resolve(spec, content[media].get("schema") or {})
    if not schema or media != "application/json":
        return []
    try:
        body = json.loads(exchange.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ["the body is not JSON"]
    error = best_match(validator(schema, spec).iter_errors(body))
    if error is None:
        return []
    where = "/".join(map(str, error.absolute_path))
    return [f"body{'/' + where if where else ''}: {error.message[:120]}"]
