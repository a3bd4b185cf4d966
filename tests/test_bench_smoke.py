"""The bench harness's pieces work: the bare app answers like the mock's contract, wrk runs each Lua script,
and the report renders. No timing is asserted; the tests that need wrk are skipped without it."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import httpx
import pytest

from bench import report
from bench.bare import app as bare_app
from bench.load import Load, parse, run_wrk
from bench.run import Hold, window_expected
from bench.servers import ID_PREFIX, TOKEN, start_bare, write_fixtures

LUA = Path(__file__).resolve().parent.parent / "bench" / "lua"
needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (apt-get install -y wrk)")


async def _post(body: bytes, token: str = TOKEN) -> httpx.Response:
    transport = httpx.ASGITransport(app=bare_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        return await client.post(
            f"/v1/exceptions/{ID_PREFIX}000000000000/callback",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )


def test_bare_app_accepts_the_bench_body() -> None:
    """The body every wrk script sends is accepted by the bare app."""
    answer = asyncio.run(_post((LUA / "callback.json").read_bytes()))
    assert answer.status_code == 200
    assert answer.json() == {"status": "accepted"}


def test_bare_app_rejects_the_invalid_body_and_a_wrong_token() -> None:
    """The rejection path's body is a 400, and an unknown token a 401."""
    assert asyncio.run(_post((LUA / "invalid.json").read_bytes())).status_code == 400
    assert asyncio.run(_post(b"{}", token="nope")).status_code == 401


def test_bench_bodies_are_json() -> None:
    """The request bodies of the Lua scripts parse as JSON objects."""
    for name in ("callback.json", "invalid.json"):
        assert isinstance(json.loads((LUA / name).read_bytes()), dict)


def test_fixtures_give_computable_ids(tmp_path: Path) -> None:
    """The seeded exceptions are the ids the first-processing script computes, all OPEN."""
    folder = write_fixtures(tmp_path, 3)
    records = json.loads((folder / "exceptions.json").read_text())["exceptions"]
    assert [r["id"] for r in records] == [f"{ID_PREFIX}{n:012d}" for n in range(3)]
    assert {r["status"] for r in records} == {"OPEN"}
    assert (folder / "tokens.json").exists()


def test_done_line_parses() -> None:
    """A `BENCH_JSON` line from a Lua `done()` becomes a measurement."""
    measured = parse(
        '{"requests":10,"duration_us":1000000,"bytes":1,"errors":{"connect":0,"read":1,"write":0,"status":2,'
        '"timeout":0},"latency_us":{"mean":1.0,"stdev":0,"max":9,"p50":1000,"p90":2000,"p99":3000},'
        '"statuses":{"200":8,"500":2}}'
    )
    assert measured.rps == 10
    assert measured.latency_ms["p99"] == 3.0
    assert measured.unexpected(frozenset({200})) == 3


def test_report_renders_table_and_chart(tmp_path: Path) -> None:
    """Rows with ratios render as markdown and a PNG chart."""
    row = {
        "kind": "bare",
        "config": "bare",
        "store": None,
        "workers": 1,
        "path": "first",
        "rps": 100.0,
        "latency_ms": {"p50": 1.0, "p99": 2.0},
        "statuses": {"200": 5},
        "socket_errors": {"read": 0},
        "unexpected": 0,
        "server_cpu_us_per_request": 50.0,
    }
    rows = report.with_ratios([row, {**row, "kind": "mock", "config": "mock memory ×1", "rps": 40.0}])
    assert rows[1]["x_bare"] == 0.4
    assert "mock memory ×1" in report.markdown_table(rows)
    report.chart(rows, tmp_path / "chart.png", title="smoke")
    assert (tmp_path / "chart.png").stat().st_size > 0


@needs_wrk
@pytest.mark.parametrize(
    ("script", "args", "status"),
    [
        ("fresh_key.lua", [TOKEN, "smoke", "10", ID_PREFIX], 200),
        ("same_key.lua", [TOKEN, "smoke", "smoke-key", f"{ID_PREFIX}000000000001"], 200),
        ("invalid_body.lua", [TOKEN, "smoke", f"{ID_PREFIX}000000000001"], 400),
    ],
)
def test_wrk_runs_each_script_against_the_bare_app(tmp_path: Path, script: str, args: list[str], status: int) -> None:
    """Each Lua script loads, sends its request and reports statuses through `done()`."""
    server = start_bare(tmp_path)
    try:
        measured = run_wrk(server.url, script, args, Load(threads=1, connections=2), seconds=1)
    finally:
        server.stop()
    assert measured.requests > 0
    assert set(measured.statuses) == {status}


def test_replays_after_the_held_request_finished_are_expected_in_the_409_window() -> None:
    """A 200 in the 409 window counts as unexpected only while the held request is still in flight."""
    import threading

    still_held = Hold(threading.Thread(target=print), finished=None)
    finished_early = Hold(threading.Thread(target=print), finished=10.0)
    assert window_expected(frozenset({409}), still_held, ended=12.0) == {409}
    assert window_expected(frozenset({409}), finished_early, ended=12.0) == {409, 200}
    assert window_expected(frozenset({409}), Hold(threading.Thread(target=print), finished=13.0), ended=12.0) == {409}


def test_targets_judge_each_store_on_both_first_processing_paths() -> None:
    """The targets list memory, SQLite and Redis at one worker on the spread and the hot workload."""
    base = {
        "kind": "mock",
        "workers": 1,
        "latency_ms": {"p50": 1.0, "p99": 30.0},
        "statuses": {"200": 5},
        "socket_errors": {},
        "unexpected": 0,
    }
    rows = [
        {**base, "kind": "prism", "config": "Prism", "store": None, "path": p, "rps": 100.0} for p in ("first", "hot")
    ]
    rows += [
        {**base, "config": f"mock {s} ×1", "store": s, "path": p, "rps": rps}
        for s, rps in (("memory", 250.0), ("sqlite", 120.0), ("redis", 90.0))
        for p in ("first", "hot")
    ]
    text = report.targets(report.with_ratios(rows))
    assert "mock memory ×1, first processing (fresh key, one hot exception): 250 req/s = 2.50× Prism ✅" in text
    assert "mock sqlite ×1, first processing (fresh key, 1,000 exceptions): 120 req/s = 1.20× Prism ❌" in text
    assert "p99 30.0 ms ❌" in text
    assert "mock redis ×1" in text


def test_the_quick_run_is_given_one_duration_wherever_it_is_described() -> None:
    """`--quick`'s help, the README and bench/README.md all say about 5 minutes."""
    root = LUA.parent.parent
    help_text = (root / "bench" / "run.py").read_text(encoding="utf-8")
    assert "(about 5 min)" in help_text
    assert "--quick: about 5\n" in (root / "README.md").read_text(encoding="utf-8")
    assert "(about 5 minutes)" in (root / "bench" / "README.md").read_text(encoding="utf-8")
    assert "4½" not in (root / "README.md").read_text(encoding="utf-8")
