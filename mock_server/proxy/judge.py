"""Every forwarded callback judged by the contract suite's own named checks (`callback_kit.contract.checks`).

The shapes and the answers as the spec declares them are judged on every exchange, alone:

    request_conforms, status_declared, response_conforms   the request, the status, the headers and body
    carries_declared_headers, request_id_echoed            required headers; the client's X-Request-Id back
    code_pairs_with_status                                 an error's code is one its status may carry

The idempotency clauses by what the ledger knew of the key when the request arrived:

    any answer of storeStatusBelow or more   not_replayed: such answers are never stored, so never replayed
    first (below storeStatusBelow)           says_not_replayed, unless it says it is a replay: the proxy holds no
                                             first answer for the key (never seen, freed after a failed forward,
                                             expired), so the upstream's replay is taken as the key's stored answer
    stored, same body or policy `replay`     is_replay_of the stored first answer
    stored, another body, policy `reject`    rejected_with the spec's differentBody error
    in flight                                in_flight_refused

Each violation has a party: `request_conforms` judges what the client sent, every other check the answer.
"""

from __future__ import annotations

from typing import Any, Literal

from callback_kit.contract import IdempotencyContract
from callback_kit.contract.checks import (
    Violation,
    carries_declared_headers,
    code_pairs_with_status,
    in_flight_refused,
    is_replay_of,
    not_replayed,
    rejected_with,
    request_conforms,
    request_id_echoed,
    response_conforms,
    says_not_replayed,
    status_declared,
)
from callback_kit.contract.checks.base import replayed
from callback_kit.contract.checks.responses import REQUEST_ID
from callback_kit.contract.exchange import Exchange
from callback_kit.mock_server.proxy.ledger import Entry

Party = Literal["client", "server"]
# The checks that judge the request: a violation of theirs is the client's, never the server's.
CLIENT_CHECKS = frozenset({"request_conforms"})


def party_of(check: str) -> Party:
    """Whose violation a check's is: the client's (it judges the request) or the server's (the answer)."""
    return "client" if check in CLIENT_CHECKS else "server"


def judge(exchange: Exchange, entry: Entry, spec: dict[str, Any], contract: IdempotencyContract) -> list[Violation]:
    """The violations of one forwarded exchange, in the order above."""
    found = [
        request_conforms(exchange, spec, contract),
        status_declared(exchange, spec, contract),
        response_conforms(exchange, spec, contract),
        carries_declared_headers(exchange, spec, contract),
        request_id_echoed(exchange, exchange.request_header(REQUEST_ID), spec, contract),
        code_pairs_with_status(exchange, spec, contract),
        *_idempotency(exchange, entry, contract),
    ]
    return [violation for violation in found if violation is not None]


def _idempotency(exchange: Exchange, entry: Entry, contract: IdempotencyContract) -> list[Violation | None]:
    below = contract.store_status_below
    found: list[Violation | None] = []
    if exchange.status >= below:
        found.append(not_replayed(exchange, contract, why=f"answers of {below} or more are never stored"))
    if entry.seen == "first" and exchange.status < below:
        if not replayed(exchange, contract):  # a replay of an answer the proxy never held is not judged
            found.append(says_not_replayed(exchange, contract))
    elif entry.seen == "stored" and entry.original is not None:
        if entry.same_body or contract.on_different_body == "replay":
            found.append(is_replay_of(entry.original, exchange, contract))
        else:
            why = "the key was used again with another body (onDifferentBody: reject)"
            found.append(rejected_with(exchange, contract.different_body, contract, why=why))
    elif entry.seen == "in_flight":
        found.append(in_flight_refused(exchange, contract))
    return found
