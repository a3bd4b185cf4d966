"""The callback operation as the fuzz cases see it: everything they know about the endpoint, read from the spec.

The generator takes the body schema, the parameters and the idempotency keys from here; the judge takes the
error schema, the documented response bodies and their required headers. Schemas are checked with JSON Schema
Draft 4 and its format checker, as OpenAPI 3.0 (and the mock's validator) read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, ValidationError

from callback_kit.contract import (
    CALLBACK_PATH,
    ContractError,
    IdempotencyContract,
    callback_operation,
    idempotency_contract,
)
from callback_kit.contract.refs import RefError, resolve
from callback_kit.contract.schemas import validator
from callback_kit.contract.spec import SpecProblem, read_spec
from callback_kit.contract_tests.fuzz.errors import SpecUnsupported

Schema = dict[str, Any]


@dataclass(frozen=True)
class Parameter:
    """A path or header parameter, its schema resolved."""

    name: str
    location: str
    required: bool
    schema: Schema


@dataclass(frozen=True)
class Operation:
    """`POST /v1/exceptions/{exceptionId}/callback` as data."""

    method: str
    path: str
    server_url: str
    media_type: str
    body_schema: Schema
    path_parameter: Parameter
    headers: tuple[Parameter, ...]
    keys: IdempotencyContract
    spec: dict[str, Any] = field(repr=False)

    @classmethod
    def load(cls, path: Path | None = None) -> Operation:
        """Read the callback operation of the spec at `path` (default: the kit's `openapi.yaml`)."""
        try:
            spec = read_spec(path)
        except SpecProblem as exc:  # the same line `lint` shows for a file that is no spec
            raise SpecUnsupported(str(exc)) from None
        try:
            raw = callback_operation(spec)
            keys = idempotency_contract(spec)
        except ContractError as exc:
            raise SpecUnsupported(f"cannot read the callback operation: {exc}") from None
        resolve = _resolver(spec)
        parameters = [resolve(p) for p in raw.get("parameters", [])]
        params = tuple(Parameter(p["name"], p["in"], bool(p.get("required")), resolve(p["schema"])) for p in parameters)
        content = resolve(raw.get("requestBody", {})).get("content", {})
        if not content:
            raise SpecUnsupported(f"POST {CALLBACK_PATH} has no request body to fuzz")
        media_type, media = next(iter(content.items()))
        path_params = [p for p in params if p.location == "path"]
        if len(path_params) != 1:
            raise SpecUnsupported(f"expected exactly one path parameter in {CALLBACK_PATH}, got {len(path_params)}")
        _require_bearer(spec)
        servers = spec.get("servers") or [{"url": "http://127.0.0.1:8080"}]
        return cls(
            method="POST",
            path=CALLBACK_PATH,
            server_url=str(servers[0]["url"]).rstrip("/"),
            media_type=media_type,
            body_schema=media["schema"],
            path_parameter=path_params[0],
            headers=tuple(p for p in params if p.location == "header"),
            keys=keys,
            spec=spec,
        )

    def resolve(self, schema: Schema) -> Schema:
        """`schema` with its top-level `$ref` followed."""
        resolved: Schema = _resolver(self.spec)(schema)
        return resolved

    def validator(self, schema: Schema) -> Draft4Validator:
        """A Draft 4 validator (with formats) for a schema of this spec; `$ref`s resolve against the spec."""
        try:
            return validator(schema, self.spec)
        except RefError as exc:
            raise SpecUnsupported(str(exc)) from None

    def body_errors(self, body: Any) -> list[ValidationError]:
        """Why `body` breaks the request body schema (empty when it is valid)."""
        return list(self.validator(self.body_schema).iter_errors(body))

    def response(self, status: int) -> Schema | None:
        """The documented response for `status`, or None."""
        responses = callback_operation(self.spec).get("responses", {})
        raw = responses.get(str(status))
        return None if raw is None else self.resolve(raw)

    def documents(self, status: int) -> bool:
        return self.response(status) is not None

    def response_schema(self, status: int) -> Schema | None:
        """The JSON schema of the documented response body for `status`, or None."""
        response = self.response(status) or {}
        media = response.get("content", {}).get("application/json")
        return None if media is None or "schema" not in media else media["schema"]

    def required_response_headers(self, status: int) -> list[str]:
        """The headers the spec marks `required` on the response for `status`."""
        headers = (self.response(status) or {}).get("headers", {})
        return [name for name, raw in headers.items() if self.resolve(raw).get("required")]

    def error_schema(self) -> Schema:
        return {"$ref": "#/components/schemas/Error"}


def _resolver(spec: dict[str, Any]) -> Any:
    """`refs.resolve` bound to `spec`, its errors as `SpecUnsupported`."""

    def follow(node: Any) -> Any:
        try:
            return resolve(spec, node)
        except RefError as exc:
            raise SpecUnsupported(str(exc)) from None

    return follow


def _require_bearer(spec: dict[str, Any]) -> None:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    if not any(s.get("type") == "http" and str(s.get("scheme", "")).lower() == "bearer" for s in schemes.values()):
        raise SpecUnsupported("the cases send bearer tokens, but the spec declares no http bearer security scheme")
