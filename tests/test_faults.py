"""Each injected fault, as a client sees it over a real connection to `callback-kit serve`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from callback_kit.mock_server.errors import BadRequest
from callback_kit.mock_server.faults import parse_header, parse_rule
from tests.live import ADMIN, LiveMock, running_mock

TOKEN = {"Authorization": "Bearer acme-integration-token"}
OPEN_IDS = ["1a010000-0000-4000-8000-000100000001", "1a020000-0000-4000-8000-000100000002"]
RESOLVE = {"externalSystem": "JIRA", "externalIssueId": "RECON-9", "status": "RESOLVED"}


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMock]:
    with running_mock("memory://", tmp_path_factory.mktemp("faults")) as live:
        yield live


@pytest.fixture
def http(mock: LiveMock) -> Iterator[httpx.Client]:
    """A client on a freshly reset mock with no fault rules."""
    with httpx.Client(base_url=mock.url, timeout=10) as client:
        assert client.post("/_mock/reset", headers=ADMIN).status_code == 200
        assert client.delete("/_mock/faults", headers=ADMIN).status_code == 204
        yield client


def callback(http: httpx.Client, key: str, *, fault: str | None = None, target: str = OPEN_IDS[0]) -> httpx.Response:
    headers = {**TOKEN, "X-Idempotency-Key": key, **({"X-Mock-Fault": fault} if fault else {})}
    return http.post(f"/v1/exceptions/{target}/callback", json=RESOLVE, headers=headers)


def version(http: httpx.Client, exception_id: str = OPEN_IDS[0]) -> int:
    return int(http.get(f"/_mock/exceptions/{exception_id}", headers=ADMIN).json()["version"])


def test_a_lost_response_is_applied_and_replayed_on_retry(http: httpx.Client) -> None:
    """The connection drops without an answer, the callback is applied, and the retry with the same key replays."""
    key = str(uuid.uuid4())
    with pytest.raises(httpx.TransportError):
        callback(http, key, fault="lost-response")
    assert version(http) == 2
    retry = callback(http, key)
    assert (retry.status_code, retry.headers["X-Idempotency-Replayed"]) == (200, "true")
    assert retry.json() == {"status": "accepted"}
    assert version(http) == 2


def test_a_rule_lists_the_firings_it_has_left_and_shows_spent_once_used_up(http: httpx.Client) -> None:
    """`remaining` counts down from `times` to 0, where the spent rule stays listed; a rule without `times` has null."""
    limited = http.post("/_mock/faults", headers=ADMIN, json={"action": "latency", "ms": 1, "times": 2}).json()
    http.post("/_mock/faults", headers=ADMIN, json={"action": "latency", "ms": 1, "probability": 0.000001})
    assert limited["remaining"] == 2

    def left() -> list[int | None]:
        return [rule["remaining"] for rule in http.get("/_mock/faults", headers=ADMIN).json()]

    counted = [left()]
    for _ in range(3):
        callback(http, str(uuid.uuid4()))
        counted.append(left())
    assert counted == [[2, None], [1, None], [0, None], [0, None]]


def test_only_the_first_matching_rule_fires_and_the_next_keeps_its_firings(http: httpx.Client) -> None:
    """Two rules match a request: the first fires (503), the second neither fires nor counts, its `remaining` kept."""
    http.post("/_mock/faults", headers=ADMIN, json={"action": "status", "status": 503, "times": 1})
    http.post("/_mock/faults", headers=ADMIN, json={"action": "status", "status": 429, "times": 1})
    first = callback(http, str(uuid.uuid4()))
    assert first.status_code == 503
    assert [rule["remaining"] for rule in http.get("/_mock/faults", headers=ADMIN).json()] == [0, 1]
    assert callback(http, str(uuid.uuid4())).status_code == 429  # the first spent, the second is tried


def test_a_lost_response_rule_fires_for_the_next_request_only(http: httpx.Client) -> None:
    """A rule with times=1 drops one answer; the next request is answered normally."""
    rule = http.post("/_mock/faults", headers=ADMIN, json={"action": "lost_response", "times": 1})
    assert rule.status_code == 201
    with pytest.raises(httpx.TransportError):
        callback(http, str(uuid.uuid4()))
    second = callback(http, str(uuid.uuid4()), target=OPEN_IDS[1])
    assert (second.status_code, second.headers["X-Idempotency-Replayed"]) == (200, "false")


@pytest.mark.parametrize(("status", "code"), [(429, "MTCH-0506"), (500, "MTCH-0002"), (503, "MTCH-0020")])
def test_a_forced_status_answers_the_spec_error_and_applies_nothing(http: httpx.Client, status: int, code: str) -> None:
    """A forced 429, 500 or 503 carries the spec's error body (and Retry-After where due); state is untouched."""
    answer = callback(http, str(uuid.uuid4()), fault=f"status={status};retry-after=7")
    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert answer.headers["content-type"] == "application/json"
    if status != 500:
        assert answer.headers["Retry-After"] == "7"
    assert version(http) == 1


def test_a_forced_status_leaves_the_key_free_for_the_retry(http: httpx.Client) -> None:
    """After a forced 503 the same key is processed normally."""
    key = str(uuid.uuid4())
    assert callback(http, key, fault="status=503").status_code == 503
    retry = callback(http, key)
    assert (retry.status_code, retry.headers["X-Idempotency-Replayed"]) == (200, "false")


