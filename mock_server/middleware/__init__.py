"""The mock's middlewares, one per module, and the one list of them in the order a request meets them.

Outermost first; Connexion's own layers in brackets, the kit's from `callback_stack` (each of the kit's
layers after [Routing] acts on the callback operation only: `scope.CallbackLayer`):

    DropConnection                  asgi.py wraps the app in it: the lost-answer fault closes the connection
    CutShort                        asgi.py too: a request still held when the server stops is answered 503
    [ServerError]
    AccessLog                       (unless --quiet) one line per request: the request log
    RequestId                       X-Request-Id on every answer, errors included
    BodyLimit                       413 before anything reads an oversized body
    MediaType                       the media type in lower case, before Connexion picks a validator
    ServedSpec                      the served /openapi.json names the server it was read from (Swagger UI's list)
    [Exception] → [SwaggerUI] → [Routing]
    Moment                          one settings read: the request's time and fault rules
    Journal                         one journal entry per callback, whatever answers it (security's refusals too)
    [Security]
    Anonymous                       (auth off) the default tenant as the caller
    Faults                          X-Mock-Fault or a rule: latency, a forced status, a lost answer
    Idempotency                     (matcher profile: here, replaying before validation)
    OnceValidation                  Connexion's request validation, its validators built once per operation
    [ResponseValidation] → [Lifespan]
    Idempotency                     (published contract: here, after validation) claim, replay or 409
    CallbackEndpoint                the handler answers; the callback operation ends here
    [Context] → Connexion's handler layer (the admin API)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.request_validation import RequestValidationMiddleware
from starlette.responses import Response

from callback_kit.contract import IdempotencyContract
from callback_kit.mock_server.clock import Clock
from callback_kit.mock_server.handlers import CallbackHandler
from callback_kit.mock_server.middleware.access_log import AccessLogMiddleware
from callback_kit.mock_server.middleware.access_log import enabled as access_log_on
from callback_kit.mock_server.middleware.anonymous import AnonymousMiddleware
from callback_kit.mock_server.middleware.body_limit import BodyLimitMiddleware
from callback_kit.mock_server.middleware.callback_endpoint import CallbackEndpoint
from callback_kit.mock_server.middleware.faults import FaultMiddleware
from callback_kit.mock_server.middleware.idempotency import IdempotencyMiddleware
from callback_kit.mock_server.middleware.journal import JournalMiddleware
from callback_kit.mock_server.middleware.media_type import MediaTypeMiddleware
from callback_kit.mock_server.middleware.moment import MomentMiddleware
from callback_kit.mock_server.middleware.request_id import RequestIdMiddleware
from callback_kit.mock_server.middleware.request_validation import OnceValidationMiddleware
from callback_kit.mock_server.middleware.served_spec import ServedSpecMiddleware
from callback_kit.mock_server.profiles import DEFAULT_TENANT, Profile
from callback_kit.mock_server.types import Store

ADMIN_BASE_PATH = "/_mock"  # where `app.create_app` mounts the admin API
OUTSIDE = MiddlewarePosition.BEFORE_EXCEPTION  # around Connexion's error handling
BEFORE_SECURITY = MiddlewarePosition.BEFORE_SECURITY  # after routing, around the security step
BEFORE_VALIDATION = MiddlewarePosition.BEFORE_VALIDATION  # after routing and security
AFTER_VALIDATION = MiddlewarePosition.BEFORE_CONTEXT  # after validation, before Connexion's handler layer


@dataclass(frozen=True)
class Layer:
    """One of the kit's middlewares, where Connexion puts it, and its options."""

    middleware: type
    position: MiddlewarePosition
    options: dict[str, Any] = field(default_factory=dict)


def callback_stack(
    *,
    store: Store,
    clock: Clock,
    contract: IdempotencyContract,
    profile: Profile,
    auth: bool,
    max_body_bytes: int,
    handler: CallbackHandler,
    credential_key: bytes,
    error_response: Callable[[BaseException], Response],
) -> list[Layer]:
    """The kit's layers, outermost first (of several at one position, Connexion makes the first the outermost)."""
    idempotency = BEFORE_VALIDATION if profile.replay_before_validation else AFTER_VALIDATION
    shared = {"store": store, "clock": clock}
    return [
        *([Layer(AccessLogMiddleware, OUTSIDE, {"key_headers": list(contract.headers)})] if access_log_on() else []),
        Layer(RequestIdMiddleware, OUTSIDE),
        Layer(BodyLimitMiddleware, OUTSIDE, {"limit": max_body_bytes}),
        Layer(MediaTypeMiddleware, OUTSIDE),
        Layer(ServedSpecMiddleware, OUTSIDE, {"base_paths": ["", ADMIN_BASE_PATH]}),
        Layer(MomentMiddleware, BEFORE_SECURITY, shared),
        Layer(
            JournalMiddleware,
            BEFORE_SECURITY,
            {**shared, "key_headers": list(contract.headers), "credential_key": credential_key},
        ),
        *([] if auth else [Layer(AnonymousMiddleware, BEFORE_VALIDATION, {"tenant": DEFAULT_TENANT})]),
        Layer(FaultMiddleware, BEFORE_VALIDATION, {"store": store}),
        Layer(
            IdempotencyMiddleware,
            idempotency,
            {**shared, "contract": contract, "profile": profile, "error_response": error_response},
        ),
        Layer(CallbackEndpoint, AFTER_VALIDATION, {"handler": handler}),
    ]


def compose(layers: list[Layer]) -> list[Any]:
    """Connexion's stack with the kit's layers where they belong, and its validation step set up once.

    What `AsyncApp.add_middleware` would build layer by layer (the first of several at one position is the
    outermost), with `OnceValidationMiddleware` in the place of Connexion's `RequestValidationMiddleware`.
    """
    composed: list[Any] = []
    for middleware in ConnexionMiddleware.default_middlewares:
        here = [layer for layer in layers if layer.position.value is middleware]
        composed.extend(functools.partial(layer.middleware, **layer.options) for layer in here)
        composed.append(OnceValidationMiddleware if middleware is RequestValidationMiddleware else middleware)
    return composed
