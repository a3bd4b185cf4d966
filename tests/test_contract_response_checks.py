"""The named checks of answers and side effects on hand-built exchanges: what a validating proxy applies."""

from __future__ import annotations

import json
from typing import Any

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.contract.checks import (
    applied_times,
    carries_declared_headers,
    code_pairs_with_status,
    request_id_echoed,
)
from callback_kit.contract.exchange import Exchange

SPEC = load_spec()
CONTRACT = idempotency_contract(SPEC)


def answer(status: int, body: Any, **headers: str) -> Exchange:
    sent = {"Content-Type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
    raw = json.dumps(body).encode()
    return Exchange(
        "t", "POST", "http://h/v1/exceptions/x/callback", (), b"{}", status, "", tuple(sent.items()), raw, 0, 0
    )


def error(status: int, code: str, **headers: str) -> Exchange:
    return answer(status, {"code": code, "title": "t", "message": "m"}, **headers)


def test_code_pairs_with_status_reads_x_error_codes() -> None:
    """400 MTCH-0001 pairs; 422 MTCH-0001 does not, and 422 MTCH-0019 breaks the replay policy."""
    assert code_pairs_with_status(error(400, "MTCH-0001"), SPEC, CONTRACT) is None
    assert code_pairs_with_status(answer(200, {"status": "accepted"}), SPEC, CONTRACT) is None
    wrong = code_pairs_with_status(error(422, "MTCH-0001"), SPEC, CONTRACT)
    assert wrong is not None
    assert "the spec pairs 422 with MTCH-0019 only" in wrong.title
    policy = code_pairs_with_status(error(422, "MTCH-0019"), SPEC, CONTRACT)
    assert policy is not None
    assert "policy is 'replay'" in policy.title


def test_carries_declared_headers_wants_www_authenticate_and_retry_after() -> None:
    """A 401 needs WWW-Authenticate, an in-flight 409 a whole Retry-After; a 404 needs neither."""
    assert (
        carries_declared_headers(error(401, "MTCH-0003", WWW_Authenticate="Bearer", X_Request_Id="r"), SPEC, CONTRACT)
        is None
    )
    bare = carries_declared_headers(error(401, "MTCH-0003", X_Request_Id="r"), SPEC, CONTRACT)
    assert bare is not None
    assert "WWW-Authenticate" in bare.title
    late = error(409, "MTCH-0018", X_Request_Id="r", Retry_After="soon")
    assert carries_declared_headers(late, SPEC, CONTRACT, only="Retry-After") is not None
    assert (
        carries_declared_headers(error(409, "MTCH-0018", Retry_After="1"), SPEC, CONTRACT, only="Retry-After") is None
    )


def test_request_id_echoed_within_the_declared_limits() -> None:
    """The id sent comes back; a too long one may be replaced, by one of at most 128 characters."""
    assert request_id_echoed(error(404, "MTCH-0501", X_Request_Id="abc"), "abc", SPEC, CONTRACT) is None
    assert request_id_echoed(error(404, "MTCH-0501", X_Request_Id="other"), "abc", SPEC, CONTRACT) is not None
    assert request_id_echoed(error(404, "MTCH-0501", X_Request_Id="x" * 128), "x" * 300, SPEC, CONTRACT) is None
    assert request_id_echoed(error(404, "MTCH-0501", X_Request_Id="x" * 300), "x" * 300, SPEC, CONTRACT) is not None
    assert request_id_echoed(error(404, "MTCH-0501"), None, SPEC, CONTRACT) is not None


def test_applied_times_compares_the_counts() -> None:
    """Exactly the expected change passes; one more is a violation naming both counts."""
    last = answer(200, {"status": "accepted"})
    assert applied_times(3, 4, 1, last, CONTRACT, what="a replay") is None
    violation = applied_times(3, 5, 1, last, CONTRACT, what="a replay")
    assert violation is not None
    assert violation.title == "A replay applied the callback 2 time(s), not once"
