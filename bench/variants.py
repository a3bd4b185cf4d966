"""Bench-only variants of the mock, made by monkeypatching in a child process (never in `mock_server/`).

An *ablation* removes one component, to measure what it costs. A *prototype* is an optimisation the lead could
make in `mock_server/`, sketched here only to measure its gain; each keeps full request validation and the
responses byte for byte (the bench checks the statuses). `apply(name)` must run before the app is built.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from starlette.types import Receive, Scope, Send

Patch = Callable[[], None]
BODY_EXTENSION = "bench.parsed_body"


def _passthrough(cls: type) -> None:
    async def call(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    cls.__call__ = call  # type: ignore[operator]


def no_request_id() -> None:
    from callback_kit.mock_server.middleware.request_id import RequestIdMiddleware

    _passthrough(RequestIdMiddleware)


def no_body_limit() -> None:
    from callback_kit.mock_server.middleware.body_limit import BodyLimitMiddleware

    _passthrough(BodyLimitMiddleware)


def no_journal() -> None:
    from callback_kit.mock_server.middleware.journal import JournalMiddleware

    _passthrough(JournalMiddleware)


def no_faults() -> None:
    from callback_kit.mock_server.middleware.faults import FaultMiddleware

    _passthrough(FaultMiddleware)


def no_drop_connection() -> None:
    from callback_kit.mock_server.middleware.drop_connection import DropConnectionMiddleware

    _passthrough(DropConnectionMiddleware)


def no_idempotency() -> None:
    from callback_kit.mock_server.middleware.idempotency import IdempotencyMiddleware

    _passthrough(IdempotencyMiddleware)


def no_request_validation() -> None:
    from connexion.middleware.request_validation import RequestValidationOperation

    async def call(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
        await self.next_app(scope, receive, send)

    RequestValidationOperation.__call__ = call


def settings_not_read() -> None:
    """Upper bound of caching the shared settings (clock offset, fault rules): the store never reads them."""
    from callback_kit.mock_server.stores.memory import MemoryStore
    from callback_kit.mock_server.stores.redis import RedisStore
    from callback_kit.mock_server.stores.sqlite import SQLiteStore

    async def settings(self: Any) -> dict[str, str]:
        return {}

    async def get_setting(self: Any, name: str) -> str | None:
        return None

    for cls in (MemoryStore, SQLiteStore, RedisStore):
        cls.get_setting = get_setting  # type: ignore[method-assign]
        if hasattr(cls, "settings"):
            cls.settings = settings


def security_signature_cached() -> None:
    """Prototype: Connexion's security wrapper calls `inspect.signature` twice per request; cache it."""
    from connexion.security import AbstractSecurityHandler

    original = AbstractSecurityHandler._accepts_kwarg
    AbstractSecurityHandler._accepts_kwarg = staticmethod(functools.cache(original))


def decorate_once() -> None:
    """Prototype: Connexion builds its decorators and inspects the handler's signature on every request.

    Decorate the handler once per operation; only the request object is made per request.
    """
    from connexion.apps.asynchronous import AsyncOperation
    from connexion.context import receive as context_receive
    from connexion.context import scope as context_scope
    from connexion.decorators import StarletteDecorator

    class OnceDecorator(StarletteDecorator):  # type: ignore[misc]
        def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
            decorated = self.decorate(function)

            async def wrapper() -> Any:
                request = self.framework.get_request(
                    uri_parser=self.uri_parser, scope=context_scope, receive=context_receive
                )
                return await decorated(request)

            return wrapper

    def fn(self: Any) -> Callable[..., Any]:
        cached = self.__dict__.get("_bench_fn")
        if cached is None:
            cached = OnceDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn)
            self.__dict__["_bench_fn"] = cached
        return cached

    AsyncOperation.fn = property(fn)


