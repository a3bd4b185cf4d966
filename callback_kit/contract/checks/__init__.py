"""The named checks of the contract, as functions over exchanges that return a `Violation` (or None).

    base         `Violation`, and the spec's facts the checks share (the acknowledgement, error codes)
    idempotency  processed, says_not_replayed, is_replay_of, not_replayed, rejected_with, not_found,
                 refused_transition, key_accepted, processed_once
    model        matches_model: an answer against a model's prediction (`Expected`)
    schema       request_conforms, status_declared, response_conforms: one exchange against the spec's shapes
    keys         in_flight_refused: the answer to a request whose key is in flight

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
from callback_kit.contract.checks.schema import request_conforms, response_conforms, status_declared

__all__ = [
    "ACCEPTED",
    "FORBIDDEN_TRANSITION",
    "NOT_FOUND",
    "Expected",
    "Violation",
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
    "response_conforms",
    "says_not_replayed",
    "status_declared",
]
