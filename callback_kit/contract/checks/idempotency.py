"""The named checks of idempotency and state answers: each judges exchanges and returns a `Violation` or None.

One implementation of each check, for every user: the contract suite asserts them on the requests it sends,
a validating proxy can apply them to live traffic. None of them knows about known divergences: whoever reads
a violation classifies it afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from callback_kit.contract.checks.base import (
    ACCEPTED,
    FORBIDDEN_TRANSITION,
    NOT_FOUND,
    Violation,
    compact,
    replayed,
    violation,
)
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.idempotency import ErrorSpec, IdempotencyContract


def processed(exchange: Exchange, contract: IdempotencyContract, *, what: str = "the callback") -> Violation | None:
    """200 with the acknowledgement, and not a replay."""
    if exchange.status == 200 and exchange.json() == ACCEPTED and not replayed(exchange, contract):
        return None
    return violation(
        "processed",
        f"{what} was not processed",
        f"200 {compact(ACCEPTED)}, not a replay",
        exchange,
        contract,
        expected_status=200,
        expected_replay=False,
    )


def says_not_replayed(exchange: Exchange, contract: IdempotencyContract) -> Violation | None:
    """A response that was just processed says so: the replay header is 'false' (or, where the spec's 200 declares
    the header only for replays, it is at least not 'true')."""
    said = exchange.header(contract.replay_header)
    if said == "false" or (not contract.first_says_false and said != "true"):
        return None
    return violation(
        "says_not_replayed",
        f"a first processing did not say {contract.replay_header}: false",
        f"{contract.replay_header}: false",
        exchange,
        contract,
        expected_status=200,
        expected_replay=False,
    )


def is_replay_of(original: Exchange, again: Exchange, contract: IdempotencyContract) -> Violation | None:
    """The stored response again: same status, same body bytes (and what else the spec stores), marked 'true'."""
    differences = []
    if again.status != original.status:
        differences.append(f"status {again.status} instead of {original.status}")
    if again.body != original.body:
        differences.append("other body bytes")
    wanted_type = original.header("content-type")
    if "content-type" in contract.stored and again.header("content-type") != wanted_type:
        differences.append(f"content type {again.header('content-type')} instead of {wanted_type}")
    if not replayed(again, contract):
        differences.append(f"{contract.replay_header} is not 'true'")
    if not differences:
        return None
    return violation(
        "is_replay_of",
        f"a retry with the same key was not a replay of the stored response ({'; '.join(differences)})",
        f"{original.status}, {contract.replay_header}: true, body {original.body.decode('utf-8', 'replace')}",
        again,
        contract,
        expected_status=original.status,
        expected_replay=True,
        original=original,
    )


def not_replayed(exchange: Exchange, contract: IdempotencyContract, *, why: str) -> Violation | None:
    """Not an answer from the idempotency store."""
    if not replayed(exchange, contract):
        return None
    return violation(
        "not_replayed",
        f"a stored response was replayed although {why}",
        f"{contract.replay_header} absent or 'false'",
        exchange,
        contract,
        expected_replay=False,
    )


def rejected_with(exchange: Exchange, error: ErrorSpec, contract: IdempotencyContract, *, why: str) -> Violation | None:
    """The contract's error for this case: status and code."""
    if exchange.status == error.status and exchange.code() == error.code:
        return None
    return violation(
        "rejected_with",
        f"{why}, but the server did not answer {error.status} {error.code}",
        f"{error.status} with code {error.code}",
        exchange,
        contract,
        expected_status=error.status,
    )


def not_found(exchange: Exchange, contract: IdempotencyContract, *, why: str) -> Violation | None:
    """404 with the not-found code."""
    return rejected_with(exchange, ErrorSpec(404, NOT_FOUND), contract, why=why)


def refused_transition(exchange: Exchange, contract: IdempotencyContract, *, why: str) -> Violation | None:
    """409 with the forbidden-transition code."""
    return rejected_with(exchange, ErrorSpec(409, FORBIDDEN_TRANSITION), contract, why=why)


def key_accepted(exchange: Exchange, contract: IdempotencyContract, *, key: str) -> Violation | None:
    """A well-formed key is not refused: the request gets past the key check."""
    invalid = contract.key_invalid
    if exchange.status != 400 and not (exchange.status == invalid.status and exchange.code() == invalid.code):
        return None
    return violation(
        "key_accepted", f"a well-formed idempotency key ({len(key)} characters) was refused", "any answer but 400",
        exchange, contract,
    )  # fmt: skip


def processed_once(answers: Sequence[Exchange], contract: IdempotencyContract) -> Violation | None:
    """Of simultaneous requests with one key: one processed, the others replays of it or 'in flight'."""
    fresh = [a for a in answers if a.status == 200 and not replayed(a, contract)]
    in_flight = contract.in_flight
    verdicts = [] if len(fresh) == 1 else [f"{len(fresh)} of {len(answers)} requests were processed"]
    bare: Exchange | None = None  # an in-flight answer without Retry-After
    for answer in answers:
        if answer in fresh:
            continue
        if answer.status == in_flight.status and answer.code() == in_flight.code:
            if in_flight.retry_after is not None and answer.header("retry-after") is None:
                verdicts.append("an in-flight answer had no Retry-After")
                bare = bare or answer
        elif not (replayed(answer, contract) and fresh and answer.body == fresh[0].body and answer.status == 200):
            verdicts.append(f"an answer was neither a replay nor in flight: {answer.status}")
    if not verdicts:
        return None
    statuses = ", ".join(
        f"{a.status}/{a.header(contract.replay_header) or '-'}" for a in sorted(answers, key=lambda a: a.status)
    )
    only_bare = bare is not None and set(verdicts) == {"an in-flight answer had no Retry-After"}
    shown = bare if only_bare and bare is not None else fresh[-1] if len(fresh) > 1 else answers[0]
    return violation(
        "processed_once",
        f"{len(answers)} simultaneous requests with one key: {verdicts[0]}",
        f"exactly one 200 with {contract.replay_header}: false; the others identical replays "
        f"({contract.replay_header}: true) or {in_flight.status} {in_flight.code}",
        shown,
        contract,
        expected_status=in_flight.status if only_bare else None,
        note=f"Answers (status/{contract.replay_header}): {statuses}. Send the request below "
        f"{len(answers)} times at once to reproduce.",
    )
