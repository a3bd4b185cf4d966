"""Attribution of failures to the known divergences (`contract_tests/divergences.py`), on hand-built exchanges.

Each test is one request and one answer: the divergence that explains it, or none. "None" matters as much as
a name: an answer Matcher 2.1 could not give to that request must never hide behind a known divergence.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.contract_tests import divergences as known
from callback_kit.contract_tests.client import Exchange
from callback_kit.contract_tests.divergences import Divergence, classify, explain

SPEC = load_spec()
CONTRACT = idempotency_contract(SPEC)
TOKEN, OTHER_TOKEN = "acme-integration-token", "globex-integration-token"
SECRETS = {TOKEN: "CALLBACK_KIT_TOKEN", OTHER_TOKEN: "CALLBACK_KIT_OTHER_TENANT_TOKEN"}
EXCEPTION = "4f0c6a52-8a1e-4c7e-9a49-5b8f6f3f0a01"
ACCEPTED = {"status": "accepted"}
SERVER_ERROR = {"code": "MTCH-0002", "title": "Internal Server Error", "message": "an unexpected error occurred"}
RATE_LIMITED = {"code": "MTCH-0506", "title": "Too Many Requests", "message": "callback rate limit exceeded"}


def callback(status: str = "RESOLVED", **changes: Any) -> dict[str, Any]:
    """A valid callback body; a change to None drops the field."""
    body = {"externalSystem": "JIRA", "externalIssueId": "RECON-1234", "status": status, **changes}
    return {name: value for name, value in body.items() if value is not None}


def bad_request(message: str) -> dict[str, str]:
    return {"code": "MTCH-0001", "title": "Bad Request", "message": message}


def exchange(
    status: int = 200,
    reply: Any = ACCEPTED,
    *,
    sent: Any = None,
    headers: dict[str, str | None] | None = None,
    answer_headers: dict[str, str] | None = None,
    exception_id: str = EXCEPTION,
    replayed: bool = False,
) -> Exchange:
    """A callback with a key and the first tenant's token, and its answer; a header set to None is left out."""
    sent_headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {TOKEN}",
        "X-Idempotency-Key": "ck-1",
        **(headers or {}),
    }
    answer = {"Content-Type": "application/json", "X-Request-Id": "r-1", **(answer_headers or {})}
    if replayed:
        answer["X-Idempotency-Replayed"] = "true"
    return Exchange(
        label="test",
        method="POST",
        url=f"http://127.0.0.1:8080/v1/exceptions/{exception_id}/callback",
        request_headers=tuple((k, v) for k, v in sent_headers.items() if v is not None),
        request_body=sent if isinstance(sent, bytes) else json.dumps(callback() if sent is None else sent).encode(),
        status=status,
        reason="",
        headers=tuple(answer.items()),
        body=reply if isinstance(reply, bytes) else json.dumps(reply).encode(),
        started=0.0,
        elapsed=0.0,
        secrets=SECRETS,
    )


def numbers(found: tuple[Divergence, ...]) -> list[int]:
    return [divergence.number for divergence in found]


# classify: the suite's own checks


def test_missing_key_is_divergence_1() -> None:
    """A keyless callback answered 400 'X-Idempotency-Key header is required' is #1."""
    answer = exchange(400, bad_request(known.KEY_REQUIRED_MESSAGE), headers={"X-Idempotency-Key": None})
    assert classify(answer, CONTRACT, expected_status=200) == known.KEY_REQUIRED


def test_key_in_the_alias_only_is_divergence_2() -> None:
    """A callback keyed by Idempotency-Key alone answered 'X-Idempotency-Key header is required' is #2."""
    answer = exchange(
        400, bad_request(known.KEY_REQUIRED_MESSAGE), headers={"X-Idempotency-Key": None, "Idempotency-Key": "ck-1"}
    )
    assert classify(answer, CONTRACT, expected_status=200) == known.ALIAS_IGNORED


def test_key_required_answer_to_a_bad_path_is_not_excused() -> None:
    """Matcher checks the path before the key: its answer to a bad path is 'invalid exception id'."""
    answer = exchange(
        400, bad_request(known.KEY_REQUIRED_MESSAGE), headers={"X-Idempotency-Key": None}, exception_id="x"
    )
    assert classify(answer, CONTRACT, expected_status=200) is None


