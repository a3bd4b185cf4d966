"""Idempotency as the spec's `x-idempotency` block declares it, and the tenant isolation keys rely on.

Each test is one named check. A check asserts only its own property: a first processing is "not a replay"
here, and only `first_processing_says_not_replayed` insists on the header's value being 'false'.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from callback_kit.contract import IdempotencyContract
from callback_kit.contract_tests import checks
from callback_kit.contract_tests.client import CallbackClient, Exchange, new_key
from callback_kit.contract_tests.environment import Environment
from callback_kit.contract_tests.factory import ExceptionFactory
from callback_kit.contract_tests.model import request_body
from callback_kit.contract_tests.plugin import NEEDS_FACTORY

pytestmark = pytest.mark.contract("idempotency")
RACE_SIZE = 8
# The mock's fault injection holds a processed request in flight, so that the others meet the key in flight.
HOLD_IN_FLIGHT = {"X-Mock-Fault": "slow-processing=500"}
MALFORMED_OR_NOT = ("k" * 128, "k" * 129, "bad key!", "a.b", "a/b", "key@example")


def test_first_processing_says_not_replayed(
    callback_client: CallbackClient, exception_factory: ExceptionFactory, idempotency: IdempotencyContract
) -> None:
    """A keyed callback processed for the first time answers with the replay header set to 'false'."""
    exception = exception_factory.create("OPEN", callback_client.token)
    first = callback_client.callback(exception, request_body("RESOLVED"), key=new_key())
    checks.processed(first, idempotency)
    checks.says_not_replayed(first, idempotency)


def test_key_is_optional(
    callback_client: CallbackClient, exception_factory: ExceptionFactory, idempotency: IdempotencyContract
) -> None:
    """A callback without any idempotency key is processed, and says it is not a replay."""
    exception = exception_factory.create("OPEN", callback_client.token)
    answer = callback_client.callback(exception, request_body("ASSIGNED"))
    checks.processed(answer, idempotency, what="a callback without an idempotency key")
    checks.says_not_replayed(answer, idempotency)


def test_replay_returns_stored_response(
    callback_client: CallbackClient,
    exception_factory: ExceptionFactory,
    idempotency: IdempotencyContract,
    contract_env: Environment,
) -> None:
    """The same request with the same key gets the stored status and body bytes back, marked 'true'."""
    exception = exception_factory.create("OPEN", callback_client.token)
    key, body = new_key(), request_body("RESOLVED")
    first = callback_client.callback(exception, body, key=key)
    checks.processed(first, idempotency)
    again = callback_client.callback(exception, body, key=key)
    checks.is_replay_of(first, again, idempotency, contract_env.stored)


def test_alias_header_is_equivalent(
    callback_client: CallbackClient,
    exception_factory: ExceptionFactory,
    idempotency: IdempotencyContract,
    contract_env: Environment,
) -> None:
    """A key sent in an alternative header is processed, replayed, and is the same key as in the first header."""
    primary, *aliases = idempotency.headers
    if not aliases:
        pytest.skip("the spec names a single key header")
    for alias in aliases:
        exception = exception_factory.create("OPEN", callback_client.token)
        key, body = new_key(), request_body("RESOLVED")
        first = callback_client.callback(exception, body, key=key, key_headers=(alias,))
        checks.processed(first, idempotency, what=f"a callback keyed by {alias} alone")
        again = callback_client.callback(exception, body, key=key, key_headers=(alias,))
        checks.is_replay_of(first, again, idempotency, contract_env.stored)
        through_primary = callback_client.callback(exception, body, key=key, key_headers=(primary,))
        checks.is_replay_of(first, through_primary, idempotency, contract_env.stored)


def test_disagreeing_key_headers_are_rejected(
    callback_client: CallbackClient, contract_env: Environment, idempotency: IdempotencyContract
) -> None:
    """Both key headers with different keys is a malformed key."""
    if len(idempotency.headers) < 2:
        pytest.skip("the spec names a single key header")
    keys = {name: new_key() for name in idempotency.headers}
    answer = callback_client.callback(
        _some_exception(contract_env, callback_client), request_body("OPEN"), headers=keys
    )
    checks.rejected_with(answer, idempotency.key_invalid, idempotency, why="the key headers carry different keys")


def test_key_format_is_enforced(
    callback_client: CallbackClient, contract_env: Environment, idempotency: IdempotencyContract
) -> None:
    """Keys the spec's key pattern refuses get the key-invalid error; keys it allows (128 characters) pass."""
    target = _some_exception(contract_env, callback_client)
    for name in idempotency.headers:
        for key in MALFORMED_OR_NOT:
            answer = callback_client.callback(target, request_body("OPEN"), key=key, key_headers=(name,))
            if idempotency.key_pattern.fullmatch(key):
                checks.key_accepted(answer, idempotency, key=key)
            else:
                shown = key if len(key) <= 20 else f"{key[:8]}… ({len(key)} characters)"
                checks.rejected_with(answer, idempotency.key_invalid, idempotency, why=f"{name}: {shown} is malformed")


