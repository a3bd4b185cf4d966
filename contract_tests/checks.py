"""The predicates of the idempotency and state checks, each named for the property it verifies.

Each takes exchanges and the spec's `IdempotencyContract`, and returns quietly or raises `ContractViolation`
naming what was expected, what came back, a curl command, and the known divergence it matches, if any.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from callback_kit.contract import ErrorSpec, IdempotencyContract
from callback_kit.contract_tests.client import Exchange
from callback_kit.contract_tests.divergences import classify
from callback_kit.contract_tests.failures import ContractViolation
from callback_kit.contract_tests.model import ACCEPTED, FORBIDDEN_TRANSITION, NOT_FOUND, Expected


def processed(exchange: Exchange, contract: IdempotencyContract, *, what: str = "the callback") -> None:
    """200 with the acknowledgement, and not a replay."""
    if exchange.status != 200 or exchange.json() != ACCEPTED or _replayed(exchange, contract):
        raise _violation(
            f"{what} was not processed",
            f"200 {_json(ACCEPTED)}, not a replay",
            exchange,
            contract,
            expected_status=200,
            expected_replay=False,
        )


def says_not_replayed(exchange: Exchange, contract: IdempotencyContract) -> None:
    """A response that was just processed says so: the replay header is 'false'."""
    if exchange.header(contract.replay_header) != "false":
        raise _violation(
            f"a first processing did not say {contract.replay_header}: false",
            f"{contract.replay_header}: false",
            exchange,
            contract,
            expected_status=200,
            expected_replay=False,
        )


def is_replay_of(original: Exchange, again: Exchange, contract: IdempotencyContract, stored: Sequence[str]) -> None:
    """The stored response again: same status, same body bytes (and content type, when stored), marked 'true'."""
    differences = []
    if again.status != original.status:
        differences.append(f"status {again.status} instead of {original.status}")
    if again.body != original.body:
        differences.append("other body bytes")
    wanted_type = original.header("content-type")
    if "content-type" in stored and again.header("content-type") != wanted_type:
        differences.append(f"content type {again.header('content-type')} instead of {wanted_type}")
    if again.header(contract.replay_header) != "true":
        differences.append(f"{contract.replay_header} is not 'true'")
    if differences:
        raise _violation(
            f"a retry with the same key was not a replay of the stored response ({'; '.join(differences)})",
            f"{original.status}, {contract.replay_header}: true, body {original.body.decode('utf-8', 'replace')}",
            again,
            contract,
            expected_status=original.status,
            expected_replay=True,
            original=original,
        )


def not_replayed(exchange: Exchange, contract: IdempotencyContract, *, why: str) -> None:
    """Not an answer from the idempotency store."""
    if _replayed(exchange, contract):
        raise _violation(
            f"a stored response was replayed although {why}",
            f"{contract.replay_header} absent or 'false'",
            exchange,
            contract,
            expected_replay=False,
        )


def rejected_with(exchange: Exchange, error: ErrorSpec, contract: IdempotencyContract, *, why: str) -> None:
    """The contract's error for this case: status and code."""
    body = exchange.json()
    code = body.get("code") if isinstance(body, dict) else None
    if exchange.status != error.status or code != error.code:
        raise _violation(
            f"{why}, but the server did not answer {error.status} {error.code}",
            f"{error.status} with code {error.code}",
            exchange,
            contract,
            expected_status=error.status,
        )


def not_found(exchange: Exchange, contract: IdempotencyContract, *, why: str) -> None:
    rejected_with(exchange, ErrorSpec(404, NOT_FOUND), contract, why=why)


def refused_transition(exchange: Exchange, contract: IdempotencyContract, *, why: str) -> None:
    rejected_with(exchange, ErrorSpec(409, FORBIDDEN_TRANSITION), contract, why=why)