def test_disagreeing_keys_processed_is_divergence_2() -> None:
    """Two different keys processed instead of refused: Matcher reads the first header only (#2)."""
    answer = exchange(headers={"Idempotency-Key": "ck-2"})
    assert classify(answer, CONTRACT, expected_status=400) == known.ALIAS_IGNORED


def test_first_processing_without_replay_header_is_divergence_3() -> None:
    """A fresh 200 without `X-Idempotency-Replayed: false` is #3."""
    assert classify(exchange(), CONTRACT, expected_status=200, expected_replay=False) == known.NEVER_FALSE


def test_other_body_without_replay_header_is_not_excused() -> None:
    """#3 explains a missing header, not a 200 whose body is not the acknowledgement."""
    answer = exchange(reply={"status": "done"})
    assert classify(answer, CONTRACT, expected_status=200, expected_replay=False) is None


def test_retry_not_replayed_is_not_excused() -> None:
    """The same request again, answered as a fresh 200, is no known divergence: Matcher replays it."""
    first = exchange()
    assert classify(exchange(), CONTRACT, expected_status=200, expected_replay=True, original=first) is None


def test_duplicate_on_another_path_spelling_is_divergence_5() -> None:
    """A retry the first layer misses (other path spelling) is a fresh 200 from the second layer (#5)."""
    first = exchange()
    again = exchange(exception_id=EXCEPTION.upper())
    assert classify(again, CONTRACT, expected_status=200, expected_replay=True, original=first) == known.DEDUP_200


@pytest.fixture
def tokens_ignored(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What the server says when asked whether it checks tokens (set the first item); no request is sent."""
    answer = [True]
    monkeypatch.setattr(known, "_tokens_ignored", lambda _: answer[0])
    return answer


def test_other_tenant_getting_a_replay_is_divergence_6(tokens_ignored: list[bool]) -> None:
    """With auth off every token is one tenant: the second tenant gets the first one's stored response (#6)."""
    answer = exchange(headers={"Authorization": f"Bearer {OTHER_TOKEN}"}, replayed=True)
    assert classify(answer, CONTRACT, expected_replay=False) == known.ONE_TENANT


def test_other_tenant_processed_on_a_foreign_exception_is_divergence_6(tokens_ignored: list[bool]) -> None:
    """With auth off, another tenant's callback to the first tenant's exception is processed (#6)."""
    answer = exchange(headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert classify(answer, CONTRACT, expected_status=404) == known.ONE_TENANT


def test_tenants_mixed_by_a_server_that_checks_tokens_is_not_excused(tokens_ignored: list[bool]) -> None:
    """When the server refuses a request without credentials, a key or exception shared between tenants is a bug."""
    tokens_ignored[0] = False
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    assert classify(exchange(headers=other, replayed=True), CONTRACT, expected_replay=False) is None
    assert classify(exchange(headers=other), CONTRACT, expected_status=404) is None


def test_first_tenant_getting_an_unexpected_replay_is_not_excused(tokens_ignored: list[bool]) -> None:
    """A replay to the first tenant where none is due is a bug of its own."""
    assert classify(exchange(replayed=True), CONTRACT, expected_replay=False) is None


def test_500_for_a_forbidden_transition_is_divergence_7() -> None:
    """500 where the contract wants 409 for a forbidden transition is #7."""
    answer = exchange(500, SERVER_ERROR, sent=callback("ASSIGNED", assignee="ana"))
    assert classify(answer, CONTRACT, expected_status=409) == known.FORBIDDEN_TRANSITION_500


@pytest.mark.parametrize(("target", "expected"), [("ASSIGNED", None), ("RESOLVED", known.FORBIDDEN_TRANSITION_500)])
def test_500_for_an_allowed_transition(target: str, expected: Divergence | None) -> None:
    """From an allowed status Matcher's only 500 is ASSIGNED -> RESOLVED without an assignee."""
    answer = exchange(500, SERVER_ERROR, sent=callback(target, assignee="ana"))
    assert classify(answer, CONTRACT, expected_status=200) == expected


def test_500_for_an_unknown_status_is_divergence_7() -> None:
    """A status that is no status (in any letter case) is answered 500 by Matcher (#7)."""
    answer = exchange(500, SERVER_ERROR, sent=callback("closed"))
    assert explain("not_a_server_error", answer, SPEC, CONTRACT) == (known.UNKNOWN_STATUS_500,)


def test_500_for_a_malformed_payload_date_is_divergence_7() -> None:
    """A malformed date read from payload (no top-level date) is answered 500 by Matcher (#7)."""
    answer = exchange(500, SERVER_ERROR, sent=callback(payload={"due_at": "next week"}))
    assert explain("not_a_server_error", answer, SPEC, CONTRACT) == (known.PAYLOAD_DATE_500,)


@pytest.mark.parametrize(
    ("sent", "headers"),
    [
        pytest.param(callback(dueAt="not-a-date"), {}, id="top-level date"),
        pytest.param(callback(), {"X-Idempotency-Key": None}, id="no key"),
        pytest.param(callback(), {"X-Idempotency-Key": "bad key!"}, id="malformed key"),
        pytest.param(callback(), {"Content-Type": "text/plain"}, id="content type"),
        pytest.param(callback(status=5), {}, id="status of another type"),
        pytest.param(callback(externalSystem=""), {}, id="empty required field"),
        pytest.param(callback(externalSystem=" ", callbackType=" "), {}, id="blank system, no fallback"),
    ],
)
def test_500_to_a_request_matcher_refuses_first_is_not_excused(sent: Any, headers: dict[str, str | None]) -> None:
    """Matcher answers these with 400 before any state is read, so a 500 to them is a bug, not #7."""
    answer = exchange(500, SERVER_ERROR, sent=sent, headers=headers)
    assert classify(answer, CONTRACT, expected_status=409) is None
    assert explain("not_a_server_error", answer, SPEC, CONTRACT) == ()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("OPEN", "apply callback: OPEN is not a valid callback resolution target: use ASSIGNED or RESOLVED"),
        ("PENDING_RESOLUTION", "apply callback: callback status is unsupported: PENDING_RESOLUTION"),
    ],
)
def test_apply_callback_refusal_is_divergence_11(target: str, message: str) -> None:
    """Only ASSIGNED and RESOLVED transitions succeed: Matcher's 400 for the others is #11."""
    answer = exchange(400, bad_request(message), sent=callback(target))
    assert classify(answer, CONTRACT, expected_status=409) == known.UNSUPPORTED_TARGET
    assert explain("positive_data_acceptance", answer, SPEC, CONTRACT) == (known.UNSUPPORTED_TARGET,)


