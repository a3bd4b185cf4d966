"""The named check of side effects: how many times a sequence of exchanges applied a callback to an exception."""

from __future__ import annotations

from callback_kit.contract.checks.base import Violation, violation
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.idempotency import IdempotencyContract


def applied_times(
    before: int, after: int, expected: int, last: Exchange, contract: IdempotencyContract, *, what: str
) -> Violation | None:
    """`what` changed the exception's count of applied callbacks by exactly `expected` (read before and after)."""
    if after - before == expected:
        return None
    times = {0: "not at all", 1: "once"}.get(expected, f"{expected} times")
    return violation(
        "applied_times",
        f"{what} applied the callback {after - before} time(s), not {times}",
        f"appliedCallbacks {before} -> {before + expected}",
        last,
        contract,
        note=f"The exception reader read appliedCallbacks {before} before and {after} after.",
    )
