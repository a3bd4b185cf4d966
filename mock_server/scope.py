"""What the kit's middlewares read off a request, written once: the operation guard, the buffered body, the
exception id, and the values earlier layers leave in `scope["extensions"]` for later ones.

    moment   middleware.moment.Moment              the request's time and fault rules (one settings read)
    fault    faults.Fault                          the fault chosen for this request
    claim    middleware.idempotency.Claim          the idempotency key this request holds
    body     ParsedBody                            the body as validation parsed it (`parsed_body`)
    (Connexion's `connexion_context.token_info` carries the caller: `auth.principal_of`)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CALLBACK_OPERATION = "processCallback"
T = TypeVar("T")


def operation_of(scope: Scope) -> str | None:
    """The operation Connexion routed the request to (None before routing, or for no operation)."""
    routing = scope.get("extensions", {}).get("connexion_routing", {})
    operation = routing.get("operation_id")
    return str(operation) if operation is not None else None


def is_callback(scope: Scope) -> bool:
    """The guard of every layer that acts on callbacks only: an HTTP request routed to the callback operation."""
    return scope["type"] == "http" and operation_of(scope) == CALLBACK_OPERATION


def stash(scope: Scope, name: str, value: object) -> None:
    """Leave `value` for the layers further in (and, through shallow scope copies, further out)."""
    scope.setdefault("extensions", {})[f"callback_kit.{name}"] = value


def stashed(scope: Scope, name: str, kind: type[T]) -> T | None:
    """What a layer left under `name`, when it is a `kind`."""
    value = scope.get("extensions", {}).get(f"callback_kit.{name}")
    return value if isinstance(value, kind) else None


@dataclass(frozen=True)
class ParsedBody:
    """A body's bytes and the JSON value they hold, parsed once by the validation step."""

    raw: bytes
    value: Any


def parsed_body(scope: Scope, raw: bytes) -> ParsedBody | None:
    """The validation step's parse of `raw`, when that step parsed these very bytes."""
    parsed = stashed(scope, "body", ParsedBody)
    return parsed if parsed is not None and parsed.raw == raw else None


class CallbackLayer:
    """Base of the middlewares that act on the callback operation only; every other request passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_callback(scope):
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


async def buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body and hand back a `receive` that replays it to the next app."""
    messages: list[Message] = []
    more = True
    while more:
        message = await receive()
        messages.append(message)
        more = message.get("more_body", False)
    pending = iter(messages)

    async def replay() -> Message:
        return next(pending, None) or await receive()

    return b"".join(m.get("body", b"") for m in messages), replay


def exception_id(scope: Scope) -> str | None:
    """The `{exceptionId}` of a callback path, routed or not."""
    routed = (scope.get("path_params") or {}).get("exceptionId")
    if routed:
        return str(routed)
    parts = scope["path"].strip("/").split("/")
    return parts[2] if len(parts) >= 4 and parts[1] == "exceptions" else None


def request_id(scope: Scope) -> str:
    """The id this request answers with (set by `middleware.request_id`)."""
    state: dict[str, Any] = scope.get("state", {})
    return str(state.get("request_id", ""))