def validation_setup_cached() -> None:
    """Prototype: Connexion's validation builds two URI parsers and both validators on every request;
    build them once per operation (and content type). The checks themselves are unchanged."""
    from connexion import utils
    from connexion.middleware.request_validation import RequestValidationOperation

    async def call(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
        cache = self.__dict__.setdefault("_bench_cache", {})
        parameters = cache.get("parameters")
        if parameters is None:
            operation = self._operation
            uri_parser = operation._uri_parser_class(operation.parameters, operation.body_definition())
            parameters = cache["parameters"] = self._validator_map["parameter"](
                operation.parameters,
                uri_parser=uri_parser,
                strict_validation=self.strict_validation,
                security_query_params=self.security_query_params,
            )
        parameters.validate(scope)
        mime_type, encoding = self.extract_content_type(scope["headers"])
        body = cache.get((mime_type, encoding), False)
        if body is False:
            self.validate_mime_type(mime_type)
            body = None
            operation = self._operation
            schema = operation.body_schema(mime_type)
            if schema:
                try:
                    validator_cls = self._validator_map["body"][mime_type]
                except KeyError:
                    validator_cls = None
                if validator_cls is not None:
                    body = validator_cls(
                        schema=schema,
                        required=operation.request_body.get("required", False),
                        nullable=utils.is_nullable(operation.body_definition(mime_type)),
                        encoding=encoding,
                        strict_validation=self.strict_validation,
                        uri_parser=operation.uri_parser_class(operation.parameters, operation.body_definition()),
                    )
            cache[(mime_type, encoding)] = body
        if body is not None:
            receive, scope = await body.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)

    RequestValidationOperation.__call__ = call


def fingerprint_once() -> None:
    """Prototype: the journal re-parses and re-serialises the body the idempotency step already fingerprinted."""
    import callback_kit.mock_server.middleware.journal as journal
    from callback_kit.mock_server.middleware.idempotency import fingerprint

    @functools.lru_cache(maxsize=64)
    def cached(body: bytes) -> str:
        return fingerprint(body)

    journal.fingerprint = cached


def handler_direct() -> None:
    """Prototype: call the callback handler straight from the validated body, without Connexion's parameter
    and response decorators (which parse the body a second time and build the arguments by introspection).
    The body validator leaves the parsed body in the scope; the handler gets `exception_id` and `body` as now.
    """
    import contextvars

    from connexion.apps.asynchronous import AsyncOperation

    import callback_kit.mock_server.validation as validation

    decoded: contextvars.ContextVar[Any] = contextvars.ContextVar("bench_decoded")
    original_decode = validation.CallbackBodyValidator._decode
    original_checked = validation.CallbackBodyValidator._checked
    original_call = AsyncOperation.__call__

    def decode(self: Any, raw: bytes) -> Any:
        body = original_decode(self, raw)
        decoded.set(body)
        return body

    async def checked(self: Any, receive: Receive, scope: Scope) -> Any:
        result = await original_checked(self, receive, scope)
        scope.setdefault("extensions", {})[BODY_EXTENSION] = decoded.get(None)
        return result

    async def call(self: Any, scope: Scope, receive: Receive, send: Send) -> Any:
        extensions = scope.get("extensions", {})
        if self.operation_id != "processCallback" or BODY_EXTENSION not in extensions:
            return await original_call(self, scope, receive, send)
        response = await self._fn(exception_id=scope["path_params"]["exceptionId"], body=extensions[BODY_EXTENSION])
        return await response(scope, receive, send)

    validation.CallbackBodyValidator._decode = decode
    validation.CallbackBodyValidator._checked = checked
    AsyncOperation.__call__ = call


def jsonschema_rs_fast_path() -> None:
    """Prototype: check bodies with jsonschema-rs (Rust, already installed with schemathesis) and fall back to
    jsonschema only to word the error of an invalid body. Needs a differential test before adoption."""
    import jsonschema_rs
    from rfc3339_validator import validate_rfc3339

    import callback_kit.mock_server.validation as validation

    original = validation._schema_validator

    class Fast:
        def __init__(self, schema: dict[str, Any]) -> None:
            self.slow = original(schema)
            # jsonschema-rs's own date-time accepts leap seconds (23:59:60Z); jsonschema's does not: use the same
            # rfc3339-validator so both accept exactly the same bodies.
            self.fast = jsonschema_rs.Draft4Validator(
                schema, validate_formats=True, formats={"date-time": validate_rfc3339}
            )

        def iter_errors(self, instance: Any) -> Any:
            if self.fast.is_valid(instance):
                return iter(())
            return self.slow.iter_errors(instance)

    cache: dict[int, tuple[dict[str, Any], Fast]] = {}

    def validator(schema: dict[str, Any]) -> Any:
        entry = cache.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = (schema, Fast(schema))
            cache[id(schema)] = entry
        return entry[1]

    validation._schema_validator = validator


