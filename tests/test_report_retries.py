"""Retries the journal and the retry report used to miss, each made by a real httpx client against a live mock.

A new key after a client timeout whose attempts do not overlap, a keyless retry after a lost answer, and a
refused token sent again unchanged: the first two applied the callback twice and were reported clean (or only
as keyless), the last was never journaled at all.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from callback_kit.cli import report as report_cli
from tests.live import ADMIN, LiveMock, running_mock
from tests.mock_client import ACME, ACME_TOKEN, ACME_VIEWER_TOKEN

RESOLVE = {"externalSystem": "JIRA", "externalIssueId": "RECON-9", "status": "RESOLVED"}
REVOKED_TOKEN = "acme-token-revoked-last-week"


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMock]:
    with running_mock("memory://", tmp_path_factory.mktemp("retries")) as live:
        yield live


@pytest.fixture
def http(mock: LiveMock) -> Iterator[httpx.Client]:
    """A client of the mock, reset to the fixtures (empty journal, no fault rules)."""
    with httpx.Client(base_url=mock.url, timeout=10) as client:
        assert client.post("/_mock/reset", headers=ADMIN).status_code == 200
        yield client


def open_exception(http: httpx.Client, fault: dict[str, Any] | None = None) -> str:
    """A fresh OPEN exception of ACME, with a fault rule on it when asked."""
    exception = str(http.post("/_mock/exceptions", headers=ADMIN, json={"tenant": ACME, "status": "OPEN"}).json()["id"])
    if fault is not None:
        answer = http.post("/_mock/faults", headers=ADMIN, json={**fault, "match": {"exceptionId": exception}})
        assert answer.is_success, answer.text
    return exception


def send(
    http: httpx.Client, exception: str, *, token: str = ACME_TOKEN, key: str | None = None, timeout: float = 10
) -> httpx.Response | None:
    """POST one callback the way a client would; None when no answer came (timeout or dropped connection)."""
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["X-Idempotency-Key"] = key
    try:
        return http.post(f"/v1/exceptions/{exception}/callback", json=RESOLVE, headers=headers, timeout=timeout)
    except httpx.TransportError:
        return None


def status(answer: httpx.Response | None) -> int | None:
    return answer.status_code if answer is not None else None


def settled_report(http: httpx.Client, entries: int) -> dict[str, Any]:
    """The report once `entries` requests are journaled (a slow one finishes after its client gave up); 10 s at most."""
    deadline = time.monotonic() + 10
    while len(http.get("/_mock/journal", headers=ADMIN).json()) < entries:
        assert time.monotonic() < deadline, "the journal never held every request"
        time.sleep(0.05)
    answer = http.get("/_mock/report", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def patterns(report: dict[str, Any]) -> list[tuple[str, int]]:
    """(pattern, number of cited requests) of every finding."""
    return [(f["pattern"], len(f["evidence"])) for c in report["clients"] for f in c["findings"]]


def test_a_new_key_after_a_timeout_that_answered_later_is_applied_twice(http: httpx.Client) -> None:
    """First attempt 1.5 s, client timeout 1 s, a new key 1 s later: no overlap, and the report says applied twice."""
    exception = open_exception(http, {"action": "latency", "ms": 1500, "times": 1})
    assert send(http, exception, key=str(uuid.uuid4()), timeout=1.0) is None
    time.sleep(1.0)  # the client's own back-off: by now the first attempt has been applied
    assert status(send(http, exception, key=str(uuid.uuid4()))) == 200
    report = settled_report(http, 2)
    assert patterns(report) == [("applied-more-than-once", 2)]
    (finding,) = report["clients"][0]["findings"]
    assert f"exception {exception}: the same callback was applied 2 times (under 2 keys)" == finding["summary"]
    starts = [e["startedAt"] for e in finding["evidence"]]
    assert starts == sorted(starts)
    assert finding["evidence"][0]["latencyMs"] >= 1500


def test_a_keyless_retry_after_a_lost_answer_is_applied_twice(http: httpx.Client) -> None:
    """The answer is lost, the client sends the callback again without a key: applied twice, and said so."""
    exception = open_exception(http, {"action": "lost_response", "times": 1})
    assert send(http, exception) is None
    assert status(send(http, exception)) == 200
    report = settled_report(http, 2)
    assert patterns(report) == [("applied-more-than-once", 2), ("callback-without-key", 2)]
    assert "applied 2 times (2 times without a key)" in report["clients"][0]["findings"][0]["summary"]


def test_a_refused_token_sent_again_unchanged_is_journaled_and_reported(http: httpx.Client) -> None:
    """Three 401s for one token: journaled with a digest of the credential, never the token, and flagged."""
    exception = open_exception(http)
    statuses = [status(send(http, exception, token=REVOKED_TOKEN, key=str(uuid.uuid4())))]
    statuses += [status(send(http, exception, token=REVOKED_TOKEN)) for _ in range(2)]
    assert statuses == [401, 401, 401]
    report = settled_report(http, 3)
    journal = http.get("/_mock/journal", headers=ADMIN).json()
    assert REVOKED_TOKEN not in json.dumps(journal)
    assert {(e["status"], e["principal"], e["credential"].startswith("hmac:")) for e in journal} == {(401, None, True)}
    assert json.loads(journal[0]["body"]) == RESOLVE  # what the refused client sent, though nothing read it
    (client,) = report["clients"]
    assert (client["tenant"], client["principal"], client["credential"]) == (None, None, journal[0]["credential"])
    assert patterns(report) == [("unchanged-4xx-retried", 3)]
    assert client["findings"][0]["summary"].startswith(f"credential {journal[0]['credential']}: 401 MTCH-0003")


def test_a_token_without_the_permission_retried_is_reported_apart_from_others(http: httpx.Client) -> None:
    """Two 403s for one token, one 401 for another: two refused callers, only the repeating one flagged."""
    exception = open_exception(http)
    assert [status(send(http, exception, token=ACME_VIEWER_TOKEN)) for _ in range(2)] == [403, 403]
    assert status(send(http, exception, token=REVOKED_TOKEN)) == 401
    report = settled_report(http, 3)
    clients = sorted((c["counts"]["requests"], c["verdict"]) for c in report["clients"])
    assert clients == [(1, "clean"), (2, "1 finding")]


def test_the_command_names_a_refused_caller_by_its_credential(
    http: httpx.Client, mock: LiveMock, capsys: pytest.CaptureFixture[str]
) -> None:
    """`callback-kit report` names the refused caller by its credential digest, with evidence at start times."""
    exception = open_exception(http)
    for _ in range(2):
        send(http, exception, token=REVOKED_TOKEN)
    (client,) = settled_report(http, 2)["clients"]
    digest, starts = client["credential"], [e["startedAt"] for e in client["findings"][0]["evidence"]]
    parser = argparse.ArgumentParser()
    report_cli.add_arguments(parser)
    assert report_cli.run(parser.parse_args(["--base-url", mock.url])) == 1
    out = capsys.readouterr().out
    assert f"refused caller (credential {digest}, never authenticated): 2 requests" in out
    assert "None" not in out
    printed = [line.split()[0] for line in out.splitlines() if line.strip().endswith("MTCH-0003, no key")]
    assert printed == starts == sorted(starts)  # evidence lines: each request's start time, in start order
