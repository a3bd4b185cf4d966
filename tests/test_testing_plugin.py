"""`callback_kit.testing`: the `callback_mock` fixture and the typed API of the mock it gives a test."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import typing
import urllib.error
import urllib.request
from importlib import resources
from typing import Any

import httpx
import pytest
import yaml

from callback_kit.resources import fixtures_dir
from callback_kit.testing import (
    CallbackMock,
    ClientMisbehaved,
    MockAdminError,
    MockOptions,
    Pattern,
    running_mock,
)
from callback_kit.testing.journal import FaultAction
from callback_kit.testing.options import OptionError
from callback_kit.testing.state import ACME, GLOBEX, Status, Tenant

ADMIN_SPEC = resources.files("callback_kit.mock_server") / "admin.yaml"
STATUSES: tuple[Status, ...] = typing.get_args(Status)


def resolve(mock: CallbackMock, exception_id: str, key: str | None, **fields: Any) -> httpx.Response:
    """One callback that resolves `exception_id`, with `key` as its idempotency key (None: no key)."""
    headers = {**mock.acme.authorization, **({"X-Idempotency-Key": key} if key else {})}
    body = {"externalSystem": "JIRA", "externalIssueId": "RECON-1", "status": "RESOLVED", **fields}
    return httpx.post(mock.callback_url(exception_id), json=body, headers=headers)


def lost(mock: CallbackMock, exception_id: str, key: str) -> None:
    """One callback whose answer the mock loses (a `lost_response` rule set for it alone)."""
    mock.faults.lose_response(exception_id=exception_id, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        resolve(mock, exception_id, key)


def test_the_mock_answers_a_stdlib_client(callback_mock: CallbackMock) -> None:
    """A real socket: urllib resolves an OPEN exception with a tenant's token."""
    exception_id = callback_mock.create_exception("OPEN")
    request = urllib.request.Request(
        callback_mock.callback_url(exception_id),
        data=json.dumps({"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOLVED"}).encode(),
        headers={**callback_mock.acme.authorization, "Content-Type": "application/json", "X-Idempotency-Key": "k-1"},
    )
    with urllib.request.urlopen(request) as answer:
        assert (answer.status, answer.headers["X-Idempotency-Replayed"]) == (200, "false")
    assert callback_mock.exception(exception_id).status == "RESOLVED"


def test_a_lost_answer_closes_the_connection_unanswered(callback_mock: CallbackMock) -> None:
    """With `lose_response`, urllib's connection is closed without a status line, and the callback is applied."""
    exception_id = callback_mock.create_exception("OPEN")
    callback_mock.faults.lose_response(times=1)
    request = urllib.request.Request(
        callback_mock.callback_url(exception_id),
        data=json.dumps({"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOLVED"}).encode(),
        headers={**callback_mock.acme.authorization, "Content-Type": "application/json", "X-Idempotency-Key": "k-1"},
    )
    with pytest.raises((http.client.RemoteDisconnected, urllib.error.URLError)):
        urllib.request.urlopen(request)
    (entry,) = callback_mock.journal()
    assert entry.answer_lost
    assert callback_mock.exception(exception_id).status == "RESOLVED"


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("tenant", [ACME, GLOBEX], ids=["acme", "globex"])
def test_create_exception_makes_one_in_the_wanted_status(
    callback_mock: CallbackMock, status: Status, tenant: Tenant
) -> None:
    """`create_exception` returns the id of a new exception of that tenant, in that status."""
    state = callback_mock.exception(callback_mock.create_exception(status, tenant=tenant))
    assert (state.status, state.tenant, state.version, state.callbacks) == (status, tenant.id, 1, ())


