"""Bearer authentication as the reference does it: static tokens and HS256 JWTs, then one permission.

Static tokens come from the fixtures' `tokens.json` (token → tenant, principal, permissions). A JWT is
accepted when it is signed with the configured secret and carries `sub`, `tenant_id` and an unexpired
`exp`; its permissions come from `permissions` (a list) or `scope` (space-separated). Token values are
compared in constant time and never logged or journaled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from callback_kit.mock_server.errors import Forbidden, Unauthorized
from callback_kit.mock_server.types import Principal

CALLBACK_PERMISSION = "callback:process"
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class TokenTable:
    """The parsed `tokens.json`."""

    tokens: dict[str, Principal]
    admin_token: str
    jwt_secret: str | None

    @classmethod
    def load(cls, path: Path, *, jwt_secret: str | None = None, admin_token: str | None = None) -> TokenTable:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            tokens = {
                token: Principal(entry["tenant"], entry["principal"], frozenset(entry.get("permissions", ())))
                for token, entry in raw["tokens"].items()
            }
            admin = admin_token or raw["admin"]["token"]
            secret = jwt_secret if jwt_secret is not None else raw.get("jwt", {}).get("secret")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f'Token file "{path}" must be JSON like {{"tokens": {{"<token>": {{"tenant": "<uuid>", '
                f'"principal": "<name>", "permissions": ["callback:process"]}}}}, "admin": {{"token": "<t>"}}}}: {exc}'
            ) from None
        if secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes for HS256 (RFC 7518 section 3.2), "
                f"got {len(secret.encode())}"
            )
        return cls(tokens, admin, secret)


class Authenticator:
    """Turns a bearer token into a `Principal`, or refuses it with 401 or 403."""

    def __init__(self, table: TokenTable) -> None:
        # Keyed by digest so that the lookup never compares the secret itself character by character.
        self._by_digest = {_digest(token): (token, principal) for token, principal in table.tokens.items()}
        self._admin = table.admin_token
        self._jwt_secret = table.jwt_secret

    def principal(self, token: str | None) -> Principal:
        """The principal of a token that may process callbacks."""
        principal = self.identify(token)
        if CALLBACK_PERMISSION not in principal.permissions:
            raise Forbidden(f"token lacks the permission '{CALLBACK_PERMISSION}'")
        return principal

    def identify(self, token: str | None) -> Principal:
        """The principal of any valid token, whatever its permissions."""
        if not token:
            raise Unauthorized("missing authorization token")
        entry = self._by_digest.get(_digest(token))
        if entry is not None and hmac.compare_digest(entry[0].encode(), token.encode()):
            return entry[1]
        if self._jwt_secret and token.count(".") == 2:
            return self._from_jwt(token)
        raise Unauthorized("invalid authorization token")

    def is_admin(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self._admin.encode(), (token or "").encode())

    def _from_jwt(self, token: str) -> Principal:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._jwt_secret,
                algorithms=["HS256"],
                options={"require": ["exp", "sub", "tenant_id"]},
            )
        except jwt.PyJWTError:
            raise Unauthorized("invalid authorization token") from None
        sub, tenant = claims["sub"], claims["tenant_id"]
        if not isinstance(sub, str) or not isinstance(tenant, str) or not sub or not tenant:
            raise Unauthorized("invalid authorization token")
        permissions = claims.get("permissions")
        if isinstance(permissions, list):
            granted = frozenset(p for p in permissions if isinstance(p, str))
        else:
            scope = claims.get("scope")
            granted = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        return Principal(tenant, sub, granted)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


class AnonymousMiddleware:
    """With auth off (the matcher profile's default), every caller is the default tenant, as in Matcher 2.1.

    The principal is `user:<X-User-ID>` when that header is sent (Matcher honours it in development), else
    `anon:`.
    """

    def __init__(self, app: ASGIApp, *, tenant: str) -> None:
        self.app = app
        self.tenant = tenant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            user = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-user-id"), "").strip()
            principal = Principal(self.tenant, f"user:{user}" if user else "anon:", frozenset({CALLBACK_PERMISSION}))
            context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
            context.setdefault("token_info", {"sub": principal.subject, "principal": principal})
        await self.app(scope, receive, send)