def key_accepted(exchange: Exchange, contract: IdempotencyContract, *, key: str) -> None:
    """A well-formed key is not refused: the request gets past the key check."""
    body = exchange.json()
    code = body.get("code") if isinstance(body, dict) else None
    if exchange.status == 400 or (exchange.status == contract.key_invalid.status and code == contract.key_invalid.code):
        raise _violation(
            f"a well-formed idempotency key ({len(key)} characters) was refused",
            "any answer but 400",
            exchange,
            contract,
        )


def processed_once(answers: Sequence[Exchange], contract: IdempotencyContract) -> None:
    """Of simultaneous requests with one key: one processed, the others replays of it or 'in flight'."""
    fresh = [a for a in answers if a.status == 200 and not _replayed(a, contract)]
    in_flight = contract.in_flight
    verdicts = []
    bare: Exchange | None = None  # an in-flight answer without Retry-After
    if len(fresh) != 1:
        verdicts.append(f"{len(fresh)} of {len(answers)} requests were processed")
    for answer in answers:
        body = answer.json()
        code = body.get("code") if isinstance(body, dict) else None
        if answer in fresh:
            continue
        if answer.status == in_flight.status and code == in_flight.code:
            if in_flight.retry_after is not None and answer.header("retry-after") is None:
                verdicts.append("an in-flight answer had no Retry-After")
                bare = bare or answer
        elif not (_replayed(answer, contract) and fresh and answer.body == fresh[0].body and answer.status == 200):
            verdicts.append(f"an answer was neither a replay nor in flight: {answer.describe(contract.replay_header)}")
    if verdicts:
        statuses = ", ".join(
            f"{a.status}/{a.header(contract.replay_header) or '-'}" for a in sorted(answers, key=lambda a: a.status)
        )
        only_bare = bare is not None and set(verdicts) == {"an in-flight answer had no Retry-After"}
        raise _violation(
            f"{len(answers)} simultaneous requests with one key: {verdicts[0]}",
            f"exactly one 200 with {contract.replay_header}: false; the others identical replays "
            f"({contract.replay_header}: true) or {in_flight.status} {in_flight.code}",
            bare if only_bare and bare is not None else fresh[-1] if len(fresh) > 1 else answers[0],
            contract,
            expected_status=in_flight.status if only_bare else None,
            note=f"Answers (status/{contract.replay_header}): {statuses}. Send the request below "
            f"{len(answers)} times at once to reproduce.",
        )


def matches_model(exchange: Exchange, expected: Expected, contract: IdempotencyContract, history: str) -> None:
    """Status, replay flag and error code (or exact bytes, for a replay) as the model predicts."""
    body = exchange.json()
    code = body.get("code") if isinstance(body, dict) else None
    wrong = exchange.status != expected.status or _replayed(exchange, contract) != expected.replayed
    if expected.code is not None:
        wrong = wrong or code != expected.code
    elif expected.body is not None:
        wrong = wrong or exchange.body != expected.body
    elif expected.status == 200:
        wrong = wrong or body != ACCEPTED
    if wrong:
        raise _violation(
            "the answer differs from the model of the contract",
            expected.describe(),
            exchange,
            contract,
            expected_status=expected.status,
            expected_replay=expected.replayed,
            note=f"Steps so far (newest last):\n{history}",
        )


def _replayed(exchange: Exchange, contract: IdempotencyContract) -> bool:
    return exchange.header(contract.replay_header) == "true"


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _violation(
    title: str,
    expected: str,
    exchange: Exchange,
    contract: IdempotencyContract,
    *,
    expected_status: int | None = None,
    expected_replay: bool | None = None,
    original: Exchange | None = None,
    note: str | None = None,
) -> ContractViolation:
    divergence = classify(
        exchange, contract, expected_status=expected_status, expected_replay=expected_replay, original=original
    )
    return ContractViolation(
        title[0].upper() + title[1:],
        expected=expected,
        received=exchange.describe(contract.replay_header),
        exchange=exchange,
        divergence=divergence,
        note=note,
    )
