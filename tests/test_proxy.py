"""The validating proxy in front of the kit's mock and of deliberately broken servers, over real connections."""

from __future__ import annotations

import concurrent.futures
import copy
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path

import httpx
import pytest
import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.cli import main
from callback_kit.contract import CALLBACK_PATH, load_spec
from callback_kit.contract.schemas import validator
from tests.broken_servers import mock, no_replay_header, replay_with_other_body, stores_failed_responses
from tests.clause_servers import echoes_no_request_id, no_retry_after, no_www_authenticate, validation_errors_422
from tests.live import free_port
from tests.proxy_support import (
    ADMIN,
    ASSIGN,
    OPEN_ID,
    OTHER_OPEN_ID,
    RESOLVE,
    RESOLVED_ID,
    TOKEN,
    Proxied,
    proxied,
    proxying,
)


@pytest.fixture(scope="module")
def behind_mock() -> Iterator[Proxied]:
    """The proxy in front of the kit's mock, shared by the tests of this module that reset both first."""
    with proxied(mock()) as both:
        yield both


@pytest.fixture
def good(behind_mock: Proxied) -> Proxied:
    """The proxy and the mock behind it, both reset, without fault rules."""
    for client in (behind_mock.proxy, behind_mock.upstream):
        assert client.post("/_mock/reset", headers=ADMIN).status_code == 200
        assert client.delete("/_mock/faults", headers=ADMIN).status_code == 204
    return behind_mock


RESOLVE_OTHER = {"externalSystem": "JIRA", "externalIssueId": "RECON-8", "status": "RESOLVED"}


def version(both: Proxied, exception_id: str = OPEN_ID) -> int:
    return int(both.upstream.get(f"/_mock/exceptions/{exception_id}", headers=ADMIN).json()["version"])


def report_command(url: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["report", "--base-url", url], environ={})
    return code, out.getvalue()


def test_a_normal_session_with_replays_through_the_proxy_is_clean(good: Proxied) -> None:
    """A first callback, its replay, a refused transition and an unknown exception: no violation, a clean report."""
    first = good.callback(key="session-1")
    again = good.callback(key="session-1")
    refused = good.callback(RESOLVED_ID, body=ASSIGN)
    unknown = good.callback("0a000000-0000-4000-8000-000000000000")
    assert [first.status_code, again.status_code, refused.status_code, unknown.status_code] == [200, 200, 409, 404]
    assert (first.headers["X-Idempotency-Replayed"], again.headers["X-Idempotency-Replayed"]) == ("false", "true")
    assert good.violations() == []
    assert good.report()["verdict"] == "clean"
    code, text = report_command(str(good.proxy.base_url))
    assert (code, text.splitlines()[0].endswith(": clean")) == (0, True)


def test_a_key_reused_with_another_body_is_the_clients_finding_not_the_servers(good: Proxied) -> None:
    """The mock replays the first answer (onDifferentBody: replay): no violation, and the report names the client."""
    good.callback(key="reused-0")
    reused = good.callback(key="reused-0", body=RESOLVE_OTHER)
    assert (reused.status_code, reused.headers["X-Idempotency-Replayed"]) == (200, "true")
    assert good.violations() == []
    [client] = good.report()["clients"]
    assert [finding["pattern"] for finding in client["findings"]] == ["key-reused-with-different-body"]


def race(both: Proxied, key: str) -> tuple[httpx.Response, httpx.Response]:
    """A callback held 600 ms upstream, and its twin sent once the proxy holds the key."""
    rule = {"action": "slow_processing", "ms": 600, "times": 1}
    assert both.upstream.post("/_mock/faults", headers=ADMIN, json=rule).status_code == 201
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(both.callback, key=key)
        records: list[dict[str, str]] = []
        while not any(key in r["scopeKey"] for r in records) and not slow.done():
            records = both.proxy.get("/_mock/idempotency", headers=ADMIN).json()  # until the proxy holds the key
            time.sleep(0.01)  # readiness poll
        second = both.callback(key=key)
    return slow.result(), second


def test_a_key_in_flight_is_judged_against_the_409_the_upstream_gives(good: Proxied) -> None:
    """Two requests with one key at once: the upstream's 409 with Retry-After keeps the in-flight clause."""
    slow, second = race(good, "racing-1")
    assert (slow.status_code, second.status_code) == (200, 409)
    assert good.violations() == []


def test_an_in_flight_answer_without_retry_after_is_named(tmp_path: Path) -> None:
    """The upstream's in-flight 409 without Retry-After breaks in_flight_refused and carries_declared_headers."""
    with proxied(no_retry_after(tmp_path)) as both:
        slow, second = race(both, "racing-2")
        assert (slow.status_code, second.status_code, second.headers.get("Retry-After")) == (200, 409, None)
        assert both.violations() == ["carries_declared_headers", "in_flight_refused"]