def test_different_body_follows_policy(
    callback_client: CallbackClient,
    exception_factory: ExceptionFactory,
    idempotency: IdempotencyContract,
    contract_env: Environment,
) -> None:
    """A key reused with another body is answered as the key-reuse policy says (replay, or reject)."""
    exception = exception_factory.create("OPEN", callback_client.token)
    key = new_key()
    first = callback_client.callback(exception, request_body("RESOLVED", resolutionNotes="first"), key=key)
    checks.processed(first, idempotency)
    other = callback_client.callback(exception, request_body("RESOLVED", resolutionNotes="second"), key=key)
    if idempotency.on_different_body == "replay":
        checks.is_replay_of(first, other, idempotency, contract_env.stored)
    else:
        checks.rejected_with(other, idempotency.different_body, idempotency, why="the key was used with another body")


def test_replay_does_not_apply_again(
    callback_client: CallbackClient,
    exception_factory: ExceptionFactory,
    idempotency: IdempotencyContract,
    contract_env: Environment,
) -> None:
    """Replaying an old callback after the exception moved on does not move it back."""
    exception = exception_factory.create("OPEN", callback_client.token)
    assign_key, assign = new_key(), request_body("ASSIGNED")
    assigned = callback_client.callback(exception, assign, key=assign_key)
    checks.processed(assigned, idempotency, what="OPEN -> ASSIGNED")
    checks.processed(
        callback_client.callback(exception, request_body("RESOLVED"), key=new_key()),
        idempotency,
        what="ASSIGNED -> RESOLVED",
    )
    replay = callback_client.callback(exception, assign, key=assign_key)
    checks.is_replay_of(assigned, replay, idempotency, contract_env.stored)
    probe = callback_client.callback(exception, request_body("ASSIGNED"), key=new_key())
    checks.refused_transition(probe, idempotency, why="the exception is RESOLVED (a replay must not move it back)")


def test_concurrent_requests_are_processed_once(
    callback_client: CallbackClient,
    exception_factory: ExceptionFactory,
    idempotency: IdempotencyContract,
    contract_env: Environment,
    contract_note: Callable[[str], None],
) -> None:
    """Simultaneous requests with one key: one is processed, the others are replays of it or 'in flight'."""
    exception = exception_factory.create("OPEN", callback_client.token)
    key, body = new_key(), request_body("RESOLVED")
    barrier = threading.Barrier(RACE_SIZE)
    hold = HOLD_IN_FLIGHT if contract_env.settings.factory_kind == "mock" else {}
    if hold:
        contract_note("the mock held the processed request in flight (X-Mock-Fault)")

    def send(_: int) -> Exchange:
        barrier.wait(timeout=30)
        return callback_client.callback(exception, body, key=key, headers=hold)

    with ThreadPoolExecutor(RACE_SIZE) as pool:
        answers = list(pool.map(send, range(RACE_SIZE)))
    checks.processed_once(answers, idempotency)
    processed = next(a for a in answers if a.status == 200 and a.header(idempotency.replay_header) != "true")
    checks.is_replay_of(processed, callback_client.callback(exception, body, key=key), idempotency, contract_env.stored)


