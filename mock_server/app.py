"""`create_app(settings)`: the Connexion app of the mock, wired from the spec, the fixtures and a store.

The middleware stack, in the order a request meets it, is `middleware.callback_stack` (drawn in the docstring
of `mock_server.middleware`); `asgi.py` wraps the app in `DropConnectionMiddleware`.
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
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.responses import Response

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.mock_server.admin import AdminApi
from callback_kit.mock_server.auth import Authenticator, TokenTable, bearer_handler
from callback_kit.mock_server.clock import Clock
from callback_kit.mock_server.errors import BadRequest, MockError, from_exception, render
from callback_kit.mock_server.handlers import CallbackHandler
from callback_kit.mock_server.middleware import ADMIN_BASE_PATH, callback_stack, compose
from callback_kit.mock_server.profiles import DEFAULT_TENANT, PROFILES, Profile, derive_spec
from callback_kit.mock_server.scope import CALLBACK_OPERATION
from callback_kit.mock_server.seed import load_exceptions
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.stores import open_store
from callback_kit.mock_server.types import Store
from callback_kit.mock_server.validation import validator_map

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

    respond = error_responder(profile)
    layers = callback_stack(
        store=store,
        clock=clock,
        contract=contract,
        profile=profile,
        auth=auth,
        max_body_bytes=settings.max_body_bytes,
        handler=callbacks,
        error_response=respond,
        credential_key=tokens.admin_token.encode(),
    )
    app = AsyncApp(
        __name__,
        lifespan=lifespan,
        middlewares=compose(layers),
        pythonic_params=True,
        validator_map=validator_map(frozenset(h.lower() for h in contract.headers), exact=profile.exact_messages),
        security_map={"bearer": bearer_handler(authenticator)},
    )
    resolver = Resolver(function_resolver=operations.__getitem__)
    app.add_api(spec, resolver=resolver)
    app.add_api(
        load_spec(ADMIN_SPEC),
        base_path=ADMIN_BASE_PATH,
        resolver=resolver,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs"),
    )
    for kind in (MockError, ProblemException, HTTPException, Exception):
        app.add_error_handler(kind, connexion_handler(respond))
    app.services = {"store": store, "clock": clock, "records": records}  # type: ignore[attr-defined]
    return app


def error_responder(profile: Profile) -> Callable[[BaseException], Response]:
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


def connexion_handler(
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