def test_the_proxy_leaves_requests_and_answers_as_they_were(tmp_path: Path) -> None:
    """A header the client sent reaches the upstream, and the upstream's own headers and bytes reach the client."""
    seen: list[dict[bytes, bytes]] = []

    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        seen.append(dict(scope["headers"]))
        headers = [(b"content-type", b"text/plain"), (b"x-upstream", b"kept")]
        await send({"type": "http.response.start", "status": 218, "headers": headers})
        await send({"type": "http.response.body", "body": b"  exact bytes \n"})

    with proxied(echo) as both:
        answer = both.proxy.get("/anything/else?x=1", headers={"X-Trace": "t-1", "Authorization": "Bearer s"})
    assert (answer.status_code, answer.content, answer.headers["x-upstream"]) == (218, b"  exact bytes \n", "kept")
    assert seen[0][b"x-trace"] == b"t-1"
    assert seen[0][b"authorization"] == b"Bearer s"


def test_an_upstream_that_is_down_gets_502_with_the_spec_error_body() -> None:
    """Nothing listens upstream: 502 in the contract's error shape, and the journal records it."""
    with proxying(f"http://127.0.0.1:{free_port()}") as url, httpx.Client(base_url=url) as client:
        answer = client.post(
            f"/v1/exceptions/{OPEN_ID}/callback",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Idempotency-Key": "down-1"},
            json={"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOLVED"},
        )
        entries = client.get("/_mock/journal", headers=ADMIN).json()
    spec = load_spec()
    assert answer.status_code == 502
    assert validator(spec["components"]["schemas"]["Error"], spec).is_valid(answer.json())
    assert answer.json()["code"] == "MTCH-0021"
    assert [(e["status"], e["violations"]) for e in entries] == [(502, [])]


@pytest.mark.parametrize(
    ("flaw", "expected"),
    [
        (replay_with_other_body, ["is_replay_of"]),
        (
            no_replay_header,
            [
                *("response_conforms", "carries_declared_headers", "says_not_replayed"),
                *("response_conforms", "carries_declared_headers", "is_replay_of"),
            ],
        ),
    ],
    ids=["replay-with-other-bytes", "no-replay-header"],
)
def test_a_broken_replay_is_named_by_its_check(flaw: object, expected: list[str], tmp_path: Path) -> None:
    """A first processing and its retry through the proxy: each broken clause is named by the suite's check."""
    assert callable(flaw)
    with proxied(flaw(tmp_path)) as both:
        both.callback(key="flawed-1")
        both.callback(key="flawed-1")
        assert both.violations() == expected
        assert both.report()["verdict"] == f"{len(expected)} server violation{'s' if len(expected) > 1 else ''}"


def reject_spec(tmp: Path) -> Path:
    """The kit's spec with `onDifferentBody: reject`."""
    spec = copy.deepcopy(load_spec())
    spec["paths"][CALLBACK_PATH]["post"]["x-idempotency"]["onDifferentBody"] = "reject"
    path = tmp / "reject.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("policy", "expected"), [("reject", []), ("replay", ["rejected_with"])], ids=["server-rejects", "server-replays"]
)
def test_a_key_reused_with_another_body_follows_the_specs_policy(
    policy: str, expected: list[str], tmp_path: Path
) -> None:
    """Judged by a spec that says reject: a server that answers 422 keeps it, one that replays breaks it."""
    spec = reject_spec(tmp_path)
    with proxied(mock(spec if policy == "reject" else None), spec) as both:
        both.callback(key="reused-1")
        again = both.callback(key="reused-1", body=RESOLVE_OTHER)
        assert again.status_code == (422 if policy == "reject" else 200)
        assert both.violations() == expected


def test_a_replay_header_that_lies_is_named() -> None:
    """A server that says a replay was a first processing breaks is_replay_of (the other lie, 'true' on a key the
    proxy holds no answer for, cannot be told from a replay of a key it never saw answered)."""
    inner = mock()

    async def liar(scope: Scope, receive: Receive, send: Send) -> None:
        async def flip(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, b"false" if v == b"true" else v) for k, v in message["headers"]]
                message = {**message, "headers": headers}
            await send(message)

        await inner(scope, receive, flip)

    with proxied(liar) as both:
        both.callback(key="liar-1")
        both.callback(key="liar-1")
        assert both.violations() == ["is_replay_of"]


