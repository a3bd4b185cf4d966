"""The named checks of `callback_kit.contract.checks` on hand-built exchanges: each returns a `Violation` naming
itself when its clause is broken, and None when it holds (what a validating proxy relies on)."""

from __future__ import annotations

import copy
import json
from typing import Any

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.contract.checks import (
    Expected,
    is_replay_of,
    key_accepted,
    matches_model,
    not_replayed,
    processed,
    processed_once,
    rejected_with,
    says_not_replayed,
)
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.refs import resolve
from callback_kit.contract.spec import CALLBACK_PATH

CONTRACT = idempotency_contract(load_spec())
ACCEPTED = b'{"status":"accepted"}'


def answer(status: int = 200, body: Any = ACCEPTED, *, replayed: str | None = "false", **headers: str) -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **({"X-Idempotency-Replayed": replayed} if replayed else {}), **headers}
    return Exchange(
        "test", "POST", "http://h/v1/exceptions/x/callback", (), b"{}", status, "", tuple(sent.items()), raw, 0, 0
    )


def test_processed_holds_for_a_fresh_acknowledgement() -> None:
    """200 with the acknowledgement, not a replay: no violation; a replay or another body is one."""
    assert processed(answer(), CONTRACT) is None
    violation = processed(answer(replayed="true"), CONTRACT)
    assert violation is not None
    assert (violation.check, violation.expected_status, violation.expected_replay) == ("processed", 200, False)
    assert processed(answer(body={"status": "done"}), CONTRACT) is not None


def test_says_not_replayed_needs_the_header_false() -> None:
    """An absent replay header on a first processing breaks `says_not_replayed`."""
    assert says_not_replayed(answer(), CONTRACT) is None
    violation = says_not_replayed(answer(replayed=None), CONTRACT)
    assert violation is not None
    assert "(absent)" in violation.received


def test_is_replay_of_compares_status_bytes_and_header() -> None:
    """A replay repeats the status and the exact bytes, marked true; each difference is named."""
    first = answer()
    assert is_replay_of(first, answer(replayed="true"), CONTRACT) is None
    violation = is_replay_of(first, answer(body=b'{"status": "accepted"}', replayed="true"), CONTRACT)
    assert violation is not None
    assert "other body bytes" in violation.title
    assert violation.original is first


def test_rejected_with_checks_status_and_code() -> None:
    """The key-invalid error is its status and its code; another code is a violation."""
    invalid = CONTRACT.key_invalid
    good = answer(invalid.status, {"code": invalid.code, "title": "Bad Request", "message": "m"}, replayed=None)
    other = answer(invalid.status, {"code": "MTCH-0001", "title": "Bad Request", "message": "m"}, replayed=None)
    assert rejected_with(good, invalid, CONTRACT, why="bad key") is None
    violation = rejected_with(other, invalid, CONTRACT, why="bad key")
    assert violation is not None
    assert violation.title.startswith("Bad key, but the server did not answer")


def test_not_replayed_and_key_accepted() -> None:
    """A replay where none is due, and a well-formed key refused with 400, are violations."""
    assert not_replayed(answer(replayed="true"), CONTRACT, why="another tenant") is not None
    assert not_replayed(answer(), CONTRACT, why="another tenant") is None
    refused = answer(400, {"code": "MTCH-0015", "title": "Bad Request", "message": "m"}, replayed=None)
    assert key_accepted(refused, CONTRACT, key="k" * 128) is not None
    assert key_accepted(answer(404, {"code": "MTCH-0501"}, replayed=None), CONTRACT, key="k") is None


def test_processed_once_allows_one_processing_and_in_flight_answers() -> None:
    """One fresh 200 and the others replays or 409 with Retry-After hold; two fresh 200s do not."""
    in_flight = CONTRACT.in_flight
    busy = answer(in_flight.status, {"code": in_flight.code}, replayed=None, **{"Retry-After": "1"})
    assert processed_once([answer(), answer(replayed="true"), busy], CONTRACT) is None
    violation = processed_once([answer(), answer(), busy], CONTRACT)
    assert violation is not None
    assert "2 of 3 requests were processed" in violation.title


def test_matches_model_compares_with_the_prediction() -> None:
    """The answer the model predicts holds; another status breaks it, with the steps in the note."""
    assert matches_model(answer(), Expected(200, replayed=False), CONTRACT, "step") is None
    violation = matches_model(answer(409, {"code": "MTCH-0507"}, replayed=None), Expected(200, False), CONTRACT, "step")
    assert violation is not None
    assert violation.note is not None
    assert violation.note.endswith("step")


def test_a_spec_that_declares_the_replay_header_on_replays_only_lets_a_first_processing_omit_it() -> None:
    """Under a contract whose 200 declares the replay header optional and only 'true' (the matcher profile's spec),
    a first processing may omit it but must not say 'true'; under openapi.yaml it must say 'false'."""
    derived = copy.deepcopy(load_spec())  # the loaded spec is shared: change a copy
    header = derived["paths"][CALLBACK_PATH]["post"]["responses"]["200"]["headers"][CONTRACT.replay_header]
    derived["paths"][CALLBACK_PATH]["post"]["responses"]["200"]["headers"][CONTRACT.replay_header] = {
        **resolve(derived, header),
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    }
    replays_only = idempotency_contract(derived)
    assert (CONTRACT.first_says_false, replays_only.first_says_false) == (True, False)
    assert says_not_replayed(answer(replayed=None), CONTRACT) is not None
    assert says_not_replayed(answer(replayed=None), replays_only) is None
    assert says_not_replayed(answer(replayed="true"), replays_only) is not None