def test_reset_goes_back_to_the_fixtures(callback_mock: CallbackMock) -> None:
    """`reset` drops created exceptions, the journal, fault rules and the clock offset."""
    exception_id = callback_mock.create_exception("OPEN")
    resolve(callback_mock, exception_id, "k-1")
    callback_mock.faults.latency(1)
    moved = callback_mock.move_clock(3600)
    callback_mock.reset()
    with pytest.raises(MockAdminError, match="404"):
        callback_mock.exception(exception_id)
    assert callback_mock.journal() == []
    assert callback_mock.faults.active() == []
    assert (moved - callback_mock.move_clock(0)).total_seconds() > 3000


def test_the_journal_is_typed_and_oldest_first(callback_mock: CallbackMock) -> None:
    """Each answered callback is one `JournalEntry`, in the order answered, with key, status and replay flag."""
    exception_id = callback_mock.create_exception("OPEN")
    resolve(callback_mock, exception_id, "k-1")
    resolve(callback_mock, exception_id, "k-1")
    first, replay = callback_mock.journal()
    assert (first.idempotency_key, first.status, first.replayed, first.principal) == ("k-1", 200, False, "acme-jira")
    assert (replay.status, replay.replayed, replay.exception_id, replay.tenant) == (200, True, exception_id, ACME.id)
    assert first.at <= replay.at


def test_each_fault_helper_stores_its_rule(callback_mock: CallbackMock) -> None:
    """The typed helpers post the admin API's rules: actions, fields and the `When` narrowing."""
    latency = callback_mock.faults.latency(100, 900, tenant=ACME, probability=0.5)
    forced = callback_mock.faults.force_status(429, retry_after=7, external_system="JIRA", times=2)
    lose = callback_mock.faults.lose_response(exception_id="1a010000-0000-4000-8000-000100000001")
    slow = callback_mock.faults.slow_processing(3000, tenant=GLOBEX.id)
    assert (latency.ms, latency.max_ms, latency.match, latency.probability) == (100, 900, {"tenant": ACME.id}, 0.5)
    assert (forced.status, forced.retry_after, forced.match, forced.times) == (429, 7, {"externalSystem": "JIRA"}, 2)
    assert (lose.action, lose.match, lose.times) == ("lost_response", {"exceptionId": lose.match["exceptionId"]}, None)
    assert (slow.action, slow.ms, slow.match) == ("slow_processing", 3000, {"tenant": GLOBEX.id})
    assert callback_mock.faults.active() == [latency, forced, lose, slow]


def test_a_forced_status_is_answered(callback_mock: CallbackMock) -> None:
    """`force_status(429, retry_after=7)` makes the next callback get 429 with `Retry-After: 7`."""
    callback_mock.faults.force_status(429, retry_after=7, times=1)
    answer = resolve(callback_mock, callback_mock.create_exception("OPEN"), "k-1")
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "7")


@pytest.mark.parametrize("action", ["latency", "slow_processing"])
def test_a_delay_fault_is_journaled(callback_mock: CallbackMock, action: FaultAction) -> None:
    """A latency or slow-processing rule fires on the callback it matches, as the journal records."""
    helper = callback_mock.faults.latency if action == "latency" else callback_mock.faults.slow_processing
    helper(1, times=1)
    assert resolve(callback_mock, callback_mock.create_exception("OPEN"), "k-1").status_code == 200
    assert [entry.fault for entry in callback_mock.journal()] == [action]


def test_fault_rules_can_be_removed_one_by_one_or_all(callback_mock: CallbackMock) -> None:
    """`remove` takes a rule (or its id) away; `clear` takes them all."""
    first, second, third = (callback_mock.faults.latency(ms) for ms in (1, 2, 3))
    callback_mock.faults.remove(first)
    callback_mock.faults.remove(second.id)
    assert callback_mock.faults.active() == [third]
    callback_mock.faults.clear()
    assert callback_mock.faults.active() == []


def test_a_rule_the_mock_refuses_raises_its_message(callback_mock: CallbackMock) -> None:
    """A rule the admin API refuses raises `MockAdminError` with the call, the status and the mock's reason."""
    refusal = r"POST .*/_mock/faults answered 400: MTCH-0001 .*'status' must be one of 429, 500, 503 \(got 418\)"
    with pytest.raises(MockAdminError, match=refusal):
        callback_mock.faults.force_status(418)  # type: ignore[arg-type]


