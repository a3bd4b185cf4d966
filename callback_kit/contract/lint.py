"""`callback-kit lint [SPEC]`: is this spec one the kit can run on?

Three layers, each message naming the broken place:
1. OpenAPI validity (openapi-spec-validator);
2. the callback operation's `x-idempotency` block: complete, and consistent with the declared headers and
   responses (the key headers exist with the block's pattern, the replay header is declared on 200, every
   status the block can produce is documented, `Retry-After` on the in-flight answer, each status's
   `x-error-codes` naming the block's codes);
3. every example (parameters, bodies, responses, schemas) validates against its schema.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate as validate_openapi

from callback_kit.contract.idempotency import idempotency_contract
from callback_kit.contract.refs import RefError, resolve
from callback_kit.contract.responses import error_codes
from callback_kit.contract.schemas import validator
from callback_kit.contract.spec import (
    CALLBACK_PATH,
    ContractError,
    SpecProblem,
    callback_operation,
    default_spec_path,
    read_spec,
)

__all__ = ["SpecProblem", "check_spec", "lint_main"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def lint_main(path: Path | None) -> int:
    spec_path = path or default_spec_path()
    try:
        problems = check_spec(spec_path)
    except SpecProblem as exc:
        print(f"callback-kit lint: {exc}", file=sys.stderr)
        return 2
    if problems:
        print(f"{spec_path}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{spec_path}: OK (OpenAPI valid, x-idempotency consistent, every example valid)")
    return 0


def check_spec(path: Path) -> list[str]:
    """Every problem of the spec at `path`, as messages naming the place; empty when it is usable."""
    spec = read_spec(path)
    try:
        validate_openapi(spec)
    except Exception as exc:  # the validator raises several unrelated types; all mean "invalid"
        return [f"not a valid OpenAPI document: {getattr(exc, 'message', exc)}"]
    try:
        problems = _idempotency_problems(spec)
        if _has_callback_operation(spec):  # without it, the problem above says so and nothing below applies
            problems += list(_error_code_problems(spec))
        problems += list(_example_problems(spec))
    except RefError as exc:
        raise SpecProblem(str(exc)) from None
    return problems


def _has_callback_operation(spec: dict[str, Any]) -> bool:
    try:
        callback_operation(spec)
    except ContractError:
        return False
    return True


def _idempotency_problems(spec: dict[str, Any]) -> list[str]:
    try:
        operation = callback_operation(spec)
        contract = idempotency_contract(spec)
    except ContractError as exc:
        return [str(exc)]
    where = f"paths.{CALLBACK_PATH}.post"
    problems = []
    params = {
        p.get("name", "").lower(): p
        for p in (resolve(spec, p) for p in operation.get("parameters", []))
        if p.get("in") == "header"
    }
    for header in contract.headers:
        param = params.get(header.lower())
        if param is None:
            problems.append(f"{where}.x-idempotency.headers names {header}, which is not a header parameter")
        elif resolve(spec, param.get("schema", {})).get("pattern") not in (None, contract.key_pattern.pattern):
            problems.append(
                f"{where}.parameters.{header}.schema.pattern differs from x-idempotency.keyPattern "
                f"({contract.key_pattern.pattern})"
            )
    responses = operation.get("responses", {})
    ok = resolve(spec, responses.get("200", {}))
    if contract.replay_header.lower() not in {h.lower() for h in ok.get("headers", {})}:
        problems.append(f"{where}.responses.200.headers lacks x-idempotency.replayHeader ({contract.replay_header})")
    produced = [("keyInvalid", contract.key_invalid), ("inFlight", contract.in_flight)]
    if contract.on_different_body == "reject":
        produced.append(("differentBody", contract.different_body))
    for name, error in produced:
        response = responses.get(str(error.status))
        if response is None:
            problems.append(
                f"{where}.x-idempotency.errors.{name} answers {error.status}, which {where}.responses lacks"
            )
        elif name == "inFlight" and "retry-after" not in _header_names(spec, response):
            problems.append(
                f"{where}.responses.{error.status} must declare Retry-After for x-idempotency.errors.inFlight"
            )
    return problems


def _error_code_problems(spec: dict[str, Any]) -> Iterator[str]:
    """`x-error-codes` lists codes, and names the code of each `x-idempotency` error under that error's status."""
    where = f"paths.{CALLBACK_PATH}.post.responses"
    for status, raw in callback_operation(spec).get("responses", {}).items():
        codes = resolve(spec, raw).get("x-error-codes")
        if codes is not None and (not isinstance(codes, list) or not all(isinstance(c, str) for c in codes)):
            yield f"{where}.{status}.x-error-codes must list error codes such as MTCH-0001, got {codes!r}"
    try:
        contract = idempotency_contract(spec)
    except ContractError:
        return  # said by _idempotency_problems
    for name, error in (("keyInvalid", contract.key_invalid), ("inFlight", contract.in_flight)):
        allowed = error_codes(spec, error.status)
        if allowed is not None and error.code not in allowed:
            yield f"{where}.{error.status}.x-error-codes lacks {error.code} (x-idempotency.errors.{name})"


def _header_names(spec: dict[str, Any], response: Any) -> set[str]:
    return {name.lower() for name in resolve(spec, response).get("headers", {})}


def _example_problems(spec: dict[str, Any]) -> Iterator[str]:
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            where = f"paths.{path}.{method}"
            for param in (resolve(spec, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]):
                place = f"{where}.parameters.{param.get('name')}"
                yield from _check_examples(spec, param, param.get("schema", {}), place)
            body = resolve(spec, operation.get("requestBody", {}))
            for media, content in body.get("content", {}).items():
                yield from _check_examples(spec, content, content.get("schema", {}), f"{where}.requestBody.{media}")
            for status, response in operation.get("responses", {}).items():
                for media, content in resolve(spec, response).get("content", {}).items():
                    yield from _check_examples(
                        spec, content, content.get("schema", {}), f"{where}.responses.{status}.{media}"
                    )
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        yield from _schema_examples(spec, schema, f"components.schemas.{name}")


def _check_examples(spec: dict[str, Any], holder: dict[str, Any], schema: dict[str, Any], where: str) -> Iterator[str]:
    if "example" in holder:
        yield from _violations(spec, holder["example"], schema, f"{where}.example")
    for name, example in holder.get("examples", {}).items():
        example = resolve(spec, example)
        if "value" in example:
            yield from _violations(spec, example["value"], schema, f"{where}.examples.{name}")


def _schema_examples(spec: dict[str, Any], schema: dict[str, Any], where: str) -> Iterator[str]:
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    if "example" in schema:
        yield from _violations(spec, schema["example"], schema, f"{where}.example")
    for name, sub in schema.get("properties", {}).items():
        yield from _schema_examples(spec, sub, f"{where}.properties.{name}")


def _violations(spec: dict[str, Any], value: Any, schema: dict[str, Any], where: str) -> Iterator[str]:
    for error in validator(schema, spec).iter_errors(value):
        at = "".join(f"[{p!r}]" for p in error.absolute_path)
        yield f"{where}{at} does not match its schema: {error.message}"
