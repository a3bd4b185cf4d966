"""With auth off (the matcher profile's default), every caller is the default tenant, as in Matcher 2.1.

The principal is `user:<X-User-ID>` when that header is sent (Matcher honours it in development), else
`anon:` (`auth.anonymous`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from callback_kit.mock_server.auth import anonymous


class AnonymousMiddleware:
    """Puts the anonymous caller where Connexion's security step would have put an authenticated one."""

    def __init__(self, app: ASGIApp, *, tenant: str) -> None:
        self.app = app
        self.tenant = tenant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            user = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-user-id"), "").strip()
            context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
            context.setdefault("token_info", anonymous(self.tenant, user))
        await self.app(scope, receive, send)