def test_a_replayed_4xx_is_named(tmp_path: Path) -> None:
    """A refused callback retried with its key comes back as a replay: answers of 400 or more are never stored."""
    with proxied(stores_failed_responses(tmp_path)) as both:
        first = both.callback(RESOLVED_ID, key="refused-1", body=ASSIGN)
        again = both.callback(RESOLVED_ID, key="refused-1", body=ASSIGN)
        assert (first.status_code, again.status_code, again.headers["X-Idempotency-Replayed"]) == (409, 409, "true")
        # The flaw also drops X-Request-Id from the replay: three checks name that.
        dropped = ["response_conforms", "carries_declared_headers", "request_id_echoed"]
        assert both.violations() == [*dropped, "not_replayed"]
        code, text = report_command(str(both.proxy.base_url))
    assert code == 1
    assert "[not_replayed]" in text


def answers_as_declared(both: Proxied) -> None:
    """A callback with the client's X-Request-Id, a body without its status, and one without a token."""
    path, bearer = f"/v1/exceptions/{OPEN_ID}/callback", {"Authorization": f"Bearer {TOKEN}"}
    both.proxy.post(path, json=RESOLVE, headers={**bearer, "X-Idempotency-Key": "d-1", "X-Request-Id": "ck-d-1"})
    both.callback(key="d-2", body={"externalSystem": "JIRA", "externalIssueId": "RECON-9"})
    both.proxy.post(path, json=RESOLVE_OTHER, headers={"X-Idempotency-Key": "d-3"})


@pytest.mark.parametrize(
    ("flaw", "expected"),
    [
        (None, [[], ["request_conforms"], []]),
        (echoes_no_request_id, [["request_id_echoed"], ["request_conforms"], []]),
        (validation_errors_422, [[], ["request_conforms", "code_pairs_with_status"], []]),
        (no_www_authenticate, [[], ["request_conforms"], ["response_conforms", "carries_declared_headers"]]),
    ],
    ids=["mock", "echoes-no-request-id", "validation-errors-422", "no-www-authenticate"],
)
def test_answers_are_judged_as_the_spec_declares_them(
    flaw: Callable[[Path], ASGIApp] | None, expected: list[list[str]], tmp_path: Path
) -> None:
    """The request id echoed, an error code its status may carry, a 401's WWW-Authenticate: each flaw is named by
    the suite's check; in front of the mock only the client's own broken requests are."""
    upstream = mock() if flaw is None else flaw(tmp_path)
    with proxied(upstream) as both:
        answers_as_declared(both)
        assert [[v["check"] for v in entry["violations"]] for entry in both.journal()] == expected


def test_a_lost_answer_through_the_proxy_is_applied_once_when_the_client_retries_with_its_key(good: Proxied) -> None:
    """The upstream applies the callback, the client's connection closes unanswered, the retry is a replay."""
    rule = {"action": "lost_response", "times": 1}
    assert good.proxy.post("/_mock/faults", headers=ADMIN, json=rule).status_code == 201
    with pytest.raises(httpx.TransportError):
        good.callback(key="lost-1")
    retry = good.callback(key="lost-1")
    assert (retry.status_code, retry.headers["X-Idempotency-Replayed"]) == (200, "true")
    assert version(good) == 2  # applied once
    assert good.violations() == []
    assert good.report()["verdict"] == "clean"


def test_a_client_that_retries_a_lost_answer_under_a_new_key_is_graded(good: Proxied) -> None:
    """The retry under a new key is applied again upstream; the report names new-key-after-lost-response."""
    rule = {"action": "lost_response", "times": 1, "match": {"exceptionId": OTHER_OPEN_ID}}
    assert good.proxy.post("/_mock/faults", headers=ADMIN, json=rule).status_code == 201
    with pytest.raises(httpx.TransportError):
        good.callback(OTHER_OPEN_ID, key="try-1")
    assert good.callback(OTHER_OPEN_ID, key="try-2").headers["X-Idempotency-Replayed"] == "false"
    assert version(good, OTHER_OPEN_ID) == 3  # applied twice
    [client] = good.report()["clients"]
    [finding] = client["findings"]
    assert finding["pattern"] == "new-key-after-lost-response"
    assert "applied 2 times" in finding["summary"]
    assert report_command(str(good.proxy.base_url))[0] == 1


def test_a_forced_status_is_answered_by_the_proxy_and_never_forwarded(good: Proxied) -> None:
    """A status rule answers 503 with Retry-After from the proxy; the upstream sees nothing."""
    rule = {"action": "status", "status": 503, "retryAfter": 4}
    assert good.proxy.post("/_mock/faults", headers=ADMIN, json=rule).status_code == 201
    answer = good.callback(key="forced-1")
    assert (answer.status_code, answer.headers["Retry-After"], answer.json()["code"]) == (503, "4", "MTCH-0020")
    assert good.upstream.get("/_mock/journal", headers=ADMIN).json() == []
    assert [e["fault"]["action"] for e in good.journal()] == ["status"]


