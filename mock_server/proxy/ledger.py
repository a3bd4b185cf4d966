"""The proxy's memory of idempotency keys: the first answer the upstream gave each key, kept in the mock's store.

A key is scoped as the spec's `x-idempotency.scope` says, the caller standing in for tenant and principal (the
proxy cannot verify the upstream's tokens: a JWT's unverified tenant and subject claims, else a digest of the
credential, take their place). The store's atomic
"claim or replay" call tells, when a request arrives, what the upstream must answer it:

    first      nothing stored: a first processing (the proxy holds the key until the answer arrives)
    stored     a first answer is stored: the upstream must replay it (or apply `onDifferentBody`)
    in_flight  another request with the key is still being forwarded: the upstream must say so (409)
    none       no key, or a malformed one: no idempotency clause applies

A first answer below `storeStatusBelow` is kept for `completedTtlSeconds`; any other frees the key again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

import jwt

from callback_kit.contract import IdempotencyContract
from callback_kit.contract.exchange import Exchange
from callback_kit.mock_server.clock import Clock
from callback_kit.mock_server.middleware.idempotency import fingerprint
from callback_kit.mock_server.types import Claimed, Completion, InFlight, Store, StoredResponse

Seen = Literal["none", "first", "stored", "in_flight"]


@dataclass(frozen=True)
class Entry:
    """What the ledger knew of a request's key when it arrived."""

    seen: Seen
    scope_key: str = ""
    fingerprint: str = ""
    token: str | None = None
    original: Exchange | None = None
    same_body: bool = True


def credential_of(authorization: str | None) -> str:
    """A name for the caller that keeps its secret: a JWT's tenant and subject, else a digest of the credential."""
    if not authorization:
        return "anonymous"
    scheme, _, secret = authorization.strip().partition(" ")
    named = _jwt_caller(secret.strip())
    if named is not None:
        return f"jwt:{named}"
    digest = hashlib.sha256(secret.strip().encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{scheme.lower() or 'credential'}:{digest}"


def _jwt_caller(token: str) -> str | None:
    """`tenant/subject` of a JWT carrying both claims (read unverified: the proxy does not hold the secret)."""
    if token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    tenant, subject = claims.get("tenant_id"), claims.get("sub")
    if not isinstance(tenant, str) or not isinstance(subject, str) or not tenant or not subject:
        return None
    # A refreshed token (another exp) names the same caller, so its retries find the key's first answer.
    return json.dumps([tenant, subject], separators=(",", ":"))


class Ledger:
    """First answers per (caller, method, path, key), in `store`."""

    def __init__(self, store: Store, clock: Clock, contract: IdempotencyContract) -> None:
        self.store = store
        self.clock = clock
        self.contract = contract

    def key_of(self, headers: dict[str, str]) -> tuple[str | None, str | None]:
        """The request's idempotency key and the header it came in (the first of the spec's headers present)."""
        for name in self.contract.headers:
            value = headers.get(name.lower())
            if value is not None:
                return value, name
        return None, None

    async def open(self, caller: str, method: str, path: str, key: str | None, body: bytes) -> Entry:
        """Look the key up (claiming it when free), before the request is forwarded."""
        if key is None or not self.contract.key_pattern.fullmatch(key):
            return Entry("none")
        parts = {"tenant": caller, "principal": caller, "method": method, "path": path.lower()}
        scope_key = json.dumps(["proxy", *(parts[name] for name in self.contract.scope), key], separators=(",", ":"))
        print_ = fingerprint(body)
        outcome = await self.store.claim(scope_key, print_, await self.clock.now(), self.contract.in_flight_ttl)
        if isinstance(outcome, Claimed):
            return Entry("first", scope_key, print_, outcome.token)
        if isinstance(outcome, InFlight):
            return Entry("in_flight", scope_key, print_)
        original = _as_exchange(outcome.response, self.contract, method, path)
        return Entry("stored", scope_key, print_, original=original, same_body=outcome.fingerprint == print_)

    async def abandon(self, entry: Entry) -> None:
        """Free a key held for a request that ended without an answer (the client went away mid-forward)."""
        if entry.seen == "first" and entry.token is not None:
            await self.store.release(entry.scope_key, entry.token)

    async def close(self, entry: Entry, answer: Exchange) -> None:
        """Keep a first answer below `storeStatusBelow`; free the key after any other (or a failed forward)."""
        if entry.seen != "first" or entry.token is None:
            return
        if 0 < answer.status < self.contract.store_status_below:
            stored = StoredResponse(answer.status, answer.body, answer.header("content-type") or "")
            expires = await self.clock.now() + self.contract.completed_ttl
            await self.store.complete(Completion(entry.scope_key, entry.token, entry.fingerprint, stored, expires))
        else:
            await self.store.release(entry.scope_key, entry.token)


def _as_exchange(response: StoredResponse, contract: IdempotencyContract, method: str, path: str) -> Exchange:
    """A stored first answer as the exchange a replay is compared with."""
    headers = (("content-type", response.content_type), (contract.replay_header, "false"))
    return Exchange("first answer", method, path, (), b"", response.status, "", headers, response.body, 0.0, 0.0)
