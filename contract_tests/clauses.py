"""More clauses of `x-idempotency`: both key headers as one key, keys compared exactly, the completed TTL (a
pause, and with the mock's admin clock the TTL's end), and the in-flight TTL.
"""

from __future__ import annotations

import threading

from callback_kit.contract import checks
from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.client import new_key
from callback_kit.contract_tests.failures import Interrupted
from callback_kit.contract_tests.mock_admin import MockAdmin
from callback_kit.contract_tests.model import request_body
from callback_kit.contract_tests.registry import Context, check

MARGIN = 60.0  # seconds inside (or past) a TTL when the admin clock is moved
HOLD_MS = 1000  # how long the mock holds the request whose key stays in flight
POLL_SECONDS = 0.02  # between two looks at the mock's idempotency records, for at most POLLS looks
POLLS = 250


@check("idempotency", needs=("factory",))
def key_case_is_significant(ctx: Context) -> None:
    """Keys that differ only in letter case are different keys: the second is processed, not replayed."""
    client, contract = ctx.client, ctx.contract
    exception, key = ctx.factory.create("OPEN", client.token), f"Case-{new_key()}"
    if not contract.key_pattern.fullmatch(key) or not contract.key_pattern.fullmatch(key.lower()):
        ctx.skip("the spec's key pattern does not allow both letter cases")
    body = request_body("RESOLVED")
    ctx.require(checks.processed(client.callback(exception, body, key=key), contract))
    other = client.callback(exception, body, key=key.lower())
    ctx.require(checks.not_replayed(other, contract, why="the key differs in letter case (keys are compared exactly)"))
    ctx.require(checks.processed(other, contract, what="the same callback with the key in lower case"))


@check("idempotency", needs=("factory",))
def both_key_headers_are_one_key(ctx: Context) -> None:
    """Both key headers with the same key are that one key: each header alone then gets the replay."""
    client, contract = ctx.client, ctx.contract
    if len(contract.headers) < 2:
        ctx.skip("the spec names a single key header")
    exception, key, body = ctx.factory.create("OPEN", client.token), new_key(), request_body("RESOLVED")
    first = client.callback(exception, body, key=key, key_headers=contract.headers)
    ctx.require(checks.processed(first, contract, what=f"a callback keyed by {' and '.join(contract.headers)}"))
    for name in contract.headers:
        ctx.require(
            checks.is_replay_of(first, client.callback(exception, body, key=key, key_headers=(name,)), contract)
        )


@check("idempotency", needs=("factory",))
def stored_answer_outlives_a_pause(ctx: Context) -> None:
    """A stored answer is still replayed after a pause (`--ttl-pause` seconds; the TTL is far longer)."""
    client, contract, pause = ctx.client, ctx.contract, ctx.environment.settings.ttl_pause
    exception, key, body = ctx.factory.create("OPEN", client.token), new_key(), request_body("RESOLVED")
    first = client.callback(exception, body, key=key)
    ctx.require(checks.processed(first, contract))
    ctx.note(f"replayed after {pause:g} s of the {contract.completed_ttl:g} s the spec keeps an answer")
    ctx.environment.stop.wait(min(pause, contract.completed_ttl / 2))
    ctx.require(checks.is_replay_of(first, client.callback(exception, body, key=key), contract))


@check("idempotency", needs=("factory", "admin_clock"))
def completed_ttl_ends_replay(ctx: Context) -> None:
    """On the mock's clock: replayed until just before the completed TTL, processed afresh just after it."""
    client, contract = ctx.client, ctx.contract
    exception, key, body = ctx.factory.create("OPEN", client.token), new_key(), request_body("RESOLVED")
    first = client.callback(exception, body, key=key)
    ctx.require(checks.processed(first, contract))
    ttl = contract.completed_ttl
    with _clock(ctx).kept() as clock:
        start = clock.offset()
        clock.set(start + ttl - min(MARGIN, ttl / 2))
        ctx.require(checks.is_replay_of(first, client.callback(exception, body, key=key), contract))
        clock.set(start + ttl + MARGIN)
        after = client.callback(exception, body, key=key)
    ctx.require(checks.not_replayed(after, contract, why=f"the answer was stored more than {ttl:g} s ago"))
    ctx.require(checks.processed(after, contract, what="the callback once its stored answer expired"))


@check("idempotency", needs=("factory", "admin_clock"))
def in_flight_key_is_freed_after_ttl(ctx: Context) -> None:
    """On the mock's clock: a key in flight is refused as in flight, and free again after the in-flight TTL."""
    client, contract = ctx.client, ctx.contract
    exception, key, body = ctx.factory.create("OPEN", client.token), new_key(), request_body("RESOLVED")
    held = threading.Thread(
        target=lambda: client.callback(
            exception, body, key=key, headers={"X-Mock-Fault": f"slow-processing={HOLD_MS}"}
        ),
        daemon=True,
    )
    with _clock(ctx).kept() as clock:
        held.start()
        refused = _in_flight(ctx, clock, exception, key, body)
        ctx.require(checks.rejected_with(refused, contract.in_flight, contract, why="the key is in flight"))
        clock.set(clock.offset() + contract.in_flight_ttl + MARGIN / 60)
        freed = client.callback(exception, body, key=key)
    held.join(timeout=HOLD_MS / 1000 + ctx.environment.settings.timeout)
    what = f"a request whose key has been in flight longer than {contract.in_flight_ttl:g} s"
    ctx.require(checks.processed(freed, contract, what=what))


def _clock(ctx: Context) -> MockAdmin:
    return MockAdmin(ctx.environment.client, ctx.environment.settings.admin_token or "")


def _in_flight(ctx: Context, admin: MockAdmin, exception: str, key: str, body: dict[str, object]) -> Exchange:
    """The held request's twin, sent once the mock shows the held request's key (polled, a few ms apart)."""
    for _ in range(POLLS):
        if admin.holds(key):
            break
        if ctx.environment.stop.wait(POLL_SECONDS):
            raise Interrupted
    return ctx.client.callback(exception, body, key=key)