def test_failed_request_is_not_stored(
    callback_client: CallbackClient,
    contract_env: Environment,
    idempotency: IdempotencyContract,
    contract_note: Callable[[str], None],
) -> None:
    """After a 404 or a 409, the same key is processed once the cause is fixed (errors are not stored)."""
    factory = contract_env.factory
    missing, key, body = str(uuid.uuid4()), new_key(), request_body("RESOLVED")
    first = callback_client.callback(missing, body, key=key)
    checks.not_found(first, idempotency, why="the exception does not exist")
    if factory is not None and factory.chooses_ids:
        factory.create("OPEN", callback_client.token, exception_id=missing)
        _retried(first, callback_client.callback(missing, body, key=key), contract_env, changed=False)
    else:
        contract_note("404 retried without creating the exception: the factory cannot choose ids")
        _retried(first, callback_client.callback(missing, body, key=key), contract_env, changed=False, fixed=False)
    if factory is None:
        contract_note(f"409 retry not checked: {NEEDS_FACTORY}")
        return
    pending, key = factory.create("PENDING_RESOLUTION", callback_client.token), new_key()
    refused = callback_client.callback(pending, request_body("ASSIGNED"), key=key)
    checks.refused_transition(refused, idempotency, why="PENDING_RESOLUTION may not become ASSIGNED")
    _retried(refused, callback_client.callback(pending, request_body("RESOLVED"), key=key), contract_env, changed=True)


def test_key_is_scoped_by_exception(
    callback_client: CallbackClient,
    exception_factory: ExceptionFactory,
    idempotency: IdempotencyContract,
    contract_env: Environment,
) -> None:
    """The same key on another exception is another request (the path is part of the key's scope)."""
    first_id = exception_factory.create("OPEN", callback_client.token)
    second_id = exception_factory.create("OPEN", callback_client.token)
    key, body = new_key(), request_body("RESOLVED")
    first = callback_client.callback(first_id, body, key=key)
    checks.processed(first, idempotency)
    second = callback_client.callback(second_id, body, key=key)
    if "path" not in idempotency.scope:
        checks.is_replay_of(first, second, idempotency, contract_env.stored)
        return
    checks.processed(second, idempotency, what="the same key on another exception")
    probe = callback_client.callback(second_id, request_body("ASSIGNED"), key=new_key())
    checks.refused_transition(probe, idempotency, why="the second exception was RESOLVED by its own callback")


def test_key_is_scoped_by_tenant(
    callback_client: CallbackClient,
    other_tenant_client: CallbackClient,
    exception_factory: ExceptionFactory,
    idempotency: IdempotencyContract,
) -> None:
    """Another tenant's request with the same key never gets the first tenant's stored response."""
    mine = exception_factory.create("OPEN", callback_client.token)
    theirs = exception_factory.create("OPEN", other_tenant_client.token)
    key, body = new_key(), request_body("RESOLVED")
    checks.processed(callback_client.callback(mine, body, key=key), idempotency)
    cross = other_tenant_client.callback(mine, body, key=key)
    checks.not_replayed(cross, idempotency, why="the key was used by another tenant")
    checks.not_found(cross, idempotency, why="the exception belongs to another tenant")
    own = other_tenant_client.callback(theirs, body, key=key)
    checks.processed(own, idempotency, what="the other tenant's callback with the same key on its own exception")


def test_other_tenant_cannot_see_exception(
    callback_client: CallbackClient,
    other_tenant_client: CallbackClient,
    exception_factory: ExceptionFactory,
    idempotency: IdempotencyContract,
) -> None:
    """A tenant's exception is 404 to another tenant, and stays untouched."""
    mine = exception_factory.create("OPEN", callback_client.token)
    cross = other_tenant_client.callback(mine, request_body("RESOLVED"), key=new_key())
    checks.not_found(cross, idempotency, why="the exception belongs to another tenant")
    still_open = callback_client.callback(mine, request_body("ASSIGNED"), key=new_key())
    checks.processed(still_open, idempotency, what="OPEN -> ASSIGNED after the other tenant's attempt")


def _some_exception(environment: Environment, client: CallbackClient) -> str:
    """An OPEN exception when there is a factory, else an id nobody owns (enough for checks that stop early)."""
    if environment.factory is None:
        return str(uuid.uuid4())
    return environment.factory.create("OPEN", client.token)


def _retried(first: Exchange, again: Exchange, environment: Environment, *, changed: bool, fixed: bool = True) -> None:
    """A retry with the key of a failed request: replayed if the contract stores that status, else processed."""
    contract = environment.contract
    if first.status < contract.store_status_below:
        if changed and contract.on_different_body == "reject":
            checks.rejected_with(again, contract.different_body, contract, why="the key was used with another body")
        else:
            checks.is_replay_of(first, again, contract, environment.stored)
    elif fixed:
        checks.processed(again, contract, what=f"a retry with the key of a {first.status}, once its cause is fixed")
    else:
        checks.not_replayed(again, contract, why=f"a {first.status} is not stored")