def test_a_latency_fault_delays_the_forward_and_stays_with_the_proxy(good: Proxied) -> None:
    """X-Mock-Fault latency=200 is applied by the proxy; the upstream sees neither the header nor a fault."""
    answer = good.callback(key="slow-1", **{"X-Mock-Fault": "latency=200"})
    [entry] = good.journal()
    [upstream_entry] = good.upstream.get("/_mock/journal", headers=ADMIN).json()
    assert answer.status_code == 200
    assert (entry["fault"]["action"], entry["latencyMs"] >= 200) == ("latency", True)
    assert upstream_entry["fault"] is None


@pytest.mark.parametrize("header", ["latency=nan", "latency=100-nan", "latency=900-100", "status=503;retry-after=-1"])
def test_a_fault_header_past_the_limits_is_the_proxys_400_in_the_spec_body(good: Proxied, header: str) -> None:
    """A header the admin API's limits refuse is a 400 MTCH-0001 JSON body from the proxy, never a plain 500."""
    answer = good.callback(key="bad-fault", **{"X-Mock-Fault": header})
    assert (answer.status_code, answer.headers["content-type"]) == (400, "application/json")
    assert (answer.json()["code"], answer.json()["details"]["field"]) == ("MTCH-0001", "X-Mock-Fault")
    assert header in answer.json()["message"]
    assert good.upstream.get("/_mock/journal", headers=ADMIN).json() == []


def test_a_fault_rule_on_a_tenant_is_refused_by_the_proxy_that_knows_none(good: Proxied) -> None:
    """The proxy checks no tokens, so a rule matching a tenant could never fire: 400 naming the field and why."""
    rule = {"action": "lost_response", "match": {"tenant": "acme"}, "times": 1}
    answer = good.proxy.post("/_mock/faults", headers=ADMIN, json=rule)
    assert (answer.status_code, answer.json()["code"], answer.json()["details"]) == (
        400, "MTCH-0001", {"field": "match.tenant"},
    )  # fmt: skip
    assert "never fire" in answer.json()["message"]
    assert good.proxy.get("/_mock/faults", headers=ADMIN).json() == []


def test_a_clients_bad_requests_are_reported_as_the_clients_not_the_servers(good: Proxied) -> None:
    """Requests that break the spec, to the kit's mock: the report names the client; the server has no violation."""
    good.callback(body={"externalSystem": "JIRA", "status": "NOT-A-STATUS"})
    good.callback(body={"status": "RESOLVED"})
    report = good.report()
    code, text = report_command(str(good.proxy.base_url))
    assert report["violations"] == []
    assert [(v["check"], v["party"]) for v in report["clientViolations"]] == [("request_conforms", "client")] * 2
    assert (code, report["verdict"]) == (1, "2 client violations")
    assert "Requests that break the contract (the clients') (2):" in text
    assert "server" not in text


def test_secrets_never_reach_the_journal_or_the_log(good: Proxied, caplog: pytest.LogCaptureFixture) -> None:
    """Neither the bearer token nor the admin token appears in the journal, the report or the proxy's log."""
    with caplog.at_level(logging.DEBUG, logger="callback_kit"):
        good.callback(key="secret-1", body={"externalSystem": "JIRA", "externalIssueId": TOKEN, "status": "OPEN"})
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        good.proxy.post(f"/v1/exceptions/{OPEN_ID}/callback", headers=bearer, content=b"x")
        shown = json.dumps([good.journal(), good.report()]) + caplog.text
    assert good.violations()  # the broken requests were judged and logged
    assert TOKEN not in shown
    assert "kit-admin-token" not in shown


def test_the_proxy_without_an_upstream_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """No --upstream: one line naming the option and an example, exit 2."""
    assert main(["proxy"], environ={}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--upstream is required" in err
    assert "https://" in err


def test_a_bad_upstream_variable_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """CALLBACK_KIT_UPSTREAM that is not an http(s) URL is refused in one line, exit 2."""
    assert main(["proxy"], environ={"CALLBACK_KIT_UPSTREAM": "ftp://staging"}) == 2
    assert capsys.readouterr().err.strip() == (
        "callback-kit proxy: --upstream 'ftp://staging': give the real server's http(s) base URL, "
        "e.g. https://matcher.staging.example.com"
    )


def test_an_upstream_with_a_password_is_refused_without_showing_it(capsys: pytest.CaptureFixture[str]) -> None:
    """User and password in --upstream would replace the client's Authorization: refused, the password masked."""
    assert main(["proxy", "--upstream", "https://ci:s3cret@staging.example.com"], environ={}) == 2
    err = capsys.readouterr().err
    assert "carries a user or password" in err
    assert "s3cret" not in err
