"""Idempotency as the spec's `x-idempotency` block declares it, and the tenant isolation keys rely on.

Each function is one named check. A check asserts only its own property: a first processing is "not a
replay" here, and only `first_processing_says_not_replayed` insists on the header's value being 'false'.
"""

from __future__ import annotations

import uuid

from callback_kit.contract import checks
from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.client import new_key
from callback_kit.contract_tests.model import request_body
from callback_kit.contract_tests.race import RACE_SIZE, burst
from callback_kit.contract_tests.registry import Context, check

BURSTS = 3  # without the mock's help, a race is won or lost by chance: each burst is another draw
# The mock's fault injection holds a processed request in flight, so that the others meet the key in flight.
HOLD_IN_FLIGHT = {"X-Mock-Fault": "slow-processing=500"}
MALFORMED_OR_NOT = ("k" * 128, "k" * 129, "bad key!", "a.b", "a/b", "key@example")


@check("idempotency", needs=("factory",))
def first_processing_says_not_replayed(ctx: Context) -> None:
    """A keyed callback processed for the first time answers with the replay header set to 'false'."""
    client = ctx.client
    first = client.callback(ctx.factory.create("OPEN", client.token), request_body("RESOLVED"), key=new_key())
    ctx.require(checks.processed(first, ctx.contract))
    ctx.require(checks.says_not_replayed(first, ctx.contract))


@check("idempotency", needs=("factory",))
def key_is_optional(ctx: Context) -> None:
    """A callback without any idempotency key is processed, and says it is not a replay."""
    if ctx.contract.key_required:
        ctx.skip(f"the spec requires {ctx.contract.headers[0]} (a keyless request is a negative case)")
    client = ctx.client
    answer = client.callback(ctx.factory.create("OPEN", client.token), request_body("ASSIGNED"))
    ctx.require(checks.processed(answer, ctx.contract, what="a callback without an idempotency key"))
    ctx.require(checks.says_not_replayed(answer, ctx.contract))


@check("idempotency", needs=("factory",))
def replay_returns_stored_response(ctx: Context) -> None:
    """The same request with the same key gets the stored status and body bytes back, marked 'true'."""
    client, contract = ctx.client, ctx.contract
    exception = ctx.factory.create("OPEN", client.token)
    key, body = new_key(), request_body("RESOLVED")
    first = client.callback(exception, body, key=key)
    ctx.require(checks.processed(first, contract))
    ctx.require(checks.is_replay_of(first, client.callback(exception, body, key=key), contract))


@check("idempotency", needs=("factory",))
def alias_header_is_equivalent(ctx: Context) -> None:
    """A key sent in an alternative header is processed, replayed, and is the same key as in the first header."""
    client, contract = ctx.client, ctx.contract
    primary, *aliases = contract.headers
    if not aliases:
        ctx.skip("the spec names a single key header")
    if contract.key_required:
        ctx.skip(f"the spec requires {primary}: a request keyed by an alias alone is a negative case")
    for alias in aliases:
        exception = ctx.factory.create("OPEN", client.token)
        key, body = new_key(), request_body("RESOLVED")
        first = client.callback(exception, body, key=key, key_headers=(alias,))
        ctx.require(checks.processed(first, contract, what=f"a callback keyed by {alias} alone"))
        again = client.callback(exception, body, key=key, key_headers=(alias,))
        ctx.require(checks.is_replay_of(first, again, contract))
        through_primary = client.callback(exception, body, key=key, key_headers=(primary,))
        ctx.require(checks.is_replay_of(first, through_primary, contract))


@check("idempotency")
def disagreeing_key_headers_follow_policy(ctx: Context) -> None:
    """Key headers carrying different keys: the first header's key wins (`precedence`), or a malformed key."""
    client, contract = ctx.client, ctx.contract
    if len(contract.headers) < 2:
        ctx.skip("the spec names a single key header")
    keys = {name: new_key() for name in contract.headers}
    if contract.on_disagreeing_headers == "reject":
        answer = client.callback(_some_exception(ctx), request_body("OPEN"), headers=keys)
        why = "the key headers carry different keys"
        ctx.require(checks.rejected_with(answer, contract.key_invalid, contract, why=why))
        return
    exception, body = ctx.factory.create("OPEN", client.token), request_body("RESOLVED")
    first = client.callback(exception, body, headers=keys)
    ctx.require(checks.processed(first, contract, what=f"a callback keyed by {' and '.join(keys)} (different keys)"))
    primary, *others = contract.headers
    again = client.callback(exception, body, key=keys[primary], key_headers=(primary,))
    ctx.require(checks.is_replay_of(first, again, contract))
    for name in others:
        alone = client.callback(exception, body, key=keys[name], key_headers=(name,))
        ctx.require(checks.processed(alone, contract, what=f"the key {name} carried beside {primary}, sent alone"))


