"""The named checks of the contract, as functions over exchanges that return a `Violation` (or None).

    base         `Violation`, and the spec's facts the checks share (the acknowledgement, error codes)
    idempotency  processed, says_not_replayed, is_replay_of, not_replayed, rejected_with, not_found,
                 refused_transition, key_accepted, processed_once
    model        matches_model: an answer against a model's prediction (`Expected`)
    schema       request_conforms, status_declared, response_conforms: one exchange against the spec's shapes
    keys         in_flight_refused: the answer to a request whose key is in flight
    responses    carries_declared_headers, request_id_echoed, code_pairs_with_status: answers as the spec declares
    side_effects applied_times: how many times a sequence applied a callback (read by an exception reader)

The contract suite and a validating proxy apply the very same checks; neither classifies a violation here.
"""

from callback_kit.contract.checks.base import ACCEPTED, FORBIDDEN_TRANSITION, NOT_FOUND, Violation, describe, replayed
from callback_kit.contract.checks.idempotency import (
    is_replay_of,
    key_accepted,
    not_found,
    not_replayed,
    processed,
    processed_once,
    refused_transition,
    rejected_with,
    says_not_replayed,
)
from callback_kit.contract.checks.keys import in_flight_refused
from callback_kit.contract.checks.model import Expected, matches_model
from callback_kit.contract.checks.responses import carries_declared_headers, code_pairs_with_status, request_id_echoed
from callback_kit.contract.checks.schema import request_conforms, response_conforms, status_declared
from callback_kit.contract.checks.side_effects import applied_times

__all__ = [
    "ACCEPTED",
    "FORBIDDEN_TRANSITION",
    "NOT_FOUND",
    "Expected",
    "Violation",
    "applied_times",
    "carries_declared_headers",
    "code_pairs_with_status",
    "describe",
    "in_flight_refused",
    "is_replay_of",
    "key_accepted",
    "matches_model",
    "not_found",
    "not_replayed",
    "processed",
    "processed_once",
    "refused_transition",
    "rejected_with",
    "replayed",
    "request_conforms",
    "request_id_echoed",
    "response_conforms",
    "says_not_replayed",
    "status_declared",
]
