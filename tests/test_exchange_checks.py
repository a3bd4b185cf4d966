"""The exchange-level named checks the proxy and the suite share: shapes against the spec, and a key in flight."""

from __future__ import annotations

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.contract.checks import in_flight_refused, request_conforms, response_conforms, status_declared
from callback_kit.contract.exchange import Exchange, Headers

SPEC = load_spec()
CONTRACT = idempotency_contract(SPEC)
URL = "http://server.test/v1/exceptions/1a010000-0000-4000-8000-000100000001/callback"
REQUEST: Headers = (("Authorization", "Bearer t"), ("Content-Type", "application/json"), ("X-Idempotency-Key", "k-1"))
ACCEPTED = (("content-type", "application/json"), ("x-idempotency-replayed", "false"), ("x-request-id", "r-1"))
IN_FLIGHT = b'{"code":"MTCH-0018","title":"Conflict","message":"in flight"}'


def exchange(
    status: int = 200, body: bytes = b'{"status":"accepted"}', headers: Headers = ACCEPTED, request: bytes = b""
) -> Exchange:
    sent = request or b'{"externalSystem":"JIRA","externalIssueId":"R-1","status":"RESOLVED"}'
    return Exchange("test", "POST", URL, REQUEST, sent, status, "", headers, body, 0.0, 0.0)


def test_a_conforming_exchange_passes_every_shape_check() -> None:
    """The acknowledgement with its headers breaks no shape check."""
    answer = exchange()
    assert [request_conforms(answer, SPEC, CONTRACT), status_declared(answer, SPEC, CONTRACT)] == [None, None]
    assert response_conforms(answer, SPEC, CONTRACT) is None


def test_an_undocumented_status_is_named() -> None:
    """A 418 is no status of the operation."""
    violation = status_declared(exchange(418), SPEC, CONTRACT)
    assert violation is not None
    assert violation.check == "status_declared"


def test_a_body_that_breaks_its_schema_is_named_with_the_place() -> None:
    """An error body without its code breaks the Error schema, and the message says where."""
    headers = (("content-type", "application/json"), ("x-request-id", "r-1"))
    violation = response_conforms(exchange(404, b'{"title":"Not Found","message":"x"}', headers), SPEC, CONTRACT)
    assert violation is not None
    assert "'code' is a required property" in violation.title


def test_a_missing_required_header_is_named() -> None:
    """A 200 without X-Request-Id breaks the declared headers."""
    violation = response_conforms(exchange(headers=ACCEPTED[:2]), SPEC, CONTRACT)
    assert violation is not None
    assert "header X-Request-Id missing" in violation.title


def test_a_request_body_that_breaks_the_spec_is_named() -> None:
    """A status outside the enum is the client's broken clause."""
    sent = b'{"externalSystem":"J","externalIssueId":"1","status":"X"}'
    violation = request_conforms(exchange(request=sent), SPEC, CONTRACT)
    assert violation is not None
    assert violation.check == "request_conforms"


def test_a_request_body_that_is_not_utf8_is_named_even_when_it_parses() -> None:
    """UTF-16 with a BOM is JSON to `json.loads`, but application/json is UTF-8: the client's broken clause."""
    sent = '{"externalSystem":"JIRA","externalIssueId":"R-1","status":"RESOLVED"}'.encode("utf-16")
    violation = request_conforms(exchange(request=sent), SPEC, CONTRACT)
    assert violation is not None
    assert (violation.check, "not UTF-8" in violation.title) == ("request_conforms", True)


def test_a_key_in_flight_needs_the_409_with_retry_after() -> None:
    """409 MTCH-0018 with Retry-After keeps the clause; without it, or a fresh 200, breaks it."""
    headers = (("content-type", "application/json"), ("x-request-id", "r-1"))
    assert in_flight_refused(exchange(409, IN_FLIGHT, (*headers, ("retry-after", "1"))), CONTRACT) is None
    bare = in_flight_refused(exchange(409, IN_FLIGHT, headers), CONTRACT)
    assert bare is not None
    assert "without Retry-After" in bare.title
    assert in_flight_refused(exchange(), CONTRACT) is not None
