"""The retry report (`mock_server/report/`) and `callback-kit report` (`callback_kit/cli/report.py`).

First `build_report` on hand-built journal entries, one pattern at a time; then two scripted integrators
against a live mock with injected faults: a bad one, whose every bad habit is flagged with the requests it
rests on, and a good one, which gets a clean bill; then the command line.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import httpx
import pytest

from callback_kit.cli import report as report_cli
from callback_kit.mock_server.report import ADVICE, MAX_CITED, Pattern, build_report
from tests.live import ADMIN, LiveMock, free_port, running_mock
from tests.mock_client import ACME, ACME_OPEN, ACME_SERVICENOW_TOKEN, ACME_TOKEN

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def entry(
    request_id: str,
    end_ms: float,
    *,
    latency_ms: float = 2.0,
    key: str | None = "key-1",
    body: str | None = "A",
    status: int = 200,
    code: str | None = None,
    replayed: bool | None = None,
    retry_after: int | None = None,
    fault: str | None = None,
    principal: str = "acme-jira",
    exception: str = ACME_OPEN,
) -> dict[str, Any]:
    """A journal entry whose answer was written `end_ms` after T0; `body` names its fingerprint."""
    at = T0 + timedelta(milliseconds=end_ms)
    answered = status < 400
    return {
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "requestId": request_id,
        "tenant": ACME,
        "principal": principal,
        "method": "POST",
        "path": f"/v1/exceptions/{exception}/callback",
        "exceptionId": exception,
        "idempotencyKey": key,
        "keyHeader": "x-idempotency-key" if key else None,
        "body": "{}",
        "fingerprint": f"sha256-of-{body}" if body else None,
        "status": status,
        "code": code,
        "message": None,
        "replayed": replayed if replayed is not None else (False if answered else None),
        "retryAfter": retry_after,
        "fault": {"action": fault, "rule": None} if fault else None,
        "claimed": bool(key) and answered and not replayed,
        "latencyMs": latency_ms,
    }


def findings(report: dict[str, Any], principal: str = "acme-jira") -> list[tuple[str, list[str]]]:
    """(pattern, cited request ids) of each finding of one client."""
    (client,) = [c for c in report["clients"] if c["principal"] == principal]
    return [(f["pattern"], [e["requestId"] for e in f["evidence"]]) for f in client["findings"]]


def test_an_empty_journal_is_clean() -> None:
    """No entries: no clients and the verdict clean."""
    assert build_report([]) == {
        "verdict": "clean",
        "findings": 0,
        "violations": [],
        "clientViolations": [],
        "entries": 0,
        "from": None,
        "to": None,
        "clients": [],
    }


def test_the_violations_a_proxy_journaled_are_listed_and_spoil_the_verdict() -> None:
    """Entries carrying contract violations (a proxy's) are listed by check, with their request, in the verdict."""
    flawed = {**entry("a", 0.0, key="k1"), "violations": [{"check": "is_replay_of", "message": "Not a replay"}]}
    report = build_report([flawed, entry("b", 1.0, key="k2", body="B")])
    assert report["verdict"] == "1 server violation"
    assert [(v["check"], v["requestId"]) for v in report["violations"]] == [("is_replay_of", "a")]


def test_a_clients_request_that_breaks_the_contract_is_listed_apart_from_the_servers() -> None:
    """A violation of party `client` (a request judged) is in `clientViolations` and the verdict, never the server's."""
    bad = {"check": "request_conforms", "party": "client", "message": "The request breaks its schema"}
    wrong = {"check": "is_replay_of", "party": "server", "message": "Not a replay"}
    report = build_report(
        [
            {**entry("a", 0.0, key="k1"), "violations": [bad]},
            {**entry("b", 1.0, principal="acme-other"), "violations": [wrong]},
        ]
    )
    assert report["verdict"] == "1 server violation, 1 client violation"
    assert [(v["check"], v["party"], v["requestId"]) for v in report["clientViolations"]] == [
        ("request_conforms", "client", "a")
    ]
    assert [v["check"] for v in report["violations"]] == ["is_replay_of"]


def test_every_pattern_has_one_line_of_advice() -> None:
    """Each pattern name has advice, on one line."""
    assert set(ADVICE) == set(get_args(Pattern))
    assert all(advice and "\n" not in advice for advice in ADVICE.values())


def test_a_clean_client_gets_counts_and_the_verdict_clean() -> None:
    """A lost answer retried with the same key, replayed: counted, and nothing found."""
    report = build_report([entry("r1", 10, fault="lost_response"), entry("r2", 200, replayed=True)])
    (client,) = report["clients"]
    assert (client["verdict"], client["findings"]) == ("clean", [])
    assert client["counts"] == {"requests": 2, "replays": 1, "errors": 0, "lostResponses": 1, "withoutKey": 0}
    assert (report["from"], report["to"]) == ("2026-11-01T09:00:00.010Z", "2026-11-01T09:00:00.200Z")


def test_a_new_key_after_a_lost_answer_is_flagged_citing_both_attempts() -> None:
    """The same callback under a new key after its answer was lost was applied twice."""
    report = build_report([entry("r1", 10, fault="lost_response"), entry("r2", 500, key="key-2")])
    assert findings(report) == [("new-key-after-lost-response", ["r1", "r2"])]
    assert "applied 2 times" in report["clients"][0]["findings"][0]["summary"]
    assert report["verdict"] == "1 finding"


def test_a_lost_answer_of_an_error_is_not_lost() -> None:
    """The mock only drops answers below 400: a refused attempt's answer reached the client."""
    report = build_report([entry("r1", 10, status=503, fault="lost_response"), entry("r2", 500, key="key-2")])
    assert findings(report) == []


def test_a_new_key_while_the_first_attempt_is_processing_is_a_timeout_retry() -> None:
    """The first attempt ran 0-1000 ms; the retry under a new key started at 300 ms."""
    journal = [entry("r2", 305, key="key-2", latency_ms=5), entry("r1", 1000, latency_ms=1000)]
    assert findings(build_report(journal)) == [("new-key-after-timeout", ["r1", "r2"])]


def test_a_new_key_after_the_first_attempt_answered_is_applied_more_than_once() -> None:
    """Not a retry while processing (the first had answered), but the same callback applied twice all the same."""
    journal = [entry("r1", 1500, latency_ms=1500), entry("r2", 2005, key="key-2", latency_ms=5)]
    report = build_report(journal)
    assert findings(report) == [("applied-more-than-once", ["r1", "r2"])]
    assert "the same callback was applied 2 times (under 2 keys)" in report["clients"][0]["findings"][0]["summary"]


def test_the_same_callback_applied_once_is_not_applied_more_than_once() -> None:
    """A replay and a refusal of the same callback are not applications."""
    journal = [entry("r1", 10), entry("r2", 50, replayed=True), entry("r3", 90, key="key-2", status=422, code="X")]
    assert findings(build_report(journal)) == []


def test_a_keyless_retry_after_a_lost_answer_is_applied_more_than_once() -> None:
    """Both keyless attempts were applied: reported as applied twice, besides the missing key."""
    journal = [entry("r1", 10, key=None, fault="lost_response"), entry("r2", 500, key=None)]
    report = build_report(journal)
    assert findings(report) == [("applied-more-than-once", ["r1", "r2"]), ("callback-without-key", ["r1", "r2"])]
    assert "applied 2 times (2 times without a key)" in report["clients"][0]["findings"][0]["summary"]


def test_an_attempt_the_mock_journaled_as_not_applied_is_not_counted() -> None:
    """The journal's own `applied` (a deduplicated 200 is not applied) wins over the status."""
    journal = [entry("r1", 10), {**entry("r2", 500, key="key-2"), "applied": False}]
    assert findings(build_report(journal)) == []


def test_a_new_key_finding_is_not_repeated_as_applied_more_than_once() -> None:
    """A lost answer retried under a new key is one finding, which already says how often it was applied."""
    report = build_report([entry("r1", 10, fault="lost_response"), entry("r2", 500, key="key-2")])
    assert findings(report) == [("new-key-after-lost-response", ["r1", "r2"])]


def test_a_refused_credential_sent_again_is_an_unchanged_4xx() -> None:
    """Refused callers are told apart by their credential digest; one that retries it unchanged is flagged."""
    refused = {"tenant": None, "principal": None, "status": 401, "code": "MTCH-0003", "fingerprint": None}
    journal = [
        {**entry("r1", 10), **refused, "credential": "hmac:aaa"},
        {**entry("r2", 60, key="key-2", exception=ACME_OPEN.replace("1", "2")), **refused, "credential": "hmac:aaa"},
        {**entry("r3", 90), **refused, "credential": "hmac:bbb"},
    ]
    report = build_report(journal)
    assert [(c["principal"], c["credential"], c["verdict"]) for c in report["clients"]] == [
        (None, "hmac:aaa", "1 finding"),
        (None, "hmac:bbb", "clean"),
    ]
    (finding,) = report["clients"][0]["findings"]
    assert (finding["pattern"], [e["requestId"] for e in finding["evidence"]]) == (
        "unchanged-4xx-retried",
        ["r1", "r2"],
    )
    assert finding["summary"].startswith("credential hmac:aaa: 401 MTCH-0003, sent again unchanged 1 time(s)")


def test_evidence_names_each_start_time_in_start_order() -> None:
    """`startedAt` is the answer time less the latency; the evidence is ordered by it."""
    journal = [entry("r2", 305, key="key-2", latency_ms=5), entry("r1", 1000, latency_ms=1000)]
    (finding,) = build_report(journal)["clients"][0]["findings"]
    assert [(e["requestId"], e["startedAt"]) for e in finding["evidence"]] == [
        ("r1", "2026-11-01T09:00:00.000Z"),
        ("r2", "2026-11-01T09:00:00.300Z"),
    ]


def test_a_same_key_retry_while_processing_is_not_flagged() -> None:
    """Retrying with the same key during processing gets 409, which is the right move."""
    journal = [
        entry("r2", 305, status=409, code="MTCH-0018", retry_after=1, latency_ms=1),
        entry("r1", 1000, latency_ms=1000),
        entry("r3", 1400, replayed=True),
    ]
    assert findings(build_report(journal)) == []


def test_a_key_reused_with_another_body_after_its_answer_is_flagged() -> None:
    """The second body got the first body's stored answer and was never applied."""
    report = build_report([entry("r1", 10), entry("r2", 50, body="B", replayed=True)])
    assert findings(report) == [("key-reused-with-different-body", ["r1", "r2"])]
    assert "1 attempt(s) not applied" in report["clients"][0]["findings"][0]["summary"]


def test_a_key_reused_after_a_refused_attempt_is_not_flagged() -> None:
    """A 4xx is not stored, so the key is free for the corrected body."""
    journal = [entry("r1", 10, status=400, code="MTCH-0001"), entry("r2", 50, body="B")]
    assert findings(build_report(journal)) == []


def test_a_replay_for_another_body_is_reuse_whatever_was_stored() -> None:
    """With storeStatusBelow above 400 a refusal is stored too: a replay for a new body proves the reuse."""
    journal = [entry("r1", 10, status=422, code="MTCH-0001"), entry("r2", 50, body="B", status=422, replayed=True)]
    assert findings(build_report(journal)) == [("key-reused-with-different-body", ["r1", "r2"])]


def test_the_same_key_on_another_exception_is_not_reuse() -> None:
    """Keys are scoped by path: one key on two exceptions is two keys."""
    other = "1a020000-0000-4000-8000-000100000002"
    assert findings(build_report([entry("r1", 10), entry("r2", 50, body="B", exception=other)])) == []


def test_an_unchanged_4xx_sent_again_is_flagged() -> None:
    """The same body to the same exception, refused twice the same way, even under new keys."""
    journal = [
        entry("r1", 10, status=400, code="MTCH-0001"),
        entry("r2", 60, key="key-2", status=400, code="MTCH-0001"),
    ]
    assert findings(build_report(journal)) == [("unchanged-4xx-retried", ["r1", "r2"])]


def test_a_409_state_conflict_sent_again_is_an_unchanged_4xx() -> None:
    """409 MTCH-0507 (the status forbids the transition) is final; only 409 MTCH-0018 asks for a retry."""
    journal = [entry("r1", 10, status=409, code="MTCH-0507"), entry("r2", 60, status=409, code="MTCH-0507")]
    assert findings(build_report(journal)) == [("unchanged-4xx-retried", ["r1", "r2"])]


def test_a_4xx_answered_differently_the_second_time_is_not_unchanged() -> None:
    """A repeat that got another answer changed something (a fixed key header, a created exception)."""
    journal = [entry("r1", 10, key="bad key", status=400, code="MTCH-0015"), entry("r2", 60)]
    assert findings(build_report(journal)) == []


def test_a_retry_before_retry_after_is_flagged() -> None:
    """The 503 asked for 2 s; the retry came 100 ms later."""
    journal = [entry("r1", 10, status=503, code="MTCH-0020", retry_after=2), entry("r2", 112, latency_ms=2)]
    assert findings(build_report(journal)) == [("retry-ignores-retry-after", ["r1", "r2"])]


def test_a_retry_under_a_new_key_is_still_held_to_retry_after() -> None:
    """Retry-After is about the request (exception and body), whatever key the retry carries."""
    journal = [entry("r1", 10, status=429, code="MTCH-0506", retry_after=3), entry("r2", 40, key="key-2")]
    assert findings(build_report(journal)) == [("retry-ignores-retry-after", ["r1", "r2"])]


def test_an_entry_journaled_without_its_body_takes_the_body_of_its_key() -> None:
    """A fault that answered before reading the body leaves no fingerprint; the key links it to its retry."""
    journal = [entry("r1", 10, body=None, status=503, code="MTCH-0020", retry_after=2), entry("r2", 40)]
    assert findings(build_report(journal)) == [("retry-ignores-retry-after", ["r1", "r2"])]


def test_a_retry_after_retry_after_is_not_flagged() -> None:
    """Waiting the whole Retry-After (times cut to the millisecond) is honouring it."""
    journal = [entry("r1", 10, status=429, code="MTCH-0506", retry_after=1), entry("r2", 1011, latency_ms=2)]
    assert findings(build_report(journal)) == []


def test_a_noisy_fixed_interval_is_not_back_off() -> None:
    """Waits of 50, 90 and 55 ms: one long wait in the middle does not make a back-off."""
    journal = [
        entry("r0", 0, status=503, code="MTCH-0020", retry_after=0, latency_ms=1),
        entry("r1", 51, status=503, code="MTCH-0020", retry_after=0, latency_ms=1),
        entry("r2", 142, status=503, code="MTCH-0020", retry_after=0, latency_ms=1),
        entry("r3", 198, latency_ms=1),
    ]
    assert findings(build_report(journal)) == [("retry-without-backoff", ["r0", "r1", "r2", "r3"])]


def test_retries_at_constant_intervals_are_flagged_without_backoff() -> None:
    """Three 503s with Retry-After 0, each retried 50 ms later: the waits never grew."""
    journal = [
        entry(f"r{i}", 10 + 52 * i, status=503, code="MTCH-0020", retry_after=0, latency_ms=2) for i in range(3)
    ] + [entry("r3", 166, latency_ms=2)]
    assert findings(build_report(journal)) == [("retry-without-backoff", ["r0", "r1", "r2", "r3"])]


def test_growing_waits_are_back_off() -> None:
    """Waits of 100, 200 and 400 ms grow."""
    journal = [
        entry("r0", 0, status=500, code="MTCH-0002", latency_ms=1),
        entry("r1", 101, status=500, code="MTCH-0002", latency_ms=1),
        entry("r2", 302, status=500, code="MTCH-0002", latency_ms=1),
        entry("r3", 703, latency_ms=1),
    ]
    assert findings(build_report(journal)) == []


def test_waits_that_honour_retry_after_each_time_are_not_flagged() -> None:
    """The server asked for 1 s each time and got it: no back-off needed on top."""
    journal = [
        entry("r0", 0, status=409, code="MTCH-0018", retry_after=1, latency_ms=1),
        entry("r1", 1002, status=409, code="MTCH-0018", retry_after=1, latency_ms=1),
        entry("r2", 2004, replayed=True, latency_ms=1),
    ]
    assert findings(build_report(journal)) == []


def test_callbacks_without_a_key_are_one_finding_per_client() -> None:
    """Every keyless callback of a client is cited in one finding."""
    journal = [entry("r1", 10, key=None), entry("r2", 20, key=None, body="B"), entry("r3", 30, key="key-3", body="C")]
    assert findings(build_report(journal)) == [("callback-without-key", ["r1", "r2"])]


def test_clients_are_judged_separately() -> None:
    """Another principal sending the same body under another key is not a retry of the first."""
    journal = [entry("r1", 10, fault="lost_response"), entry("r2", 50, key="key-2", principal="acme-servicenow")]
    report = build_report(journal)
    assert [c["principal"] for c in report["clients"]] == ["acme-jira", "acme-servicenow"]
    assert findings(report) == findings(report, "acme-servicenow") == []


def test_the_journal_order_does_not_change_the_report() -> None:
    """Attempts are ordered by when they started, whatever order their answers were journaled in."""
    journal = [
        entry("r1", 10, fault="lost_response"),
        entry("r2", 40, key="key-2"),
        entry("r3", 60, status=400, code="MTCH-0001", body="X"),
        entry("r4", 70, status=400, code="MTCH-0001", body="X"),
        entry("r5", 80, key=None, body="Y"),
    ]
    shuffled = journal[:]
    random.Random(7).shuffle(shuffled)
    assert build_report(shuffled)["clients"] == build_report(journal)["clients"]


def test_a_finding_cites_at_most_twenty_entries() -> None:
    """Long evidence is cut, and says how much was left out."""
    report = build_report([entry(f"r{i}", i * 10, key=None, body=str(i)) for i in range(MAX_CITED + 5)])
    (finding,) = report["clients"][0]["findings"]
    assert (len(finding["evidence"]), finding["omitted"]) == (MAX_CITED, 5)


def test_an_entry_without_a_valid_time_is_named() -> None:
    """A broken `at` raises ValueError naming the entry and the expected form."""
    broken = {**entry("r1", 10), "at": "yesterday"}
    with pytest.raises(ValueError, match=r"'r1' has at='yesterday': expected RFC 3339"):
        build_report([broken])


# --- Two scripted integrators against a live mock -------------------------------------------------------------

RESOLVE = {"externalSystem": "JIRA", "externalIssueId": "RECON-7", "status": "RESOLVED"}
INVALID = {**RESOLVE, "status": "DONE"}
TIMEOUT = 0.5  # both clients' read timeout; the slow faults below outlast it
SCENARIOS = ("lost", "slow", "stale", "busy", "reuse", "invalid", "unavailable", "loop", "nokey")


class Integrator:
    """One client of the callback endpoint; every request names itself with an X-Request-Id."""

    def __init__(self, http: httpx.Client, token: str, prefix: str) -> None:
        self.http = http
        self.token = token
        self.prefix = prefix
        self.sent: list[str] = []

    def send(self, exception: str, body: dict[str, Any], key: str | None, name: str) -> httpx.Response | None:
        """POST one callback; None when no answer came (a dropped connection or the read timeout)."""
        request_id = f"{self.prefix}-{name}"
        self.sent.append(request_id)
        headers = {"Authorization": f"Bearer {self.token}", "X-Request-Id": request_id}
        if key:
            headers["X-Idempotency-Key"] = key
        try:
            return self.http.post(f"/v1/exceptions/{exception}/callback", json=body, headers=headers, timeout=TIMEOUT)
        except httpx.TransportError:
            return None


def bad_client(client: Integrator, targets: dict[str, str]) -> dict[Pattern, list[list[str]]]:
    """Every habit the report exists to catch; returns the findings expected, with their request ids."""
    assert client.send(targets["lost"], RESOLVE, new_key(), "lost-1") is None
    client.send(targets["lost"], RESOLVE, new_key(), "lost-2")
    assert client.send(targets["slow"], RESOLVE, new_key(), "slow-1") is None
    client.send(targets["slow"], RESOLVE, new_key(), "slow-2")
    assert client.send(targets["stale"], RESOLVE, new_key(), "stale-1") is None
    time.sleep(0.6)  # gave up at 0.5 s, retries at 1.1 s: the first attempt was answered (unheard) at 0.8 s
    client.send(targets["stale"], RESOLVE, new_key(), "stale-2")
    key = new_key()
    client.send(targets["reuse"], RESOLVE, key, "reuse-1")
    client.send(targets["reuse"], {**RESOLVE, "externalIssueId": "RECON-8"}, key, "reuse-2")
    client.send(targets["invalid"], INVALID, new_key(), "invalid-1")
    client.send(targets["invalid"], INVALID, new_key(), "invalid-2")
    key = new_key()
    assert status(client.send(targets["unavailable"], RESOLVE, key, "unavailable-1")) == 503
    client.send(targets["unavailable"], RESOLVE, key, "unavailable-2")
    key = new_key()
    assert client.send(targets["busy"], RESOLVE, key, "busy-1") is None
    assert [status(hammer(client, targets["busy"], key, f"busy-{n}")) for n in (2, 3, 4)] == [409] * 3
    key = new_key()
    assert [status(hammer(client, targets["loop"], key, f"loop-{n}")) for n in (1, 2, 3, 4)] == [503] * 3 + [200]
    client.send(targets["nokey"], RESOLVE, None, "nokey-1")

    def ids(*names: str) -> list[str]:
        return [f"{client.prefix}-{name}" for name in names]

    return {
        "new-key-after-lost-response": [ids("lost-1", "lost-2")],
        "new-key-after-timeout": [ids("slow-1", "slow-2")],
        "applied-more-than-once": [ids("stale-1", "stale-2")],
        "key-reused-with-different-body": [ids("reuse-1", "reuse-2")],
        "unchanged-4xx-retried": [ids("invalid-1", "invalid-2")],
        "retry-ignores-retry-after": [ids("unavailable-1", "unavailable-2"), ids("busy-2", "busy-3", "busy-4")],
        "retry-without-backoff": [ids("busy-2", "busy-3", "busy-4"), ids("loop-1", "loop-2", "loop-3", "loop-4")],
        "callback-without-key": [ids("nokey-1")],
    }


def hammer(client: Integrator, exception: str, key: str, name: str) -> httpx.Response | None:
    """The bad client's retry loop: a fixed 50 ms between attempts, whatever the server said."""
    answer = client.send(exception, RESOLVE, key, name)
    time.sleep(0.05)
    return answer


def good_client(client: Integrator, targets: dict[str, str]) -> None:
    """The same situations handled well: one key per body, kept across retries, waits that honour the server."""
    for name in ("lost", "slow", "busy", "unavailable", "loop", "nokey"):
        assert status(deliver(client, targets[name], RESOLVE, name)) == 200
    assert status(deliver(client, targets["reuse"], RESOLVE, "reuse-a")) == 200
    assert status(deliver(client, targets["reuse"], {**RESOLVE, "externalIssueId": "RECON-8"}, "reuse-b")) == 200
    assert status(deliver(client, targets["invalid"], INVALID, "invalid")) == 400
    assert status(deliver(client, targets["invalid"], RESOLVE, "invalid-fixed")) == 200


def deliver(client: Integrator, exception: str, body: dict[str, Any], name: str) -> httpx.Response | None:
    """A good delivery: retry only what may succeed, with the same key, after max(Retry-After, back-off)."""
    key, backoff = new_key(), 0.1
    for attempt in range(1, 6):
        answer = client.send(exception, body, key, f"{name}-{attempt}")
        if answer is not None and not (answer.status_code in (429, 500, 503) or is_in_flight(answer)):
            return answer
        retry_after = float(answer.headers.get("Retry-After", 0)) if answer is not None else 0.0
        time.sleep(max(retry_after, backoff) + random.uniform(0.01, 0.02))
        backoff *= 2
    return None


def is_in_flight(answer: httpx.Response) -> bool:
    return answer.status_code == 409 and answer.json().get("code") == "MTCH-0018"


def status(answer: httpx.Response | None) -> int | None:
    return answer.status_code if answer is not None else None


def new_key() -> str:
    return str(uuid.uuid4())


def provision(http: httpx.Client) -> dict[str, str]:
    """A fresh OPEN exception per scenario, and the faults each scenario meets."""
    targets = {}
    for name in SCENARIOS:
        created = http.post("/_mock/exceptions", headers=ADMIN, json={"tenant": ACME, "status": "OPEN"})
        targets[name] = created.json()["id"]
    rules = {
        "lost": {"action": "lost_response", "times": 1},
        "slow": {"action": "slow_processing", "ms": 1000, "times": 1},
        "stale": {"action": "latency", "ms": 800, "times": 1},
        "busy": {"action": "slow_processing", "ms": 1000, "times": 1},
        "unavailable": {"action": "status", "status": 503, "retryAfter": 1, "times": 1},
        "loop": {"action": "status", "status": 503, "retryAfter": 0, "times": 3},
    }
    for name, rule in rules.items():
        assert http.post(
            "/_mock/faults", headers=ADMIN, json={**rule, "match": {"exceptionId": targets[name]}}
        ).is_success
    return targets


def wait_for_journal(http: httpx.Client, request_ids: list[str]) -> None:
    """Poll until every request is journaled (the slow ones finish after their client gave up); at most 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        journaled = {e["requestId"] for e in http.get("/_mock/journal", headers=ADMIN, params={"limit": 1000}).json()}
        if journaled >= set(request_ids):
            return
        time.sleep(0.05)
    raise AssertionError(f"never journaled: {sorted(set(request_ids) - journaled)}")


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMock]:
    with running_mock("memory://", tmp_path_factory.mktemp("report")) as live:
        yield live


@pytest.fixture(scope="module")
def scripted(mock: LiveMock) -> dict[str, Any]:
    """Both integrators' sessions on a freshly reset mock: what each was expected to earn, and the report."""
    with httpx.Client(base_url=mock.url, timeout=10) as http:
        assert http.post("/_mock/reset", headers=ADMIN).status_code == 200
        bad = Integrator(http, ACME_SERVICENOW_TOKEN, "bad")
        good = Integrator(http, ACME_TOKEN, "good")
        expected = bad_client(bad, provision(http))
        good_client(good, provision(http))
        wait_for_journal(http, bad.sent + good.sent)
        answer = http.get("/_mock/report", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return {"expected": expected, "report": answer.json(), "bad": bad.sent, "good": good.sent}


@pytest.mark.parametrize("pattern", get_args(Pattern))
def test_the_bad_client_is_flagged_for_each_habit_with_its_requests(scripted: dict[str, Any], pattern: str) -> None:
    """Each bad habit is one finding per occurrence, citing exactly the requests involved."""
    expected = scripted["expected"].get(pattern, [])
    flagged = [ids for name, ids in findings(scripted["report"], "acme-servicenow") if name == pattern]
    assert flagged == expected


def test_the_bad_client_has_no_finding_beyond_its_habits(scripted: dict[str, Any]) -> None:
    """Nothing is flagged that the script did not do on purpose."""
    (bad,) = [c for c in scripted["report"]["clients"] if c["principal"] == "acme-servicenow"]
    assert len(bad["findings"]) == sum(len(v) for v in scripted["expected"].values())
    assert bad["verdict"] == f"{len(bad['findings'])} findings"


def test_the_good_client_is_clean(scripted: dict[str, Any]) -> None:
    """Same faults, good habits: no finding at all."""
    (good,) = [c for c in scripted["report"]["clients"] if c["principal"] == "acme-jira"]
    assert (good["verdict"], good["findings"]) == ("clean", [])


def test_the_counts_are_what_each_client_sent(scripted: dict[str, Any]) -> None:
    """Requests per client match what the scripts sent; the good client's retries were replays."""
    counts = {c["principal"]: c["counts"] for c in scripted["report"]["clients"]}
    assert counts["acme-servicenow"]["requests"] == len(scripted["bad"])
    assert counts["acme-jira"]["requests"] == len(scripted["good"])
    assert counts["acme-servicenow"]["withoutKey"] == 1
    assert counts["acme-jira"]["withoutKey"] == 0
    assert counts["acme-jira"]["replays"] >= 2  # after the lost answer and after the slow one
    assert counts["acme-jira"]["lostResponses"] == counts["acme-servicenow"]["lostResponses"] == 1


def test_the_report_needs_the_admin_token(mock: LiveMock) -> None:
    """GET /_mock/report without the admin token is a 401."""
    assert httpx.get(f"{mock.url}/_mock/report").status_code == 401


# --- callback-kit report ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_mock(mock: LiveMock) -> LiveMock:
    """The mock, reset to the fixtures with an empty journal (`scripted` keeps its report, not the mock's state)."""
    assert httpx.post(f"{mock.url}/_mock/reset", headers=ADMIN).status_code == 200
    return mock


def report_command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="callback-kit report")
    report_cli.add_arguments(parser)
    return report_cli.run(parser.parse_args(list(argv)))


def test_the_command_prints_each_finding_with_its_request_ids_and_exits_1(
    cli_mock: LiveMock, capsys: pytest.CaptureFixture[str]
) -> None:
    """A keyless callback: exit 1, the client, the pattern, the request id and the advice are printed."""
    with httpx.Client(base_url=cli_mock.url) as http:
        Integrator(http, ACME_TOKEN, "cli").send(ACME_OPEN, RESOLVE, None, "nokey")
    assert report_command("--base-url", cli_mock.url) == 1
    out = capsys.readouterr().out
    assert "Retry report of 1 journal entry (" in out
    assert "acme-jira (tenant 7c2e1b9a-4d35-4a8f-9b61-2f0d8e3c5a10): 1 request, 0 replays" in out
    assert "[callback-without-key] 1 callback(s) carried no idempotency key" in out
    assert "cli-nokey  200, no key" in out
    assert f"advice: {ADVICE['callback-without-key']}" in out


def test_the_command_exits_0_when_every_client_is_clean(cli_mock: LiveMock, capsys: pytest.CaptureFixture[str]) -> None:
    """A keyed callback only: exit 0 and the verdict clean."""
    with httpx.Client(base_url=cli_mock.url) as http:
        Integrator(http, ACME_TOKEN, "cli").send(ACME_OPEN, RESOLVE, new_key(), "keyed")
    assert report_command("--base-url", cli_mock.url + "/") == 0
    out = capsys.readouterr().out
    assert "acme-jira" in out
    assert out.rstrip().endswith("-- clean")


def test_the_command_prints_json_with_json(cli_mock: LiveMock, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the report the admin API answers."""
    assert report_command("--base-url", cli_mock.url, "--json") == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "clean"


def test_the_command_exits_2_when_the_mock_cannot_be_reached(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening: exit 2 and the URL in the message."""
    url = f"http://127.0.0.1:{free_port()}"
    assert report_command("--base-url", url) == 2
    assert f"cannot reach {url}/_mock/report" in capsys.readouterr().err


def test_the_command_exits_2_when_the_token_is_refused(cli_mock: LiveMock, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong admin token: exit 2, saying so."""
    assert report_command("--base-url", cli_mock.url, "--admin-token", "wrong") == 2
    assert "refused the admin token (401)" in capsys.readouterr().err


def test_the_command_exits_2_on_a_base_url_that_is_not_http(capsys: pytest.CaptureFixture[str]) -> None:
    """A base URL without a scheme is a usage error with an example."""
    assert report_command("--base-url", "127.0.0.1:8080") == 2
    assert "e.g. http://127.0.0.1:8080" in capsys.readouterr().err
