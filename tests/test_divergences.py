"""Attribution of failures to the known divergences (`contract_tests/divergences/`), on hand-built exchanges.

Each test is one request and one answer: the divergence that explains it, or none. "None" matters as much as
a name: an answer Matcher 2.1 could not give to that request must never hide behind a known divergence. The
readers are pure: what no exchange shows (does the server check tokens?) comes in as `Facts`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.contract.checks import Violation
from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.divergences import Divergence, Facts, catalogue, known
from callback_kit.contract_tests.divergences import classify as classify_violation
from callback_kit.contract_tests.divergences import explain as explain_case
from callback_kit.contract_tests.divergences.reading import KEY_REQUIRED_MESSAGE

SPEC = load_spec()
CONTRACT = idempotency_contract(SPEC)
TOKEN, OTHER_TOKEN = "acme-integration-token", "globex-integration-token"
AUTH_OFF = Facts(auth_enforced=False, tokens=frozenset({TOKEN, OTHER_TOKEN}), other_tenant_token=OTHER_TOKEN)
AUTH_ON = Facts(auth_enforced=True, tokens=frozenset({TOKEN, OTHER_TOKEN}), other_tenant_token=OTHER_TOKEN)
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
    )


def numbers(found: tuple[Divergence, ...]) -> list[int]:
    return [divergence.number for divergence in found]


def classify(
    answer: Exchange,
    contract: object = None,
    *,
    expected_status: int | None = None,
    expected_replay: bool | None = None,
    original: Exchange | None = None,
    facts: Facts = AUTH_OFF,
) -> Divergence | None:
    """The one divergence a violation of the suite's checks is labelled with (None: a failure of its own)."""
    violation = Violation("check", "title", "expected", "received", answer, expected_status, expected_replay, original)
    found = classify_violation(violation, CONTRACT, facts)
    return found[0] if found else None


def explain(
    check: str, answer: Exchange, spec: object = None, contract: object = None, *, facts: Facts = AUTH_OFF
) -> tuple[Divergence, ...]:
    return explain_case(check, answer, SPEC, CONTRACT, facts)


# classify: the suite's own checks


def test_missing_key_is_divergence_1() -> None:
    """A keyless callback answered 400 'X-Idempotency-Key header is required' is #1."""
    answer = exchange(400, bad_request(KEY_REQUIRED_MESSAGE), headers={"X-Idempotency-Key": None})
    assert classify(answer, CONTRACT, expected_status=200) == known("key-required")


def test_key_in_the_alias_only_is_divergence_2() -> None:
    """A callback keyed by Idempotency-Key alone answered 'X-Idempotency-Key header is required' is #2."""
    answer = exchange(
        400, bad_request(KEY_REQUIRED_MESSAGE), headers={"X-Idempotency-Key": None, "Idempotency-Key": "ck-1"}
    )
    assert classify(answer, CONTRACT, expected_status=200) == known("alias-ignored")


def test_key_required_answer_to_a_bad_path_is_not_excused() -> None:
    """Matcher checks the path before the key: its answer to a bad path is 'invalid exception id'."""
    answer = exchange(400, bad_request(KEY_REQUIRED_MESSAGE), headers={"X-Idempotency-Key": None}, exception_id="x")
    assert classify(answer, CONTRACT, expected_status=200) is None


def test_disagreeing_keys_processed_is_divergence_2() -> None:
    """Two different keys processed instead of refused: Matcher reads the first header only (#2)."""
    answer = exchange(headers={"Idempotency-Key": "ck-2"})
    assert classify(answer, CONTRACT, expected_status=400) == known("alias-ignored")


def test_first_processing_without_replay_header_is_divergence_3() -> None:
    """A fresh 200 without `X-Idempotency-Replayed: false` is #3."""
    assert classify(exchange(), CONTRACT, expected_status=200, expected_replay=False) == known("never-false")


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
    assert classify(again, CONTRACT, expected_status=200, expected_replay=True, original=first) == known("dedup-200")


def test_other_tenant_getting_a_replay_is_divergence_6() -> None:
    """With auth off every token is one tenant: the second tenant gets the first one's stored response (#6)."""
    answer = exchange(headers={"Authorization": f"Bearer {OTHER_TOKEN}"}, replayed=True)
    assert classify(answer, CONTRACT, expected_replay=False) == known("one-tenant")


