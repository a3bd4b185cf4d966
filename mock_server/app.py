"""`create_app(settings)`: the Connexion app of the mock, wired from the spec, the fixtures and a store.

Middleware, outermost first (Connexion's own in brackets; `callback_kit.mock_server.asgi` wraps it all in
`DropConnectionMiddleware`, which needs the server's own `send`):

    [ServerError] → RequestId → BodyLimit → MediaType → [Exception] → [SwaggerUI] → [Routing] → [Security]
    → Moment → Journal → Faults → [RequestValidation] → [ResponseValidation] → [Lifespan] → Idempotency
    → CallbackEndpoint (the callback operation ends here) → [Context] → Connexion's handler layer

(with the matcher profile, Anonymous comes before Moment, and Idempotency before [RequestValidation]).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.security import NO_VALUE, BearerSecurityHandler
from starlette.exceptions import HTTPException
from starlette.responses import Response

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.mock_server.admin import AdminApi
from callback_kit.mock_server.auth import AnonymousMiddleware, Authenticator, TokenTable
from callback_kit.mock_server.body_limit import BodyLimitMiddleware
from callback_kit.mock_server.clock import Clock
from callback_kit.mock_server.errors import BadRequest, MockError, Unauthorized, from_exception, render
from callback_kit.mock_server.faults import FaultMiddleware
from callback_kit.mock_server.handlers import CallbackEndpoint, CallbackHandler
from callback_kit.mock_server.idempotency import IdempotencyMiddleware
from callback_kit.mock_server.journal import JournalMiddleware
from callback_kit.mock_server.moment import MomentMiddleware
from callback_kit.mock_server.profiles import DEFAULT_TENANT, PROFILES, Profile, derive_spec
from callback_kit.mock_server.request_id import RequestIdMiddleware
from callback_kit.mock_server.seed import load_exceptions
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.stores import open_store
from callback_kit.mock_server.types import Store
from callback_kit.mock_server.validation import MediaTypeMiddleware, validator_map

CALLBACK_OPERATION = "processCallback"
ADMIN_SPEC = Path(__file__).with_name("admin.yaml")
log = logging.getLogger("callback_kit.mock_server")


def create_app(
    settings: Settings, *, store: Store | None = None, clock_source: Callable[[], float] = time.time
) -> AsyncApp:
    """The mock as an ASGI app; the store is seeded from the fixtures when the app starts."""
    profile = PROFILES[settings.profile]
    auth = profile.auth_by_default if settings.auth is None else settings.auth
    spec = derive_spec(load_spec(settings.spec_path), profile, auth=auth)
    contract = idempotency_contract(spec)
    store = store if store is not None else open_store(settings.store_url)
    clock = Clock(store, clock_source)
    tokens = TokenTable.load(
        settings.tokens_file or settings.fixtures_path / "tokens.json",
        jwt_secret=settings.jwt_secret,
        admin_token=settings.admin_token,
    )
    authenticator = Authenticator(tokens)
    records = load_exceptions(settings.fixtures_path)
    rate_limit = (
        profile.rate_limit_per_minute if settings.rate_limit_per_minute is None else settings.rate_limit_per_minute
    )
    callbacks = CallbackHandler(store, clock, contract, rate_limit, profile)
    admin = AdminApi(store, clock, authenticator, settings.fixtures_path, None if auth else DEFAULT_TENANT)
    operations: dict[str, Any] = {CALLBACK_OPERATION: callbacks.process_callback, **admin.operations()}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        await store.seed(records, replace=False)
        yield
        await store.close()

    app = AsyncApp(
        __name__,
        lifespan=lifespan,
        pythonic_params=True,
        validator_map=validator_map(frozenset(h.lower() for h in contract.headers), exact=profile.exact_messages),
        security_map={"bearer": _bearer_handler(authenticator)},
    )
    resolver = Resolver(function_resolver=operations.__getitem__)
    app.add_api(spec, resolver=resolver)
    app.add_api(
        load_spec(ADMIN_SPEC),
        base_path="/_mock",
        resolver=resolver,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs"),
    )
    # Among middlewares added at one position, the first added is the outermost.
    respond = _error_responder(profile)
    app.add_middleware(RequestIdMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(BodyLimitMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, limit=settings.max_body_bytes)
    app.add_middleware(MediaTypeMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    if not auth:
        app.add_middleware(AnonymousMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION, tenant=DEFAULT_TENANT)
    app.add_middleware(
        MomentMiddleware,
        position=MiddlewarePosition.BEFORE_VALIDATION,
        store=store,
        clock=clock,
        operation_id=CALLBACK_OPERATION,
    )
    app.add_middleware(
        JournalMiddleware,
        position=MiddlewarePosition.BEFORE_VALIDATION,
        store=store,
        clock=clock,
        operation_id=CALLBACK_OPERATION,
        key_headers=list(contract.headers),
    )
    app.add_middleware(
        FaultMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION, store=store, operation_id=CALLBACK_OPERATION
    )
    # Matcher replays before validating (a replay ignores the body); the published contract validates first.
    app.add_middleware(
        IdempotencyMiddleware,
        position=(
            MiddlewarePosition.BEFORE_VALIDATION
            if profile.replay_before_validation
            else MiddlewarePosition.BEFORE_CONTEXT
        ),
        contract=contract,
        store=store,
        clock=clock,
        operation_id=CALLBACK_OPERATION,
        profile=profile,
        error_response=respond,
    )
    app.add_middleware(
        CallbackEndpoint, position=MiddlewarePosition.BEFORE_CONTEXT, handler=callbacks, operation_id=CALLBACK_OPERATION
    )
    for kind in (MockError, ProblemException, HTTPException, Exception):
        app.add_error_handler(kind, _connexion_handler(respond))
    app.services = {"store": store, "clock": clock, "records": records}  # type: ignore[attr-defined]
    return app


def _error_responder(profile: Profile) -> Callable[[BaseException], Response]:
    """Every error, Connexion's and Starlette's included, as the contract's answer (the profile's variant)."""

    def respond(exc: BaseException) -> Response:
        error = from_exception(exc)
        if error.status >= 500 and error.status != 503 and not isinstance(exc, MockError):
            log.error("unexpected error answering a request", exc_info=exc)
        if profile.exact_messages and isinstance(exc, ProblemException) and exc.status == 415:
            error = BadRequest("invalid request body")
        if profile.forbidden_as_text and error.status == 403:
            return Response(b"Forbidden", status_code=403, media_type="text/plain")
        return render(error)

    return respond


def _connexion_handler(
    respond: Callable[[BaseException], Response],
) -> Callable[[ConnexionRequest, Exception], Awaitable[ConnexionResponse]]:
    async def handle(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        response = respond(exc)
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        return ConnexionResponse(
            status_code=response.status_code,
            mimetype=response.media_type,
            content_type=response.media_type,
            body=response.body,
            headers=headers,
        )

    return handle


def _bearer_handler(authenticator: Authenticator) -> type[BearerSecurityHandler]:
    """A bearer handler bound to this app's tokens; the admin scheme (`x-kit-role: admin`) takes the admin token."""

    class Handler(BearerSecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
            if security_scheme.get("x-kit-role") == "admin":
                return _admin_info
            return _callback_info

        def _get_verify_func(self, token_info_func: Callable[[str], dict[str, Any]]) -> Callable[[Any], Any]:
            # Connexion's own wrapper inspects the function's signature on every request; ours takes the token.
            def verify(request: Any) -> Any:
                auth_type, token = self.get_auth_header_value(request)
                return token_info_func(token) if auth_type == "bearer" else NO_VALUE

            return verify

    def _callback_info(token: str) -> dict[str, Any]:
        principal = authenticator.principal(token)
        return {"sub": principal.subject, "principal": principal}

    def _admin_info(token: str) -> dict[str, Any]:
        if not authenticator.is_admin(token):
            raise Unauthorized("invalid admin token")
        return {"sub": "admin"}

    return Handler
