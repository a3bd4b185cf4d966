"""The named check of a key in flight: a request whose key another request holds is refused, and told when to retry."""

from __future__ import annotations

from callback_kit.contract.checks.base import Violation, replayed, violation
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.idempotency import IdempotencyContract


def in_flight_refused(exchange: Exchange, contract: IdempotencyContract) -> Violation | None:
    """While the key's first request is processing: the in-flight error with `Retry-After`, or (finished) a replay."""
    error = contract.in_flight
    if replayed(exchange, contract):
        return None  # the first request finished in the meantime: its stored answer is the right one
    refused = exchange.status == error.status and exchange.code() == error.code
    if refused and exchange.header("retry-after") is not None:
        return None
    missing = " (without Retry-After)" if refused else ""
    return violation(
        "in_flight_refused",
        f"a request whose key was in flight was not refused with {error.status} {error.code}{missing}",
        f"{error.status} with code {error.code} and Retry-After, or a replay of the first answer",
        exchange,
        contract,
        expected_status=error.status,
        expected_replay=False,
    )