@check("idempotency")
def key_format_is_enforced(ctx: Context) -> None:
    """Keys the spec's key pattern refuses get the key-invalid error; keys it allows (128 characters) pass."""
    contract, target = ctx.contract, _some_exception(ctx)
    for name in contract.headers:
        for key in MALFORMED_OR_NOT:
            answer = ctx.client.callback(target, request_body("OPEN"), key=key, key_headers=(name,))
            if contract.key_pattern.fullmatch(key):
                ctx.require(checks.key_accepted(answer, contract, key=key))
            else:
                shown = key if len(key) <= 20 else f"{key[:8]}… ({len(key)} characters)"
                why = f"{name}: {shown} is malformed"
                ctx.require(checks.rejected_with(answer, contract.key_invalid, contract, why=why))


@check("idempotency", needs=("factory",))
def different_body_follows_policy(ctx: Context) -> None:
    """A key reused with another body is answered as the key-reuse policy says (replay, or reject)."""
    client, contract = ctx.client, ctx.contract
    exception, key = ctx.factory.create("OPEN", client.token), new_key()
    first = client.callback(exception, request_body("RESOLVED", resolutionNotes="first"), key=key)
    ctx.require(checks.processed(first, contract))
    other = client.callback(exception, request_body("RESOLVED", resolutionNotes="second"), key=key)
    if contract.on_different_body == "replay":
        ctx.require(checks.is_replay_of(first, other, contract))
    else:
        why = "the key was used with another body"
        ctx.require(checks.rejected_with(other, contract.different_body, contract, why=why))


@check("idempotency", needs=("factory",))
def replay_does_not_apply_again(ctx: Context) -> None:
    """Replaying an old callback after the exception moved on does not move it back."""
    client, contract = ctx.client, ctx.contract
    exception = ctx.factory.create("OPEN", client.token)
    assign_key, assign = new_key(), request_body("ASSIGNED")
    assigned = client.callback(exception, assign, key=assign_key)
    ctx.require(checks.processed(assigned, contract, what="OPEN -> ASSIGNED"))
    resolved = client.callback(exception, request_body("RESOLVED"), key=new_key())
    ctx.require(checks.processed(resolved, contract, what="ASSIGNED -> RESOLVED"))
    ctx.require(checks.is_replay_of(assigned, client.callback(exception, assign, key=assign_key), contract))
    probe = client.callback(exception, request_body("ASSIGNED"), key=new_key())
    why = "the exception is RESOLVED (a replay must not move it back)"
    ctx.require(checks.refused_transition(probe, contract, why=why))


@check("idempotency", needs=("factory",))
def concurrent_requests_are_processed_once(ctx: Context) -> None:
    """Simultaneous requests with one key: one is processed, the others are replays of it or 'in flight'."""
    client, contract = ctx.client, ctx.contract
    hold = HOLD_IN_FLIGHT if ctx.environment.settings.factory_kind == "mock" else {}
    if hold:
        ctx.note("the mock held the processed request in flight (X-Mock-Fault)")
    else:
        ctx.note(f"{BURSTS} bursts of {RACE_SIZE} requests, no help from the server")
    for _ in range(1 if hold else BURSTS):
        exception = ctx.factory.create("OPEN", client.token)
        key, body = new_key(), request_body("RESOLVED")
        answers = burst(client, exception, body, key, headers=hold)
        ctx.require(checks.processed_once(answers, contract))
        processed = next(a for a in answers if a.status == 200 and not checks.replayed(a, contract))
        ctx.require(checks.is_replay_of(processed, client.callback(exception, body, key=key), contract))


