"""Prototype (bench only): a fast path for valid callbacks in front of Connexion, to measure what it would gain.

A request that is a well-formed callback (POST to the callback path, a bearer token that `Authenticator` accepts,
JSON body) and passes the very same checks (the kit's own parameter validator, and the body schema checked by
jsonschema-rs with jsonschema's date-time rule) runs the kit's own middlewares, taken from the app's middleware
list in the app's order, without Connexion's: e.g. RequestId → BodyLimit → [errors] → Moment → Journal → Faults →
Idempotency → the handler. Anything else, every refusal of the contract included, goes to the Connexion app
untouched, which answers exactly as it does today.

The lead would build this in `mock_server/` (sketch in bench/PROFILE.md); here it wraps an app `create_app` built.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from callback_kit.mock_server.scope import buffer_body

OPERATION = "processCallback"
_PATH = re.compile(r"/v1/exceptions/([^/]+)/callback")


class FastPath:
    """Answers valid callbacks itself; hands everything else to `fallback` (the Connexion app)."""

    def __init__(self, fallback: Any, settings: Any) -> None:
        import connexion.json_schema
        import jsonschema_rs
        from rfc3339_validator import validate_rfc3339

        from callback_kit.contract import idempotency_contract, load_spec
        from callback_kit.mock_server.auth import Authenticator, TokenTable
        from callback_kit.mock_server.handlers import CallbackHandler
        from callback_kit.mock_server.profiles import PROFILES, derive_spec
        from callback_kit.mock_server.validation import validator_map

        self.fallback = fallback
        profile = PROFILES[settings.profile]
        spec = derive_spec(load_spec(settings.spec_path), profile, auth=True)
        contract = idempotency_contract(spec)
        resolved = connexion.json_schema.resolve_refs(spec)
        operation = resolved["paths"]["/v1/exceptions/{exceptionId}/callback"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        self.body_check = jsonschema_rs.Draft4Validator(
            schema, validate_formats=True, formats={"date-time": validate_rfc3339}
        )
        parameters = validator_map(frozenset(h.lower() for h in contract.headers))["parameter"]
        self.parameter_check = parameters(operation.get("parameters", []), uri_parser=None)
        self.authenticator = Authenticator(
            TokenTable.load(
                settings.tokens_file or settings.fixtures_path / "tokens.json",
                jwt_secret=settings.jwt_secret,
                admin_token=settings.admin_token,
            )
        )
        self.limit = settings.max_body_bytes
        services = fallback.services
        self.handler = CallbackHandler(services["store"], services["clock"], contract, None, profile)
        self.chain = _kit_chain(fallback, self._endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.fallback(scope, receive, send)
            return
        raw, replay = await buffer_body(receive)
        accepted = self._accepts(scope, match.group(1), raw)
        await (self.chain if accepted else self.fallback)(scope, replay, send)

    def _accepts(self, scope: Scope, exception_id: str, raw: bytes) -> bool:
        """Whether the request passes every check Connexion would make; sets what the chain needs in the scope."""
        from callback_kit.mock_server.errors import MockError

        headers = Headers(scope=scope)
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        content_type = headers.get("content-type", "")
        if scheme.lower() != "bearer" or not token or content_type.split(";")[0].strip() != "application/json":
            return False
        if len(raw) > self.limit:
            return False
        try:
            principal = self.authenticator.principal(token)
            request = SimpleNamespace(
                path_params={"exceptionId": exception_id},
                headers=headers,
                query_params=QueryParams(scope.get("query_string", b"")),
                cookies={},
            )
            self.parameter_check._check(request)
            body = json.loads(raw.decode("utf-8"))
        except (MockError, ValueError, RecursionError):
            return False
        if not isinstance(body, dict) or not self.body_check.is_valid(body):
            return False
        extensions = scope.setdefault("extensions", {})
        extensions["connexion_routing"] = {"api_base_path": "", "operation_id": OPERATION}
        extensions["connexion_context"] = {
            "user": principal.subject,
            "token_info": {"sub": principal.subject, "principal": principal},
        }
        extensions["bench.body"] = body
        scope["path_params"] = {"exceptionId": exception_id}
        return True

    async def _endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        from connexion.context import _context, _receive, _scope

        # The handler reads `connexion.request.scope`: give it the context Connexion's ContextMiddleware would.
        _scope.set(scope)
        _receive.set(receive)
        _context.set(scope["extensions"]["connexion_context"])
        # Read the body through the chain as Connexion's handler call does: the journal records what it sees.
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        response = await self.handler.process_callback(
            scope["path_params"]["exceptionId"], scope["extensions"]["bench.body"]
        )
        await response(scope, receive, send)


def _kit_chain(app: Any, endpoint: ASGIApp) -> ASGIApp:
    """The app's own middlewares from `mock_server`, in its order, around `endpoint`; Connexion's exception
    middleware becomes `_Errors` at its place, and the rest of Connexion's middlewares are left out."""
    from connexion.middleware.exceptions import ExceptionMiddleware

    chain = endpoint
    for entry in reversed(app.middleware.middlewares):
        factory = getattr(entry, "func", entry)
        if factory is ExceptionMiddleware:
            chain = _Errors(chain)
        elif getattr(factory, "__module__", "").startswith("callback_kit.mock_server."):
            if factory.__name__ == "AnonymousMiddleware":
                raise RuntimeError("the fast path prototype handles bearer auth only")
            chain = entry(chain)
    return chain


class _Errors:
    """What Connexion's exception middleware does for the chain: any error becomes the contract's error body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from callback_kit.mock_server.errors import from_exception, render

        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # the same net as Connexion's: every error is answered, none escapes
            await render(from_exception(exc))(scope, receive, send)


def wrap(app: Any, settings: Any) -> ASGIApp:
    return FastPath(app, settings)