def rfc3339_fast() -> None:
    """Prototype: the common spelling of a date, UTC with an upper-case T and Z, read without a timezone
    conversion and strftime; any other spelling goes to the kit's `parse_rfc3339` as now (same answers)."""
    import re
    from datetime import datetime

    import callback_kit.mock_server.callbacks as callbacks
    import callback_kit.mock_server.validation as validation

    original = callbacks.parse_rfc3339
    utc = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z", re.ASCII)

    def parse(text: str) -> str | None:
        match = utc.fullmatch(text)
        if match is None or text[0] == "0":  # years before 1000: strftime spells them differently
            return original(text)
        try:
            datetime(*(int(match.group(i)) for i in range(1, 7)))
        except ValueError:
            return None
        return text

    callbacks.parse_rfc3339 = parse
    if hasattr(validation, "parse_rfc3339"):
        validation.parse_rfc3339 = parse


ABLATIONS: dict[str, tuple[str, list[Patch]]] = {
    "full": ("the mock as it is", []),
    "no RequestId": ("RequestIdMiddleware passes through", [no_request_id]),
    "no BodyLimit": ("BodyLimitMiddleware passes through", [no_body_limit]),
    "no DropConnection": ("DropConnectionMiddleware passes through", [no_drop_connection]),
    "no Journal": ("JournalMiddleware passes through", [no_journal]),
    "no Faults": ("FaultMiddleware passes through", [no_faults]),
    "no Idempotency": ("IdempotencyMiddleware passes through (no claim, no replay)", [no_idempotency]),
    "no RequestValidation": ("Connexion's RequestValidationOperation passes through", [no_request_validation]),
    "security off": ("auth off: the spec has no security, AnonymousMiddleware sets the principal", []),
    "settings not read": (
        "the store returns no settings (clock offset, fault rules) without a read",
        [settings_not_read],
    ),
}
PROTOTYPES: dict[str, tuple[str, list[Patch]]] = {
    "P security signature cached": (
        "cache Connexion's per-request inspect.signature in security",
        [security_signature_cached],
    ),
    "P decorate once": ("decorate the handler once per operation, not per request", [decorate_once]),
    "P validation setup cached": ("build URI parsers and validators once per operation", [validation_setup_cached]),
    "P fingerprint once": ("the journal reuses the body fingerprint", [fingerprint_once]),
    "P handler direct": (
        "call the handler with the validator's parsed body, no Connexion decorators",
        [handler_direct],
    ),
    "P jsonschema-rs": (
        "validate bodies with jsonschema-rs, jsonschema only to word errors",
        [jsonschema_rs_fast_path],
    ),
    "P rfc3339 fast": ("dates in the common UTC spelling read without a timezone conversion", [rfc3339_fast]),
    "P all": (
        "every prototype above together",
        [
            security_signature_cached,
            validation_setup_cached,
            fingerprint_once,
            handler_direct,
            jsonschema_rs_fast_path,
            rfc3339_fast,
        ],
    ),
    "P fast path": (
        "valid callbacks skip Connexion (bench/fastpath.py); everything else goes through it unchanged",
        [],
    ),
    "P fast path + dates": ("the fast path and the common date spelling read directly", [rfc3339_fast]),
}
VARIANTS = {**ABLATIONS, **PROTOTYPES}


class Obsolete(RuntimeError):
    """The code a variant patches is gone (the optimisation it sketches has probably been applied)."""


def apply(name: str) -> dict[str, Any]:
    """Patch for variant `name`; returns the `build()` options it needs. Raises `Obsolete`."""
    _description, patches = VARIANTS[name]
    try:
        for patch in patches:
            patch()
    except (ImportError, AttributeError) as exc:
        raise Obsolete(f"{name}: {exc}") from None
    if name == "security off":
        return {"auth": False}
    if name.startswith("P fast path"):
        from bench.fastpath import wrap

        return {"wrap": wrap}
    return {}


def describe() -> str:
    return json.dumps({name: description for name, (description, _) in VARIANTS.items()}, indent=2)
