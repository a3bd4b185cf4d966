"""The idempotency engine: one ASGI middleware, driven entirely by the spec's `x-idempotency` block.

It sits after Connexion's security step (never before: it would replay stored responses to callers without
a valid token). For a request with a key it claims the key in the store, atomically:

    free or expired  -> process; a response below `storeStatusBelow` is stored, any other releases the key
    completed        -> replay the stored status, body and content type, `X-Idempotency-Replayed: true`
                        (or 422 when the body differs and the policy is `reject`)
    in flight        -> 409 with `Retry-After`

A claim is only a lease: the callback handler completes it in the same store transaction that applies the
transition (`Claim.completion`), so a crash can never leave a callback applied but not stored, and a
claim that outlived its in-flight TTL cannot apply anything any more.

The matcher profile adds Matcher's second deduplication layer (`deduplicated`), keyed on tenant, external
system, exception and key whatever the principal or the path's spelling: a duplicate it catches is a fresh
200 that changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.contract import IdempotencyContract
from callback_kit.mock_server.auth import principal_of
from callback_kit.mock_server.clock import Clock
from callback_kit.mock_server.errors import BodyMismatch, Conflict, KeyInvalid, MockError, from_exception
from callback_kit.mock_server.middleware.moment import now_of
from callback_kit.mock_server.profiles import PUBLISHED, Profile
from callback_kit.mock_server.scope import CallbackLayer, ParsedBody, buffer_body, parsed_body, stash, stashed
from callback_kit.mock_server.types import Claimed, Completion, InFlight, Principal, Replay, Store, StoredResponse

Apply = Callable[[], Awaitable[None]]


@dataclass
class Claim:
    """A held key, as the handler sees it (`claim_of`)."""

    scope_key: str
    token: str
    fingerprint: str
    key: str
    completed: bool = field(default=False)

    def completion(self, response: StoredResponse, now: float, ttl: float) -> Completion:
        return Completion(self.scope_key, self.token, self.fingerprint, response, now + ttl)


def claim_of(scope: Scope) -> Claim | None:
    """The key this request holds, if it holds one."""
    return stashed(scope, "claim", Claim)


def fingerprint(body: bytes, parsed: ParsedBody | None = None) -> str:
    """The body's identity: canonical JSON, so key order and white space do not make a different request."""
    try:
        value = parsed.value if parsed is not None else json.loads(body)
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, RecursionError):
        return hashlib.sha256(body).hexdigest()
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class IdempotencyMiddleware(CallbackLayer):
    """Claim, replay or refuse callback requests as the operation's `x-idempotency` block says."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        contract: IdempotencyContract,
        store: Store,
        clock: Clock,
        profile: Profile = PUBLISHED,
        error_response: Callable[[BaseException], Response] | None = None,
    ) -> None:
        super().__init__(app)
        self.contract = contract
        self.store = store
        self.clock = clock
        self.profile = profile
        self.error_response = error_response
        self._header_names = [name.lower().encode("latin-1") for name in contract.headers]
        self._replay_header = contract.replay_header.lower().encode("latin-1")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope)
        if key is None and not self.profile.hash_key_without_key:
            await self.app(scope, receive, self._marked(send, replayed=False))
            return
        body, receive = await buffer_body(receive)
        if key is None:
            if not body:
                await self.app(scope, receive, send)
                return
            # Matcher deduplicates a keyless POST by its exact bytes.
            key = "hash:" + hashlib.sha256(body).hexdigest()
        principal = principal_of(scope)
        scope_key = self._scope_key(scope, principal, key)
        print_ = fingerprint(body, parsed_body(scope, body))
        now = await now_of(scope, self.clock)
        outcome = await self.store.claim(scope_key, print_, now, self.contract.in_flight_ttl)
        if isinstance(outcome, InFlight):
            raise self._in_flight(outcome)
        if not isinstance(outcome, Claimed):
            if outcome.fingerprint != print_ and self.contract.on_different_body == "reject":
                raise self._different_body()
            await self._replay(outcome.response, send)
            return
        claim = Claim(scope_key, outcome.token, print_, key)
        stash(scope, "claim", claim)
        await self._process(scope, receive, send, claim)

    async def _process(self, scope: Scope, receive: Receive, send: Send, claim: Claim) -> None:
        sent: dict[str, Any] = {"status": 0, "content_type": "application/json", "body": []}

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        sent["content_type"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                sent["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, self._marked(recording, replayed=False))
        except Exception as exc:
            # An error raised below us is rendered further out; render it here instead when the contract says
            # an answer with its status is stored (`storeStatusBelow` above 400).
            if self.error_response is None or from_exception(exc).status >= self.contract.store_status_below:
                await self._release(claim)
                raise
            await self.error_response(exc)(scope, receive, self._marked(recording, replayed=False))
        except BaseException:
            await self._release(claim)
            raise
        if sent["status"] >= self.contract.store_status_below or not sent["status"]:
            await self._release(claim)
        elif not claim.completed:
            response = StoredResponse(sent["status"], b"".join(sent["body"]), sent["content_type"])
            now = await now_of(scope, self.clock)
            claim.completed = await self.store.complete(claim.completion(response, now, self.contract.completed_ttl))

    async def _release(self, claim: Claim) -> None:
        if claim.completed:
            return
        # If the store is down, the claim lapses after its in-flight TTL instead, which keeps the key safe.
        with contextlib.suppress(MockError):
            await self.store.release(claim.scope_key, claim.token)

    async def _replay(self, response: StoredResponse, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (b"content-type", response.content_type.encode("latin-1")),
                    (b"content-length", str(len(response.body)).encode()),
                    (self._replay_header, b"true"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    def _marked(self, send: Send, *, replayed: bool) -> Send:
        if not replayed and not self.profile.replay_header_on_first:
            return send
        value = b"true" if replayed else b"false"

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (self._replay_header, value)]}
            await send(message)

        return marked

    def _key(self, scope: Scope) -> str | None:
        found: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in self._header_names and name not in found:
                found[name] = value.decode("latin-1")
        values = [found[name] for name in self._header_names if name in found]
        if not values:
            return None
        # Under `precedence` the first header listed wins, as Matcher's middleware reads them.
        if len(set(values)) > 1 and self.contract.on_disagreeing_headers == "reject":
            raise self._key_error(
                f"{' and '.join(self.contract.headers)} carry different keys: send one header, or the same key in both",
                details={"headers": list(self.contract.headers), "rule": "onDisagreeingHeaders: reject"},
            )
        key = values[0]
        if not self.contract.key_pattern.fullmatch(key):
            if self.profile.exact_messages:
                raise self._key_error("invalid idempotency key format")
            raise self._key_error(
                f"invalid idempotency key format {key[:40]!r}: expected {self.contract.key_pattern.pattern}, "
                "e.g. 8d7c1c4e-5f0b-4a8e-9a53-0b1f9e6c2d11"
            )
        return key

    def _scope_key(self, scope: Scope, principal: Principal | None, key: str) -> str:
        parts = {
            "tenant": principal.tenant if principal else "",
            "principal": principal.subject if principal else "",
            "method": scope["method"],
            # The exception id is case-insensitive: spelling it differently must not apply a callback twice
            # (Matcher keys the raw path, and leaves such duplicates to its second layer).
            "path": scope["path"] if self.profile.raw_path_in_scope else scope["path"].lower(),
        }
        return json.dumps([*(parts[name] for name in self.contract.scope), key], separators=(",", ":"))

    def _key_error(self, message: str, details: dict[str, Any] | None = None) -> MockError:
        spec = self.contract.key_invalid
        error = KeyInvalid(message, code=spec.code, details=details)
        error.status = spec.status
        return error

    def _in_flight(self, outcome: InFlight) -> MockError:
        spec = self.contract.in_flight
        retry_after = spec.retry_after if spec.retry_after is not None else max(1, round(outcome.retry_after))
        error = Conflict(
            "A request with this idempotency key is currently being processed",
            code=spec.code,
            headers={"Retry-After": str(retry_after)} if self.profile.retry_after else None,
        )
        error.status = spec.status
        return error

    def _different_body(self) -> MockError:
        spec = self.contract.different_body
        error = BodyMismatch("idempotency key already used with a different request body", code=spec.code)
        error.status = spec.status
        return error


async def deduplicated(
    store: Store, contract: IdempotencyContract, claim: Claim, key: tuple[str, str, str], now: float, apply: Apply
) -> bool:
    """Matcher's second layer around `apply`, keyed on (tenant, external system, exception) and the claim's key.

    True when `apply` ran; False when the layer caught a duplicate (the caller answers a fresh 200 anyway).
    """
    dedup_key = json.dumps(["dedup", *key, claim.key])
    outcome = await store.claim(dedup_key, "", now, contract.in_flight_ttl)
    if isinstance(outcome, InFlight):
        raise Conflict("callback is already being processed", code="MTCH-0504")
    if isinstance(outcome, Replay):
        return False
    try:
        await apply()
    except BaseException:
        await store.release(dedup_key, outcome.token)
        raise
    accepted = StoredResponse(200, b'{"status":"accepted"}', "application/json")
    await store.complete(Completion(dedup_key, outcome.token, "", accepted, now + contract.completed_ttl))
    return True
