"""What the middlewares read off a request: its whole body (without consuming it) and its exception id."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope


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
