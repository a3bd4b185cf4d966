"""Readers of the callback operation in a spec, and the part of a request that breaks it (suite and proxy alike)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import best_match

from callback_kit.contract import callback_operation
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.refs import resolve
from callback_kit.contract.schemas import validator

Spec = dict[str, Any]


def parameters(spec: Spec, where: str) -> Iterator[dict[str, Any]]:
    """The callback operation's parameters in `where` (path, header), references resolved."""
    for param in callback_operation(spec).get("parameters", []):
        param = resolve(spec, param)
        if param.get("in") == where:
            yield param


def body_schema(spec: Spec) -> dict[str, Any]:
    """The request body's JSON schema (the spec's own object: validators are cached by identity)."""
    body = resolve(spec, callback_operation(spec).get("requestBody", {}))
    schema: dict[str, Any] = resolve(spec, body.get("content", {}).get("application/json", {}).get("schema", {}))
    return schema


def schema_ok(schema: dict[str, Any], value: Any, spec: Spec) -> bool:
    return not schema or validator(schema, spec).is_valid(value)


def declares(spec: Spec, status: int) -> bool:
    """Whether the callback operation documents `status` (exactly, as `4XX`, or through `default`)."""
    responses = callback_operation(spec).get("responses", {})
    return any(str(key) in (str(status), f"{status // 100}XX", "default") for key in responses)


def broken_rule(exchange: Exchange, spec: Spec) -> str:
    """The first part of the request that breaks the spec, as `where: rule` (`body/dueAt: format`); '' if none."""
    path_id = exchange.path.rstrip("/").split("/")[-2] if exchange.path.endswith("/callback") else ""
    for param in parameters(spec, "path"):
        if not schema_ok(param.get("schema", {}), path_id, spec):
            return f"path {param['name']}: {_first(param.get('schema', {}), path_id, spec)}"
    for param in parameters(spec, "header"):
        value = exchange.request_header(param["name"])
        if value is None:
            if param.get("required"):
                return f"header {param['name']}: required"
        elif not schema_ok(param.get("schema", {}), value, spec):
            return f"header {param['name']}: {_first(param.get('schema', {}), value, spec)}"
    media = (exchange.request_header("content-type") or "").split(";")[0].strip().lower()
    if media != "application/json":
        return f"header Content-Type: {media or 'absent'}"
    try:
        # application/json is UTF-8 (RFC 8259 section 8.1): json.loads would also take UTF-16 and UTF-32 bytes.
        text = exchange.request_body.decode("utf-8")
    except UnicodeDecodeError:
        return "body: not UTF-8 (application/json is UTF-8, RFC 8259)"
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return "body: not JSON"
    schema = body_schema(spec)
    if schema_ok(schema, body, spec):
        return ""
    error = best_match(validator(schema, spec).iter_errors(body))
    where = "/".join(map(str, error.absolute_path)) if error is not None else ""
    return f"body{'/' + where if where else ''}: {error.validator if error is not None else 'schema'}"


def _first(schema: dict[str, Any], value: Any, spec: Spec) -> str:
    error = best_match(validator(schema, spec).iter_errors(value))
    return str(error.validator) if error is not None else "schema"