@check("idempotency")
def failed_request_is_not_stored(ctx: Context) -> None:
    """After a 404 or a 409, the same key is processed once the cause is fixed (errors are not stored)."""
    client, contract, factory = ctx.client, ctx.contract, ctx.environment.factory
    missing, key, body = str(uuid.uuid4()), new_key(), request_body("RESOLVED")
    first = client.callback(missing, body, key=key)
    ctx.require(checks.not_found(first, contract, why="the exception does not exist"))
    if factory is not None and factory.chooses_ids:
        factory.create("OPEN", client.token, exception_id=missing)
        _retried(ctx, first, client.callback(missing, body, key=key), changed=False)
    else:
        _retried(ctx, first, client.callback(missing, body, key=key), changed=False, fixed=False)
        if factory is not None:
            ctx.note("the 404's key retried on a new exception: the factory cannot choose ids")
            elsewhere = factory.create("OPEN", client.token)
            what = f"a retry with the key of a {first.status} on an exception that exists"
            ctx.require(checks.processed(client.callback(elsewhere, body, key=key), contract, what=what))
        else:
            ctx.note("404 retried without creating the exception: no factory")
    if factory is None:
        ctx.note(f"409 retry not checked: {ctx.needs('factory')}")
        return
    pending, key = factory.create("PENDING_RESOLUTION", client.token), new_key()
    refused = client.callback(pending, request_body("ASSIGNED"), key=key)
    ctx.require(checks.refused_transition(refused, contract, why="PENDING_RESOLUTION may not become ASSIGNED"))
    _retried(ctx, refused, client.callback(pending, request_body("RESOLVED"), key=key), changed=True)


@check("idempotency", needs=("factory",))
def key_is_scoped_by_exception(ctx: Context) -> None:
    """The same key on another exception is another request (the path is part of the key's scope)."""
    client, contract = ctx.client, ctx.contract
    first_id, second_id = ctx.factory.create("OPEN", client.token), ctx.factory.create("OPEN", client.token)
    key, body = new_key(), request_body("RESOLVED")
    first = client.callback(first_id, body, key=key)
    ctx.require(checks.processed(first, contract))
    second = client.callback(second_id, body, key=key)
    if "path" not in contract.scope:
        ctx.require(checks.is_replay_of(first, second, contract))
        return
    ctx.require(checks.processed(second, contract, what="the same key on another exception"))
    probe = client.callback(second_id, request_body("ASSIGNED"), key=new_key())
    ctx.require(checks.refused_transition(probe, contract, why="the second exception was RESOLVED by its own callback"))


@check("idempotency", needs=("factory", "other_tenant"))
def key_is_scoped_by_tenant(ctx: Context) -> None:
    """Another tenant's request with the same key never gets the first tenant's stored response."""
    client, other, contract = ctx.client, ctx.other, ctx.contract
    mine, theirs = ctx.factory.create("OPEN", client.token), ctx.factory.create("OPEN", other.token)
    key, body = new_key(), request_body("RESOLVED")
    ctx.require(checks.processed(client.callback(mine, body, key=key), contract))
    cross = other.callback(mine, body, key=key)
    ctx.require(checks.not_replayed(cross, contract, why="the key was used by another tenant"))
    ctx.require(checks.not_found(cross, contract, why="the exception belongs to another tenant"))
    own = other.callback(theirs, body, key=key)
    what = "the other tenant's callback with the same key on its own exception"
    ctx.require(checks.processed(own, contract, what=what))


@check("idempotency", needs=("factory", "other_tenant"))
def other_tenant_cannot_see_exception(ctx: Context) -> None:
    """A tenant's exception is 404 to another tenant, and stays untouched."""
    client, contract = ctx.client, ctx.contract
    mine = ctx.factory.create("OPEN", client.token)
    cross = ctx.other.callback(mine, request_body("RESOLVED"), key=new_key())
    ctx.require(checks.not_found(cross, contract, why="the exception belongs to another tenant"))
    still_open = client.callback(mine, request_body("ASSIGNED"), key=new_key())
    ctx.require(checks.processed(still_open, contract, what="OPEN -> ASSIGNED after the other tenant's attempt"))


def _some_exception(ctx: Context) -> str:
    """An OPEN exception when there is a factory, else an id nobody owns (enough for checks that stop early)."""
    factory = ctx.environment.factory
    return str(uuid.uuid4()) if factory is None else factory.create("OPEN", ctx.client.token)


def _retried(ctx: Context, first: Exchange, again: Exchange, *, changed: bool, fixed: bool = True) -> None:
    """A retry with the key of a failed request: replayed if the contract stores that status, else processed."""
    contract = ctx.contract
    if first.status < contract.store_status_below:
        if changed and contract.on_different_body == "reject":
            why = "the key was used with another body"
            ctx.require(checks.rejected_with(again, contract.different_body, contract, why=why))
        else:
            ctx.require(checks.is_replay_of(first, again, contract))
    elif fixed:
        what = f"a retry with the key of a {first.status}, once its cause is fixed"
        ctx.require(checks.processed(again, contract, what=what))
    else:
        ctx.require(checks.not_replayed(again, contract, why=f"a {first.status} is not stored"))
