"""All of authentication: who is calling, as the reference decides it, and how Connexion is told.

Static tokens come from the fixtures' `tokens.json` (token → tenant, principal, permissions). A JWT is
accepted when it is signed with the configured secret and carries `sub`, `tenant_id` and an unexpired
`exp`; its permissions come from `permissions` (a list) or `scope` (space-separated). Token values are
compared in constant time and never logged or journaled.

Connexion's security step calls `bearer_handler`'s verify function, which leaves the `Principal` in the
request's `token_info` (read back with `principal_of`); with auth off (the matcher profile's default)
`middleware.anonymous` puts the default tenant's `anonymous` principal there instead. Connexion's own
refusals (no header, a malformed one) become the contract's 401 and 403 in `from_security_problem`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from connexion.security import NO_VALUE, BearerSecurityHandler
from starlette.types import Scope

from callback_kit.mock_server.errors import Forbidden, MockError, Unauthorized
from callback_kit.mock_server.types import Principal

CALLBACK_PERMISSION = "callback:process"
MIN_SECRET_BYTES = 32
CREDENTIAL_DIGITS = 12  # of an HMAC-SHA-256: plenty to tell a handful of refused callers apart


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


def principal_of(scope: Scope) -> Principal | None:
    """The caller, as the security step (or `middleware.anonymous`) left it."""
    info = scope.get("extensions", {}).get("connexion_context", {}).get("token_info") or {}
    principal = info.get("principal") if isinstance(info, dict) else None
    return principal if isinstance(principal, Principal) else None


def credential_digest(scope: Scope, key: bytes) -> str | None:
    """A short digest of the request's Authorization header, to tell refused callers apart without their token.

    Keyed (HMAC) with the admin token: whoever reads a copied journal or report cannot confirm a guessed token.
    """
    header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    if header is None:
        return None
    return f"hmac:{hmac.new(key, header, hashlib.sha256).hexdigest()[:CREDENTIAL_DIGITS]}"


def anonymous(tenant: str, user: str) -> dict[str, Any]:
    """The `token_info` of a caller when auth is off: the default tenant, named by `X-User-ID` if sent."""
    principal = Principal(tenant, f"user:{user}" if user else "anon:", frozenset({CALLBACK_PERMISSION}))
    return {"sub": principal.subject, "principal": principal}


def bearer_handler(authenticator: Authenticator) -> type[BearerSecurityHandler]:
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


def from_security_problem(status: int, detail: str) -> MockError:
    """A 401 or 403 that Connexion's security step raised itself, as the contract's error."""
    if status == 401:
        # Connexion's "Invalid authorization header" (`Bearer` with no token) counts as missing, as in Matcher.
        message = "invalid authorization token" if "not valid" in detail else "missing authorization token"
        return Unauthorized(message)
    return Forbidden(detail or "forbidden")
