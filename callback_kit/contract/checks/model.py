"""The named check of a state-machine walk: an answer against what a model of the contract predicted."""

from __future__ import annotations

from dataclasses import dataclass

from callback_kit.contract.checks.base import ACCEPTED, Violation, replayed, violation
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.idempotency import IdempotencyContract


@dataclass(frozen=True)
class Expected:
    """What the server must answer: status, whether it is a replay, and the error code or the exact body."""

    status: int
    replayed: bool
    code: str | None = None
    body: bytes | None = None

    def describe(self) -> str:
        parts = [str(self.status), "a replay" if self.replayed else "not a replay"]
        if self.code:
            parts.append(f"code {self.code}")
        if self.body is not None:
            parts.append(f"body {self.body.decode('utf-8', 'replace')}")
        return ", ".join(parts)


def matches_model(
    exchange: Exchange, expected: Expected, contract: IdempotencyContract, history: str
) -> Violation | None:
    """Status, replay flag and error code (or exact bytes, for a replay) as the model predicts."""
    wrong = exchange.status != expected.status or replayed(exchange, contract) != expected.replayed
    if expected.code is not None:
        wrong = wrong or exchange.code() != expected.code
    elif expected.body is not None:
        wrong = wrong or exchange.body != expected.body
    elif expected.status == 200:
        wrong = wrong or exchange.json() != ACCEPTED
    if not wrong:
        return None
    return violation(
        "matches_model",
        "the answer differs from the model of the contract",
        expected.describe(),
        exchange,
        contract,
        expected_status=expected.status,
        expected_replay=expected.replayed,
        note=f"Steps so far (newest last):\n{history}",
    )