def test_latency_delays_the_answer(http: httpx.Client) -> None:
    """A latency fault of 300 ms makes the answer take at least that long."""
    started = time.monotonic()
    answer = callback(http, str(uuid.uuid4()), fault="latency=300")
    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_rule_matches_only_its_tenant_and_system(http: httpx.Client) -> None:
    """A rule for SERVICENOW does not touch a JIRA callback."""
    http.post(
        "/_mock/faults",
        headers=ADMIN,
        json={"action": "status", "status": 503, "match": {"externalSystem": "servicenow"}},
    )
    assert callback(http, str(uuid.uuid4())).status_code == 200


def test_slow_processing_opens_the_409_window_for_a_concurrent_retry(mock: LiveMock, http: httpx.Client) -> None:
    """While the first attempt is held in flight, the retry with the same key gets 409 and Retry-After."""
    key = str(uuid.uuid4())

    async def race() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=mock.url, timeout=10) as client:
            headers = {**TOKEN, "X-Idempotency-Key": key}
            url = f"/v1/exceptions/{OPEN_IDS[0]}/callback"
            first = asyncio.create_task(
                client.post(url, json=RESOLVE, headers={**headers, "X-Mock-Fault": "slow-processing=1500"})
            )
            await wait_until_claimed(client, key)
            second = await client.post(url, json=RESOLVE, headers=headers)
            return await first, second

    first, second = asyncio.run(race())
    assert (first.status_code, first.headers["X-Idempotency-Replayed"]) == (200, "false")
    assert second.status_code == 409
    assert second.json()["code"] == "MTCH-0018"
    assert int(second.headers["Retry-After"]) >= 1


async def wait_until_claimed(client: httpx.AsyncClient, key: str) -> None:
    """Poll the admin API until the key is in flight (bounded)."""
    for _ in range(200):
        records = (await client.get("/_mock/idempotency", headers=ADMIN)).json()
        if any(key in r["scopeKey"] and r["state"] == "in_flight" for r in records):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the slow request never claimed its key")


def test_a_malformed_fault_header_is_a_400_naming_the_forms(http: httpx.Client) -> None:
    """An unknown fault in the header is refused with the accepted forms."""
    answer = callback(http, str(uuid.uuid4()), fault="explode")
    assert answer.status_code == 400
    assert "lost-response" in answer.json()["message"]


BAD_HEADERS = {
    "latency=nan": "600000",
    "slow-processing=nan": "600000",
    "latency=100-nan": "600000",
    "latency=inf": "600000",
    "latency=600001": "600000",
    "latency=99999999": "600000",
    "latency=900-100": "minMs",
    "status=503;retry-after=-1": "3600",
}


@pytest.mark.parametrize(("header", "limit"), BAD_HEADERS.items())
def test_a_fault_header_past_the_limits_is_a_400_naming_header_value_and_limit(
    http: httpx.Client, header: str, limit: str
) -> None:
    """A header whose values the admin API would refuse is a 400 MTCH-0001 in the spec's body, never a 500."""
    answer = callback(http, str(uuid.uuid4()), fault=header)
    body = answer.json()
    assert (answer.status_code, body["code"], body["details"]["field"]) == (400, "MTCH-0001", "X-Mock-Fault")
    assert header in body["message"]
    assert limit in body["message"]


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "latency", "ms": float("inf")},
        {"action": "latency", "ms": 600_001},
        {"action": "latency", "minMs": 900, "maxMs": 100},
        {"action": "slow_processing", "ms": float("nan")},
        {"action": "status", "status": 503, "retryAfter": -1},
    ],
)
def test_the_header_and_the_admin_api_refuse_the_same_values(rule: dict[str, object]) -> None:
    """The header parser and the admin rules share one check, so a value one refuses the other refuses too."""
    with pytest.raises(BadRequest) as refused:
        parse_rule(rule)
    field = (refused.value.details or {})["field"]
    if rule["action"] == "status":
        header = f"status={rule['status']};retry-after={rule['retryAfter']}"
    else:
        low, high = rule.get("minMs", rule.get("ms")), rule.get("maxMs")
        header = f"{str(rule['action']).replace('_', '-')}={low}" + (f"-{high}" if high is not None else "")
    with pytest.raises(BadRequest) as also:
        parse_header(header)
    assert (also.value.details or {})["rule"] == field


def test_a_bad_rule_is_refused_with_the_field_named(http: httpx.Client) -> None:
    """The admin API refuses a rule with an unknown status, naming the field."""
    answer = http.post("/_mock/faults", headers=ADMIN, json={"action": "status", "status": 418})
    assert answer.status_code == 400
    assert answer.json()["details"]["field"] == "status"


def test_the_journal_records_the_fault(http: httpx.Client) -> None:
    """A journal entry names the fault that hit its request."""
    callback(http, str(uuid.uuid4()), fault="status=503")
    (entry,) = http.get("/_mock/journal", headers=ADMIN, params={"limit": 1}).json()
    assert entry["fault"]["action"] == "status"
    assert entry["status"] == 503
    assert entry["retryAfter"] == 1


def test_faults_leave_other_paths_alone(tmp_path: Path, http: httpx.Client) -> None:
    """The admin API answers normally whatever fault rules are active."""
    http.post("/_mock/faults", headers=ADMIN, json={"action": "status", "status": 500})
    assert http.get("/_mock/exceptions", headers=ADMIN).status_code == 200