def test_other_tenant_processed_on_a_foreign_exception_is_divergence_6() -> None:
    """With auth off, another tenant's callback to the first tenant's exception is processed (#6)."""
    answer = exchange(headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert classify(answer, CONTRACT, expected_status=404) == known("one-tenant")


def test_tenants_mixed_by_a_server_that_checks_tokens_is_not_excused() -> None:
    """When the probe saw the server refuse a request without credentials, tenants sharing a key is a bug."""
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    assert classify(exchange(headers=other, replayed=True), expected_replay=False, facts=AUTH_ON) is None
    assert classify(exchange(headers=other), expected_status=404, facts=AUTH_ON) is None


def test_first_tenant_getting_an_unexpected_replay_is_not_excused() -> None:
    """A replay to the first tenant where none is due is a bug of its own."""
    assert classify(exchange(replayed=True), CONTRACT, expected_replay=False) is None


def test_500_for_a_forbidden_transition_is_divergence_7() -> None:
    """500 where the contract wants 409 for a forbidden transition is #7."""
    answer = exchange(500, SERVER_ERROR, sent=callback("ASSIGNED", assignee="ana"))
    assert classify(answer, CONTRACT, expected_status=409) == known("forbidden-transition-500")


@pytest.mark.parametrize(("target", "expected"), [("ASSIGNED", None), ("RESOLVED", known("forbidden-transition-500"))])
def test_500_for_an_allowed_transition(target: str, expected: Divergence | None) -> None:
    """From an allowed status Matcher's only 500 is ASSIGNED -> RESOLVED without an assignee."""
    answer = exchange(500, SERVER_ERROR, sent=callback(target, assignee="ana"))
    assert classify(answer, CONTRACT, expected_status=200) == expected


def test_500_for_an_unknown_status_is_divergence_7() -> None:
    """A status that is no status (in any letter case) is answered 500 by Matcher (#7)."""
    answer = exchange(500, SERVER_ERROR, sent=callback("closed"))
    assert explain("not_a_server_error", answer, SPEC, CONTRACT) == (known("unknown-status-500"),)


def test_500_for_a_malformed_payload_date_is_divergence_7() -> None:
    """A malformed date read from payload (no top-level date) is answered 500 by Matcher (#7)."""
    answer = exchange(500, SERVER_ERROR, sent=callback(payload={"due_at": "next week"}))
    assert explain("not_a_server_error", answer, SPEC, CONTRACT) == (known("payload-date-500"),)


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
    assert classify(answer, CONTRACT, expected_status=409) == known("unsupported-target")
    assert explain("positive_data_acceptance", answer, SPEC, CONTRACT) == (known("unsupported-target"),)


def test_apply_callback_refusal_for_another_target_is_not_excused() -> None:
    """The OPEN-target refusal to a RESOLVED callback is not what Matcher says."""
    message = "apply callback: OPEN is not a valid callback resolution target: use ASSIGNED or RESOLVED"
    assert classify(exchange(400, bad_request(message)), CONTRACT, expected_status=409) is None


def test_auth_layer_answers() -> None:
    """A plain-text 403 is #7; a 429 with lib-commons' numeric code is #8."""
    forbidden = exchange(403, b"Forbidden", answer_headers={"Content-Type": "text/plain"})
    limited = exchange(429, {"code": 429, "title": "rate_limit_exceeded", "message": "rate limit exceeded"})
    assert classify(forbidden, CONTRACT, expected_status=200) == known("plain-403")
    assert explain("content_type_conformance", forbidden, SPEC, CONTRACT) == (known("plain-403"),)
    assert explain("response_schema_conformance", limited, SPEC, CONTRACT) == (known("numeric-429"),)


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
    assert explain("negative_data_rejection", answer, SPEC, CONTRACT) == (known("replay-first"),)


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
        ({"X-Idempotency-Key": None}, KEY_REQUIRED_MESSAGE, known("key-required")),
        ({"X-Idempotency-Key": None, "Idempotency-Key": "ck-1"}, KEY_REQUIRED_MESSAGE, known("alias-ignored")),
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
    assert explain("response_headers_conformance", exchange(), SPEC, CONTRACT) == (known("never-false"),)
    assert explain("response_headers_conformance", exchange(429, RATE_LIMITED), SPEC, CONTRACT) == (
        known("callback-limit-429"),
    )
    assert explain("response_headers_conformance", no_request_id, SPEC, CONTRACT) == ()


def test_requests_without_credentials_accepted_are_divergence_6() -> None:
    """Accepted without Authorization (ST203) or with a token the run does not know (ST401): auth is off (#6)."""
    stranger = exchange(headers={"Authorization": "Bearer not-a-token"})
    assert explain("missing_required_header", exchange(headers={"Authorization": None}), SPEC, CONTRACT) == (
        known("auth-optional"),
    )
    assert explain("ignored_auth", stranger, SPEC, CONTRACT) == (known("auth-optional"),)
    assert explain("ignored_auth", exchange(), SPEC, CONTRACT) == ()


# The whole signature: an answer Matcher could not have written is never labelled, whatever its status.


def test_an_accepted_null_is_matchers_only_without_a_false_replay_header() -> None:
    """`payload: null` accepted is #9 from Matcher; a 200 saying `X-Idempotency-Replayed: false` is not Matcher's."""
    sent = {**callback(), "payload": None}
    assert explain("negative_data_rejection", exchange(sent=sent)) == (known("payload-ignored"),)
    published = exchange(sent=sent, answer_headers={"X-Idempotency-Replayed": "false"})
    assert explain("negative_data_rejection", published) == ()


def test_a_500_in_another_servers_words_is_not_matchers() -> None:
    """A 500 for an unknown status is #7 only with Matcher's body; another implementation's 500 is a bug."""
    other = exchange(500, {"detail": "Internal Server Error"}, sent=callback("closed"))
    assert explain("not_a_server_error", other) == ()
    assert (
        classify(exchange(500, {**SERVER_ERROR, "message": "boom"}, sent=callback("ASSIGNED")), expected_status=409)
        is None
    )


def test_a_missing_key_refused_in_other_words_is_not_divergence_1() -> None:
    """400 to a keyless callback is #1 only with Matcher's message."""
    answer = exchange(400, bad_request("idempotency key missing"), headers={"X-Idempotency-Key": None})
    assert classify(answer, expected_status=200) is None


def test_accepted_without_credentials_is_divergence_6_only_when_the_probe_saw_no_auth() -> None:
    """A server the probe saw checking tokens that lets one request through has a bug, not Matcher's #6."""
    answer = exchange(headers={"Authorization": None})
    assert explain("missing_required_header", answer, facts=AUTH_OFF) == (known("auth-optional"),)
    assert explain("missing_required_header", answer, facts=AUTH_ON) == ()


def test_the_catalogue_is_data_with_the_references_numbers() -> None:
    """Every entry of catalogue.yaml has a number of section 6 of the reference (1 to 14) and a title."""
    entries = catalogue()
    assert len(entries) == 20
    assert all(1 <= d.number <= 14 and d.title for d in entries.values())
    assert {d.number for d in entries.values()} == {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12}