def test_apply_callback_refusal_for_another_target_is_not_excused() -> None:
    """The OPEN-target refusal to a RESOLVED callback is not what Matcher says."""
    message = "apply callback: OPEN is not a valid callback resolution target: use ASSIGNED or RESOLVED"
    assert classify(exchange(400, bad_request(message)), CONTRACT, expected_status=409) is None


def test_auth_layer_answers() -> None:
    """A plain-text 403 is #7; a 429 with lib-commons' numeric code is #8."""
    forbidden = exchange(403, b"Forbidden", answer_headers={"Content-Type": "text/plain"})
    limited = exchange(429, {"code": 429, "title": "rate_limit_exceeded", "message": "rate limit exceeded"})
    assert classify(forbidden, CONTRACT, expected_status=200) == known.PLAIN_403
    assert explain("content_type_conformance", forbidden, SPEC, CONTRACT) == (known.PLAIN_403,)
    assert explain("response_schema_conformance", limited, SPEC, CONTRACT) == (known.NUMERIC_429,)


# explain: Schemathesis checks


@pytest.mark.parametrize(
    ("sent", "headers", "expected"),
    [
        pytest.param(callback(), {"Authorization": None}, [6], id="no Authorization"),
        pytest.param(callback(), {"X-Request-Id": "0" * 129}, [4], id="long X-Request-Id"),
        pytest.param(callback(), {"X-Request-Id": ""}, [4], id="empty X-Request-Id"),
        pytest.param(callback(), {"Idempotency-Key": "{}"}, [2], id="bad alias beside the key"),
        pytest.param(callback(" resolved "), {}, [11], id="status in lower case"),
        pytest.param(callback(externalSystem="\f", callbackType="webhook"), {}, [12], id="callbackType fallback"),
        pytest.param(
            callback(externalIssueId=" ", payload={"external_issue_id": "X-1"}), {}, [9], id="payload fallback"
        ),
        pytest.param(callback(payload={"assignee": {}}), {}, [9], id="payload value ignored"),
        pytest.param(callback("resolved"), {"Authorization": None}, [6, 11], id="two causes"),
    ],
)
def test_invalid_request_accepted_is_explained(sent: Any, headers: dict[str, str | None], expected: list[int]) -> None:
    """A request breaking the spec, accepted with 200, names the divergence behind each broken part."""
    answer = exchange(sent=sent, headers=headers)
    assert numbers(explain("negative_data_rejection", answer, SPEC, CONTRACT)) == expected


