"""Which known divergence explains a violation of the suite's own checks, read from its exchange: pure.

A label needs the whole signature: the request read as Matcher reads it (`reading.read`), an answer Matcher
writes (`reading.matcher_answer`), and what the check expected. What no exchange shows comes from the
start-up probe (`Facts`), never from a request sent here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callback_kit.contract import IdempotencyContract
from callback_kit.contract.checks import ACCEPTED, Violation, replayed
from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.divergences.catalogue import Divergence, known
from callback_kit.contract_tests.divergences.reading import (
    KEY_REQUIRED_MESSAGE,
    Reading,
    matcher_answer,
    plain_403,
    read,
)

UNSUPPORTED = {
    "OPEN": "apply callback: OPEN is not a valid callback resolution target: use ASSIGNED or RESOLVED",
    "PENDING_RESOLUTION": "apply callback: callback status is unsupported: PENDING_RESOLUTION",
}


@dataclass(frozen=True)
class Facts:
    """What the start-up probe learnt about the server that no single exchange shows."""

    auth_enforced: bool | None = None  # a callback without credentials was refused (401/403)
    tokens: frozenset[str] = field(default=frozenset(), repr=False)  # the run's own tokens
    other_tenant_token: str | None = field(default=None, repr=False)


def classify(violation: Violation, contract: IdempotencyContract, facts: Facts) -> tuple[Divergence, ...]:
    """The known divergence that explains `violation` (one at most), or ()."""
    exchange = violation.exchange
    if exchange is None or not matcher_answer(exchange, contract):
        return ()
    found = _classify(exchange, violation, contract, facts)
    return (found,) if found is not None else ()


def classify_exchange(exchange: Exchange, contract: IdempotencyContract, facts: Facts) -> Divergence | None:
    """The known divergence behind an answer to a request the contract allows, expecting nothing in particular."""
    if not matcher_answer(exchange, contract):
        return None
    return _classify(exchange, Violation("", "", "", ""), contract, facts)


def _classify(
    exchange: Exchange, violation: Violation, contract: IdempotencyContract, facts: Facts
) -> Divergence | None:
    expected_status, expected_replay = violation.expected_status, violation.expected_replay
    status, is_replay = exchange.status, replayed(exchange, contract)
    reading = read(exchange, contract)
    if status == 400 and exchange.message() == KEY_REQUIRED_MESSAGE and reading.refusal == KEY_REQUIRED_MESSAGE:
        return known("alias-ignored") if aliases(exchange, contract) else known("key-required")
    if expected_status == contract.key_invalid.status != status and alias_ignored(exchange, contract):
        return known("alias-ignored")  # different keys in both headers, under `reject`: Matcher reads the first
    crossed = (is_replay and expected_replay is False) or (_ok(status) and not is_replay and expected_status == 404)
    if crossed and facts.auth_enforced is False and _as_other_tenant(exchange, facts):
        return known("one-tenant")
    in_flight = contract.in_flight
    bare = exchange.code() == in_flight.code and exchange.header("retry-after") is None
    if expected_status == in_flight.status == status and in_flight.retry_after is not None and bare:
        return known("bare-in-flight-409")
    if _ok(status) and exchange.header(contract.replay_header) is None and exchange.json() == ACCEPTED:
        if expected_replay is False and expected_status in (None, status):
            return known("never-false")
        original = violation.original
        if expected_replay and original is not None and first_layer_misses(original, exchange):
            return known("dedup-200")
        return None
    return refusal(exchange, reading, expected_status)


def refusal(exchange: Exchange, reading: Reading, expected_status: int | None) -> Divergence | None:
    """The divergence behind an error answer Matcher gives to a request it read as `reading`."""
    status, body = exchange.status, exchange.json()
    if plain_403(exchange):
        return known("plain-403")
    if status == 429 and isinstance(body, dict) and body.get("code") == 429:
        return known("numeric-429")
    if reading.refusal is not None:
        return None  # Matcher would have refused the request first
    target = reading.body.get("status")
    if status == 500 and exchange.code() == "MTCH-0002":
        if reading.failure is not None:
            return reading.failure
        # From a status that allows the target, Matcher's only 500 is ASSIGNED -> RESOLVED without an assignee.
        forbidden = expected_status in (None, 409) or (expected_status == 200 and target == "RESOLVED")
        return known("forbidden-transition-500") if forbidden else None
    if status == 400 and expected_status != 200 and target in UNSUPPORTED and exchange.message() == UNSUPPORTED[target]:
        return known("unsupported-target")
    return None


def first_layer_misses(original: Exchange, again: Exchange) -> bool:
    """The first layer's key holds the principal and the exact path and query; the second layer's does not."""
    principal = ("authorization", "x-user-id")
    return original.url != again.url or any(original.request_header(h) != again.request_header(h) for h in principal)


def alias_ignored(exchange: Exchange, contract: IdempotencyContract) -> bool:
    """Both key headers carry keys, and they differ: Matcher reads only the first."""
    primary = exchange.request_header(contract.headers[0])
    return bool(primary) and any(value != primary for value in aliases(exchange, contract))


def aliases(exchange: Exchange, contract: IdempotencyContract) -> list[str]:
    return [v for v in map(exchange.request_header, contract.headers[1:]) if v is not None]


def bearer(exchange: Exchange) -> str | None:
    """The bearer token the request carried, if any."""
    scheme, _, token = (exchange.request_header("authorization") or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _as_other_tenant(exchange: Exchange, facts: Facts) -> bool:
    token = bearer(exchange)
    return token is not None and token == facts.other_tenant_token


def _ok(status: int) -> bool:
    return 200 <= status < 300
