"""`create_app(settings)`: the Connexion app of the mock, wired from the spec, the fixtures and a store.

Middleware, outermost first (Connexion's own in brackets; `mock_server.asgi` wraps it all in
`DropConnectionMiddleware`, which needs the server's own `send`):

    [ServerError] → RequestId → BodyLimit → [Exception] → [SwaggerUI] → [Routing] → [Security] → Journal
    → Faults → [RequestValidation] → [ResponseValidation] → [Lifespan] → Idempotency → [Context] → handler
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.security import BearerSecurityHandler
from starlette.exceptions import HTTPException

from mock_server.admin import AdminApi
from mock_server.auth import Authenticator, TokenTable
from mock_server.body_limit import BodyLimitMiddleware
from mock_server.clock import Clock
from mock_server.contract import idempotency_contract, load_spec
from mock_server.errors import JSON, MockError, Unauthorized, error_body, from_exception
from mock_server.faults import FaultMiddleware
from mock_server.handlers import CallbackHandler
from mock_server.idempotency import IdempotencyMiddleware
from mock_server.journal import JournalMiddleware
from mock_server.request_id import RequestIdMiddleware
from mock_server.seed import load_exceptions
from mock_server.settings import Settings
from mock_server.stores import open_store
from mock_server.types import Store
from mock_server.validation import validator_map

CALLBACK_OPERATION = "processCallback"
ADMIN_SPEC = Path(__file__).with_name("admin.yaml")
log = logging.getLogger("mock_server")


def create_app(
    settings: Settings, *, store: Store | None = None, clock_source: Callable[[], float] = time.time
) -> AsyncApp:
    """The mock as an ASGI app; the store is seeded from the fixtures when the app starts."""
    spec = load_spec(settings.spec_path)
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
    callbacks = CallbackHandler(store, clock, contract, settings.rate_limit_per_minute)
    admin = AdminApi(store, clock, authenticator, settings.fixtures_path)
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
        validator_map=validator_map(frozenset(h.lower() for h in contract.headers)),
        security_map={"bearer": _bearer_handler(authenticator)},
    )
    resolver = Resolver(function_resolver=operations.__getitem__)
    app.add_api(settings.spec_path, resolver=resolver)
    app.add_api(
        ADMIN_SPEC,
        base_path="/_mock",
        resolver=resolver,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs"),
    )
    # Among middlewares added at one position, the first added is the outermost.
    app.add_middleware(RequestIdMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(BodyLimitMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, limit=settings.max_body_bytes)
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
    app.add_middleware(
        IdempotencyMiddleware,
        position=MiddlewarePosition.BEFORE_CONTEXT,
        contract=contract,
        store=store,
        clock=clock,
        operation_id=CALLBACK_OPERATION,
    )
    for kind in (MockError, ProblemException, HTTPException, Exception):
        app.add_error_handler(kind, _render_error)
    app.services = {"store": store, "clock": clock, "records": records}  # type: ignore[attr-defined]
    return app


async def _render_error(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Every error, Connexion's and Starlette's included, in the contract's body."""
    error = from_exception(exc)
    if error.status >= 500 and error.status != 503:
        log.error("unexpected error answering a request", exc_info=exc)
    return ConnexionResponse(
        status_code=error.status,
        mimetype=JSON,
        content_type=JSON,
        body=error_body(error.status, error.code, error.message, error.details),
        headers=error.headers,
    )


def _bearer_handler(authenticator: Authenticator) -> type[BearerSecurityHandler]:
    """A bearer handler bound to this app's tokens; the admin scheme (`x-kit-role: admin`) takes the admin token."""

    class Handler(BearerSecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
            if security_scheme.get("x-kit-role") == "admin":
                return _admin_info
            return _callback_info

    def _callback_info(token: str) -> dict[str, Any]:
        principal = authenticator.principal(token)
        return {"sub": principal.subject, "principal": principal}

    def _admin_info(token: str) -> dict[str, Any]:
        if not authenticator.is_admin(token):
            raise Unauthorized("invalid admin token")
        return {"sub": "admin"}

    return Handler