def test_invalid_body_replayed_is_divergence_5() -> None:
    """A repeated key is replayed before the body is read (#5)."""
    answer = exchange(sent=callback(status=5), replayed=True)
    assert explain("negative_data_rejection", answer, SPEC, CONTRACT) == (known.REPLAY_FIRST,)


@pytest.mark.parametrize(
    ("sent", "headers", "replayed"),
    [
        pytest.param(callback("CLOSED"), {}, False, id="unknown status (Matcher: 500)"),
        pytest.param(callback(externalSystem="", callbackType="x"), {}, False, id="empty system (Matcher: 400)"),
        pytest.param(callback(externalSystem="S" * 256), {}, False, id="long system (no known divergence)"),
        pytest.param(callback(), {"X-Idempotency-Key": None, "Idempotency-Key": "bad key!"}, False, id="bad alias"),
        pytest.param(callback(externalSystem="S" * 256), {"X-Request-Id": ""}, False, id="one part unexplained"),
        pytest.param(callback(status=5), {"X-Idempotency-Key": None}, True, id="keyless replay (never stored)"),
    ],
)
def test_invalid_request_accepted_without_known_cause_is_not_excused(
    sent: Any, headers: dict[str, str | None], replayed: bool
) -> None:
    """When some broken part has no divergence behind it, the case is reported without a name."""
    answer = exchange(sent=sent, headers=headers, replayed=replayed)
    assert explain("negative_data_rejection", answer, SPEC, CONTRACT) == ()


@pytest.mark.parametrize(
    ("headers", "message", "expected"),
    [
        ({"X-Idempotency-Key": None}, known.KEY_REQUIRED_MESSAGE, known.KEY_REQUIRED),
        ({"X-Idempotency-Key": None, "Idempotency-Key": "ck-1"}, known.KEY_REQUIRED_MESSAGE, known.ALIAS_IGNORED),
        ({}, "invalid request body", None),
    ],
)
def test_valid_request_refused(headers: dict[str, str | None], message: str, expected: Divergence | None) -> None:
    """A spec-valid request refused with 400 is #1 or #2 when the key is what Matcher missed, else unexplained."""
    answer = exchange(400, bad_request(message), headers=headers)
    assert explain("positive_data_acceptance", answer, SPEC, CONTRACT) == ((expected,) if expected else ())


def test_missing_response_headers() -> None:
    """No replay header on a 200 is #3, no Retry-After on the callback limiter's 429 is #8; anything else is not."""
    no_request_id = dataclasses.replace(exchange(), headers=(("Content-Type", "application/json"),))
    assert explain("response_headers_conformance", exchange(), SPEC, CONTRACT) == (known.NEVER_FALSE,)
    assert explain("response_headers_conformance", exchange(429, RATE_LIMITED), SPEC, CONTRACT) == (
        known.CALLBACK_LIMIT_429,
    )
    assert explain("response_headers_conformance", no_request_id, SPEC, CONTRACT) == ()


def test_requests_without_credentials_accepted_are_divergence_6() -> None:
    """Accepted without Authorization (ST203) or with a token the run does not know (ST401): auth is off (#6)."""
    stranger = exchange(headers={"Authorization": "Bearer not-a-token"})
    assert explain("missing_required_header", exchange(headers={"Authorization": None}), SPEC, CONTRACT) == (
        known.AUTH_OPTIONAL,
    )
    assert explain("ignored_auth", stranger, SPEC, CONTRACT) == (known.AUTH_OPTIONAL,)
    assert explain("ignored_auth", exchange(), SPEC, CONTRACT) == ()