def test_move_clock_adds_to_the_offset(callback_mock: CallbackMock) -> None:
    """Two moves add up: the mock's clock is then (about) the sum ahead of where it was."""
    before = callback_mock.move_clock(0)
    callback_mock.move_clock(300)
    after = callback_mock.move_clock(60)
    assert 360 <= (after - before).total_seconds() < 420


def test_assert_no_findings_passes_a_retry_under_the_same_key(callback_mock: CallbackMock) -> None:
    """A lost answer retried with the same key is clean: replayed, applied once."""
    exception_id = callback_mock.create_exception("OPEN")
    lost(callback_mock, exception_id, "k-1")
    assert resolve(callback_mock, exception_id, "k-1").headers["X-Idempotency-Replayed"] == "true"
    callback_mock.assert_no_findings()


def test_assert_no_findings_fails_with_the_finding(callback_mock: CallbackMock) -> None:
    """A lost answer retried under a new key fails the assertion, citing pattern, summary, requests and advice."""
    exception_id = callback_mock.create_exception("OPEN")
    lost(callback_mock, exception_id, "k-1")
    resolve(callback_mock, exception_id, "k-2")
    with pytest.raises(ClientMisbehaved) as failure:
        callback_mock.assert_no_findings()
    (finding,) = failure.value.findings
    message = str(failure.value)
    assert finding.pattern == "new-key-after-lost-response"
    assert [cited.idempotency_key for cited in finding.evidence] == ["k-1", "k-2"]
    for part in ["[new-key-after-lost-response]", finding.summary, f"advice: {finding.advice}", "answer lost, key k-1"]:
        assert part in message
    assert all(cited.request_id in message for cited in finding.evidence)


def test_ignored_patterns_do_not_fail_the_assertion(callback_mock: CallbackMock) -> None:
    """A pattern named in `ignore` is left out; the others still fail."""
    resolve(callback_mock, callback_mock.create_exception("OPEN"), None)
    callback_mock.assert_no_findings(ignore=["callback-without-key"])
    with pytest.raises(ClientMisbehaved, match="callback-without-key"):
        callback_mock.assert_no_findings(ignore=["retry-without-backoff"])


def test_ignore_takes_one_pattern_as_a_plain_string(callback_mock: CallbackMock) -> None:
    """`ignore="callback-without-key"` ignores that pattern, never its characters."""
    resolve(callback_mock, callback_mock.create_exception("OPEN"), None)
    callback_mock.assert_no_findings(ignore="callback-without-key")
    with pytest.raises(ClientMisbehaved, match="callback-without-key"):
        callback_mock.assert_no_findings(ignore="retry-without-backoff")


def test_ignore_refuses_an_unknown_pattern_naming_the_known_ones(callback_mock: CallbackMock) -> None:
    """A misspelled pattern is a one-line error listing the patterns, even when the client was clean."""
    with pytest.raises(ValueError, match="unknown retry pattern 'callback-without-kye'") as refused:
        callback_mock.assert_no_findings(ignore=["retry-without-backoff", "callback-without-kye"])  # type: ignore[list-item]
    assert "\n" not in str(refused.value)
    assert all(pattern in str(refused.value) for pattern in typing.get_args(Pattern))


def test_the_report_is_typed(callback_mock: CallbackMock) -> None:
    """`report()` gives each client's counts and findings as dataclasses."""
    exception_id = callback_mock.create_exception("OPEN")
    lost(callback_mock, exception_id, "k-1")
    resolve(callback_mock, exception_id, "k-2")
    report = callback_mock.report()
    (client,) = report.clients
    assert (client.principal, client.counts.requests, client.counts.lost_responses) == ("acme-jira", 2, 1)
    assert report.patterns == {"new-key-after-lost-response"}
    assert report.findings[0].evidence[0].fault == "lost_response"


