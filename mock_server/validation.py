"""Request validation as the spec says, with the contract's error codes and no 5xx for any input.

Connexion's own validators answer 500 to a non-UTF-8 body, guess JSON when the content type is missing,
rebuild their JSON Schema validator for every request, and word errors for Connexion rather than for the
caller. These subclasses keep Connexion's wiring and fix those four things. Every schema is compiled once
(`contract.schemas`, jsonschema-rs first); `middleware.request_validation` builds these validators once per operation;
the body, once parsed here, is left in the scope (`scope.parsed_body`) for the layers further in.
"""

from __future__ import annotations

import json
import typing as t

from connexion.datastructures import MediaTypeDict
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers
from starlette.types import Receive, Scope

from callback_kit.contract.schemas import fast_validator, is_valid, validator
from callback_kit.mock_server.errors import BadRequest, KeyInvalid, MockError
from callback_kit.mock_server.scope import ParsedBody, stash

NIL_UUID = "00000000-0000-0000-0000-000000000000"
_EMPTY: dict[str, t.Any] = {}


class CallbackParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Path and header checks, with the contract's codes: `MTCH-0015` for key headers, else `MTCH-0001`."""

    key_headers: t.ClassVar[frozenset[str]] = frozenset()
    exact: t.ClassVar[bool] = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # Connexion's request object is only needed for query strings, cookies and typed path parameters (its
        # URI parser gives a string path parameter back unchanged): without them, read the scope itself.
        declared = self.parameters
        self._plain = not (self.strict_validation or declared.get("query") or declared.get("cookie")) and all(
            p.get("schema", _EMPTY).get("type") == "string" for p in declared.get("path", [])
        )

    def validate(self, scope: Scope) -> None:
        if self._plain:
            self.validate_request(_ScopeRequest(scope))
        else:
            super().validate(scope)

    def validate_request(self, request: t.Any) -> None:
        try:
            self._check(request)
        except MockError as error:
            if not self.exact:
                raise
            raise _exact(error) from None

    def _check(self, request: t.Any) -> None:
        for param in self.parameters.get("path", []):
            value = request.path_params.get(param["name"].replace("-", "_"))
            if value == NIL_UUID:
                raise BadRequest("exception id is required", details={"field": param["name"], "rule": "not nil"})
            if _param_error(param, value):
                raise BadRequest(
                    f"invalid exception id {value!r}: expected a UUID such as 4f0c6a52-8a1e-4c7e-9a49-5b8f6f3f0a01",
                    details={"field": param["name"], "rule": "pattern"},
                )
        for param in self.parameters.get("header", []):
            name = param["name"]
            value = request.headers.get(name)
            error = _param_error(param, value)
            if error is None:
                continue
            if value is None:
                raise BadRequest(f"missing required header {name}", details={"field": name, "rule": "required"})
            if name.lower() in self.key_headers:
                raise KeyInvalid(
                    f"invalid idempotency key format in {name}: expected 1 to 128 letters, digits, ':', '_' "
                    "or '-', e.g. 8d7c1c4e-5f0b-4a8e-9a53-0b1f9e6c2d11",
                    details={"field": name, "rule": "pattern"},
                )
            raise BadRequest(f"invalid header {name}: {error}", details={"field": name, "rule": "header"})
        for location in ("query", "cookie"):
            # Read the query string and the cookies only for an operation that declares some.
            declared = self.parameters.get(location, [])
            values = (request.query_params if location == "query" else request.cookies) if declared else {}
            for param in declared:
                error = _param_error(param, values.get(param["name"]))
                if error is not None:
                    raise BadRequest(
                        f"invalid {location} parameter {param['name']}: {error}",
                        details={"field": param["name"], "rule": location},
                    )


class _ScopeRequest:
    """What `_check` reads of a request (path parameters, headers), straight from the ASGI scope."""

    def __init__(self, scope: Scope) -> None:
        self.path_params: dict[str, t.Any] = scope.get("path_params") or {}
        self._headers: list[tuple[bytes, bytes]] = scope["headers"]

    @property
    def headers(self) -> _ScopeRequest:
        return self

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header `name` (any case), as Starlette's `Headers.get` gives it."""
        wanted = name.lower().encode("latin-1")
        return next((value.decode("latin-1") for key, value in self._headers if key == wanted), default)


def _param_error(param: dict[str, t.Any], value: str | None) -> str | None:
    if value is None:
        return f"missing required {param['in']} {param['name']}" if param.get("required") else None
    schema = param.get("schema", _EMPTY)
    if is_valid(schema, value):
        return None
    error = next(iter(_schema_validator(schema).iter_errors(value)), None)
    return None if error is None else error.message


class CallbackBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """The JSON body: present, decodable, well-formed, and valid against the schema."""

    exact: t.ClassVar[bool] = False

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        try:
            return await self._checked(receive, scope)
        except MockError as error:
            if not self.exact:
                raise
            raise _exact(error) from None

    async def _checked(self, receive: Receive, scope: Scope) -> tuple[Receive, Scope]:
        content_type = Headers(scope=scope).get("content-type")
        if not content_type:
            raise BadRequest(
                "missing Content-Type: send the body as application/json",
                details={"field": "Content-Type", "rule": "required"},
            )
        # Read the whole stream, whatever Content-Length says (a chunked body has none).
        messages = []
        chunks = []
        more = True
        while more:
            message = await receive()
            messages.append(message)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        body = self._decode(raw)
        self._validate(body)
        if self._encoding.lower() in ("utf-8", "utf8"):
            # What `json.loads(raw)` gives further in, without parsing again (other charsets: parse again).
            stash(scope, "body", ParsedBody(raw, body))
        return self._insert_messages(receive, messages=messages), scope

    def _decode(self, raw: bytes) -> t.Any:
        if not raw.strip():
            raise BadRequest("request body is required: send a JSON object", details={"rule": "required"})
        try:
            body = json.loads(raw.decode(self._encoding), parse_constant=_not_json)
            if b"\\ud" in raw.lower():
                # A lone surrogate escape (`"\ud800"`) parses, but is no Unicode text: refuse it here, before
                # it is stored and breaks every later answer that shows it.
                json.dumps(body, ensure_ascii=False).encode("utf-8")
            return body
        except (UnicodeDecodeError, UnicodeEncodeError, LookupError):
            raise BadRequest(f"request body is not valid {self._encoding} text", details={"rule": "encoding"}) from None
        except RecursionError:
            raise BadRequest("request body is nested too deeply", details={"rule": "depth"}) from None
        except ValueError as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}", details={"rule": "json"}) from None

    def _validate(self, body: t.Any) -> None:
        if is_valid(self._schema, body):
            return
        errors = list(_schema_validator(self._schema).iter_errors(body))
        if not errors:
            return
        dates = {".".join(map(str, e.absolute_path)) for e in errors if e.validator == "format"}
        if self.exact and all(e.validator == "format" for e in errors) and dates <= {"dueAt", "updatedAt"}:
            # Matcher checks the two dates after the rest of the body, each with its own message.
            field = "dueAt" if "dueAt" in dates else "updatedAt"
            raise BadRequest(f"invalid {field} format, expected RFC3339")
        error = _best_error(errors)
        raise BadRequest(f"invalid request body: {_describe(error)}", details=_where(error))


def _not_json(constant: str) -> t.Any:
    raise ValueError(f"{constant} is not a JSON value")


def _best_error(errors: list[ValidationError]) -> ValidationError:
    # Prefer the most precise error: inside anyOf, report the branch that got furthest.
    return min(errors, key=lambda e: (e.validator == "anyOf", -len(e.absolute_path)))


def _describe(error: ValidationError) -> str:
    field = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "anyOf" and not field:
        return "'assignee' is required and must not be blank when status is ASSIGNED"
    prefix = f"'{field}' " if field else ""
    if error.validator == "required":
        return str(error.message)
    if error.validator == "format":
        return f"{prefix}must be an RFC 3339 date-time such as 2026-11-07T05:31:56Z (got {error.instance!r})"
    if error.validator == "enum":
        return f"{prefix}must be one of {', '.join(map(str, error.validator_value))} (got {error.instance!r})"
    if error.validator == "pattern" and error.validator_value == "[^ \\t\\n\\r\\f\\v]":
        return f"{prefix}must not be blank"
    return f"{prefix}{error.message!s}"


def _where(error: ValidationError) -> dict[str, t.Any]:
    field = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = [n for n in error.validator_value if isinstance(error.instance, dict) and n not in error.instance]
        field = ".".join(filter(None, [field, missing[0] if missing else ""]))
    if error.validator == "anyOf" and not field:
        field = "assignee"
    return {"field": field or "body", "rule": str(error.validator)}


def _schema_validator(schema: dict[str, t.Any]) -> Draft4Validator:
    """The kit's cached validator of a schema Connexion has resolved (Connexion would rebuild it per request)."""
    return validator(schema)


def _fast_validator(schema: dict[str, t.Any]) -> t.Any:
    """The jsonschema-rs validator the body check asks first (the kit's one cache keeps it)."""
    return fast_validator(schema)


def _exact(error: MockError) -> MockError:
    """The same refusal in Matcher 2.1's fixed words (its handler never names the field)."""
    if (
        error.code != "MTCH-0001"
        or error.message.startswith("invalid dueAt")
        or error.message.startswith("invalid updatedAt")
    ):
        return KeyInvalid("invalid idempotency key format") if isinstance(error, KeyInvalid) else error
    field = (error.details or {}).get("field")
    if field == "exceptionId":
        rule = (error.details or {}).get("rule")
        return BadRequest("exception id is required" if rule == "not nil" else "invalid exception id")
    if field == "X-Idempotency-Key":
        return BadRequest("X-Idempotency-Key header is required")
    return BadRequest("invalid request body")


def validator_map(key_headers: frozenset[str], *, exact: bool = False) -> dict[str, t.Any]:
    """The `validator_map` for `AsyncApp`; the body entry must stay a `MediaTypeDict` or JSON goes unchecked.

    With `exact`, refusals use Matcher 2.1's fixed messages (the matcher profile).
    """
    parameters = type("ParameterValidator", (CallbackParameterValidator,), {"key_headers": key_headers, "exact": exact})
    body = type("BodyValidator", (CallbackBodyValidator,), {"exact": exact})
    return {"parameter": parameters, "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": body})}
