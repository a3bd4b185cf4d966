"""The request's media type in lower case, before Connexion chooses a body validator by its spelling."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class MediaTypeMiddleware:
    """Writes the request's media type in lower case before Connexion reads it.

    Media types are case-insensitive, but Connexion picks the body validator, and its handler layer decides
    to parse JSON, by exact spelling: `Application/JSON` would skip validation and reach the handler as bytes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            for index, (name, value) in enumerate(headers):
                if name == b"content-type":
                    media, sep, parameters = value.partition(b";")
                    if media != media.strip().lower():
                        headers = list(headers)
                        headers[index] = (name, media.strip().lower() + sep + parameters)
                        scope["headers"] = headers
        await self.app(scope, receive, send)
