"""A stop while a fault holds a request (latency, slow processing): the mock and the proxy, as real processes."""

from __future__ import annotations

import concurrent.futures
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.broken_servers import mock, serving
from tests.cli_support import KIT, Served, environment
from tests.cli_support import serving as serving_mock
from tests.proxy_support import ADMIN, OPEN_ID, RESOLVE, TOKEN

# A held fault asks for a minute; a stop must take a few seconds at most (most of it the interpreter's exit).
HELD_MS = 60_000
STOPS_WITHIN = 6.0
CALLBACK = f"/v1/exceptions/{OPEN_ID}/callback"


def headers(**more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "X-Idempotency-Key": str(uuid.uuid4()), **more}


def stop_time(served: Served, *signals: signal.Signals) -> tuple[int, float]:
    """Send `signals` one after the other; the exit code and the seconds from the first signal to the exit."""
    started = time.monotonic()
    for sig in signals:
        served.process.send_signal(sig)
    code = served.process.wait(timeout=30)
    return code, time.monotonic() - started


def client_gives_up(url: str, **fault: str) -> None:
    """A callback whose client hangs up after half a second, the fault still holding it."""
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{url}{CALLBACK}", json=RESOLVE, headers=headers(**fault), timeout=0.5)


@contextmanager
def proxy_process(tmp_path: Path) -> Iterator[tuple[Served, str]]:
    """`callback-kit proxy` in front of the kit's mock (served in a thread), announced; killed at the end."""
    out, err = tmp_path / "proxy.out", tmp_path / "proxy.err"
    with serving(mock()) as upstream, open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            [*KIT, "proxy", "--upstream", upstream, "--port", "0"],
            cwd=tmp_path, env=environment(), stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
        proxy = Served(process, out, err)
        try:
            proxy.wait_for(" proxy on http://")
            yield proxy, proxy.stderr.split(" proxy on ")[1].split(" ")[0]
        finally:
            proxy.kill()


def test_sigterm_stops_the_mock_at_once_when_the_client_of_a_latency_rule_has_gone(tmp_path: Path) -> None:
    """A latency rule of a minute, its client gone: SIGTERM stops the mock in seconds, exit 0, no traceback."""
    with serving_mock("--port", "0", "--store", "memory://", cwd=tmp_path) as served:
        rule = {"action": "latency", "ms": HELD_MS, "times": 1}
        assert httpx.post(f"{served.url}/_mock/faults", headers=ADMIN, json=rule).status_code == 201
        client_gives_up(served.url)
        code, seconds = stop_time(served, signal.SIGTERM)
    assert (code, served.stderr.strip().splitlines()[-1]) == (0, "callback-kit serve: stopped")
    assert seconds < STOPS_WITHIN
    assert "Traceback" not in served.stderr + served.stdout


def test_a_request_still_held_when_the_mock_stops_gets_503_and_a_second_signal_adds_no_traceback(
    tmp_path: Path,
) -> None:
    """slow-processing of a minute with its client waiting: SIGTERM then Ctrl-C; the client gets the spec's 503."""
    with (
        serving_mock("--port", "0", "--store", "memory://", cwd=tmp_path) as served,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
        httpx.Client(base_url=served.url, timeout=30) as client,
    ):
        sent = headers(**{"X-Mock-Fault": f"slow-processing={HELD_MS}"})
        held = pool.submit(client.post, CALLBACK, json=RESOLVE, headers=sent)
        wait_until_in_flight(client, sent["X-Idempotency-Key"])
        code, seconds = stop_time(served, signal.SIGTERM, signal.SIGINT)
        answer = held.result(timeout=30)
    assert (answer.status_code, answer.json()["code"], answer.headers["Retry-After"]) == (503, "MTCH-0020", "1")
    assert (code, served.stderr.strip().splitlines()[-1]) == (0, "callback-kit serve: stopped")
    assert seconds < STOPS_WITHIN
    assert "Traceback" not in served.stderr + served.stdout


def test_sigterm_stops_the_proxy_at_once_when_the_client_of_a_latency_fault_has_gone(tmp_path: Path) -> None:
    """X-Mock-Fault latency of a minute through the proxy, the client gone: SIGTERM and SIGTERM again stop it."""
    with proxy_process(tmp_path) as (proxy, url):
        client_gives_up(url, **{"X-Mock-Fault": f"latency={HELD_MS}"})
        code, seconds = stop_time(proxy, signal.SIGTERM, signal.SIGTERM)
    assert (code, proxy.stderr.strip().splitlines()[-1]) == (0, "callback-kit proxy: stopped")
    assert seconds < STOPS_WITHIN
    assert "Traceback" not in proxy.stderr + proxy.stdout


def wait_until_in_flight(client: httpx.Client, key: str) -> None:
    """Poll the mock's admin API until the key is claimed (the request is held), bounded."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        records = client.get("/_mock/idempotency", headers=ADMIN).json()
        if any(key in r["scopeKey"] and r["state"] == "in_flight" for r in records):
            return
        time.sleep(0.02)
    raise AssertionError("the held request never claimed its key")
