"""What a named check returns when a clause is broken, and the facts of the spec the checks share."""

from __future__ import annotations

import json
from dataclasses import dataclass

from callback_kit.contract.exchange import Exchange
from callback_kit.contract.idempotency import IdempotencyContract

ACCEPTED: dict[str, str] = {"status": "accepted"}  # the body of every successful callback
NOT_FOUND = "MTCH-0501"
FORBIDDEN_TRANSITION = "MTCH-0507"


@dataclass(frozen=True)
class Violation:
    """A clause broken by one exchange: the named check, what the contract expects and what came back.

    `expected_status`, `expected_replay` and `original` (the exchange a replay was expected of) say in data
    what `expected` says in words, for whoever reads the violation afterwards (the suite's known divergences).
    """

    check: str
    title: str
    expected: str
    received: str
    exchange: Exchange | None = None
    expected_status: int | None = None
    expected_replay: bool | None = None
    original: Exchange | None = None
    note: str | None = None


def replayed(exchange: Exchange, contract: IdempotencyContract) -> bool:
    """Whether the answer says it came from the idempotency store."""
    return exchange.header(contract.replay_header) == "true"


def describe(exchange: Exchange, contract: IdempotencyContract) -> str:
    """Status, replay header and body, in one line."""
    shown = exchange.header(contract.replay_header) or "(absent)"
    status = f"{exchange.status} {exchange.reason}".rstrip()
    return f"{status}, {contract.replay_header}: {shown}, body {exchange.excerpt()}"


def compact(value: object) -> str:
    """JSON without spaces, as a server sends it."""
    return json.dumps(value, separators=(",", ":"))


def violation(
    check: str,
    title: str,
    expected: str,
    exchange: Exchange,
    contract: IdempotencyContract,
    *,
    expected_status: int | None = None,
    expected_replay: bool | None = None,
    original: Exchange | None = None,
    note: str | None = None,
) -> Violation:
    """A `Violation` of `exchange`, its title capitalised and what came back described."""
    return Violation(
        check=check,
        title=title[0].upper() + title[1:],
        expected=expected,
        received=describe(exchange, contract),
        exchange=exchange,
        expected_status=expected_status,
        expected_replay=expected_replay,
        original=original,
        note=note,
    )