@pytest.mark.callback_mock(profile="matcher")
def test_the_marker_gives_a_mock_of_that_profile(callback_mock: CallbackMock) -> None:
    """`@pytest.mark.callback_mock(profile="matcher")`: Matcher 2.1's answers, auth off, its own exceptions."""
    answer = httpx.post(callback_mock.callback_url(callback_mock.create_exception("OPEN")), json={"status": "RESOLVED"})
    assert (answer.status_code, answer.json()["message"]) == (400, "X-Idempotency-Key header is required")
    assert callback_mock.options == MockOptions(profile="matcher")


@pytest.mark.callback_mock(auth=False)
def test_the_marker_turns_auth_off(callback_mock: CallbackMock) -> None:
    """`auth=False`: a callback without a token is processed."""
    exception_id = callback_mock.create_exception("OPEN")
    body = {"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOLVED"}
    assert httpx.post(callback_mock.callback_url(exception_id), json=body).status_code == 200


@pytest.mark.callback_mock(auth="off")
def test_the_marker_takes_auth_in_serves_words(callback_mock: CallbackMock) -> None:
    """`auth="off"`, as `callback-kit serve --auth off` spells it, is `auth=False`: no token needed."""
    exception_id = callback_mock.create_exception("OPEN")
    body = {"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOLVED"}
    assert httpx.post(callback_mock.callback_url(exception_id), json=body).status_code == 200
    assert callback_mock.options == MockOptions(auth=False)
    assert MockOptions(auth="on") == MockOptions(auth=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"profle": "matcher"}, "unknown option 'profle': the mock takes profile, auth, rate_limit"),
        ({"profile": "staging"}, "profile must be 'published' or 'matcher' (got 'staging')"),
        ({"auth": "yes"}, "auth must be True or 'on', False or 'off', or None for the profile's default (got 'yes')"),
        ({"rate_limit": -1}, "rate_limit must be a whole number"),
    ],
)
def test_a_bad_option_is_refused_by_name(options: dict[str, Any], message: str) -> None:
    """Each bad option is one `OptionError` naming it and what it accepts."""
    with pytest.raises(OptionError) as refused:
        MockOptions.of(options)
    assert message in str(refused.value)


def test_running_mock_leaves_no_thread_or_port() -> None:
    """`running_mock()` serves for the block only: afterwards its thread is gone and its port refuses."""
    with running_mock() as mock:
        assert httpx.get(f"{mock.url}/openapi.json").status_code == 200
        url, port = mock.url, int(mock.url.rsplit(":", 1)[1])
        assert [t for t in threading.enumerate() if t.name == f"callback-kit-mock {url}"]
    assert not [t for t in threading.enumerate() if t.name == f"callback-kit-mock {url}"]
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def test_the_typed_vocabulary_matches_the_admin_api() -> None:
    """The report's patterns and the fault actions are the enums of `mock_server/admin.yaml`."""
    schemas = yaml.safe_load(ADMIN_SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
    finding = schemas["RetryReport"]["properties"]["clients"]["items"]["properties"]["findings"]["items"]
    assert set(typing.get_args(Pattern)) == set(finding["properties"]["pattern"]["enum"])
    assert set(typing.get_args(FaultAction)) == set(schemas["FaultRule"]["properties"]["action"]["enum"])


def test_the_tenants_are_the_fixtures_integrations() -> None:
    """`acme` and `globex` carry the fixtures' tokens, tenants and principals, allowed to process callbacks."""
    tokens = json.loads((fixtures_dir() / "tokens.json").read_text(encoding="utf-8"))
    for tenant in (ACME, GLOBEX):
        entry = tokens["tokens"][tenant.token]
        assert (entry["tenant"], entry["principal"]) == (tenant.id, tenant.principal)
        assert "callback:process" in entry["permissions"]
    assert tokens["admin"]["token"] == CallbackMock.admin_token
