"""Fuzz cases: reproducible generation, the three export formats, and replay against the mock and broken servers."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from callback_kit.cli.fuzz import write_files
from callback_kit.contract import CALLBACK_PATH, default_spec_path
from callback_kit.contract_tests.fuzz import CORPUS_COUNT, CORPUS_SEED, FuzzSettings, generate, read_jsonl
from callback_kit.contract_tests.fuzz.body_mutations import categories as body_categories
from callback_kit.contract_tests.fuzz.cases import Case, dumps
from callback_kit.contract_tests.fuzz.generate import NEGATIVE_CYCLE
from callback_kit.contract_tests.fuzz.replay import ReplaySettings, Verdict, replay
from callback_kit.contract_tests.fuzz.spec import Operation
from callback_kit.resources import fixtures_dir

CORPUS = fixtures_dir() / "fuzz-corpus.jsonl"
KIT = Path(sys.executable).with_name("callback-kit")
TOKEN = "acme-integration-token"
ADMIN = {"Authorization": "Bearer kit-admin-token"}
OP = Operation.load()
HOP_BY_HOP = {b"host", b"content-length", b"transfer-encoding", b"connection"}


def _kit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KIT), *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real mock as a subprocess (`callback-kit serve --store memory://`), stopped by its PID."""
    port, log = _free_port(), tmp_path_factory.mktemp("mock") / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(KIT), "serve", "--store", "memory://", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url + "/", timeout=1)
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the mock did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def mock(mock_server: str) -> str:
    """The mock, reset to its fixtures."""
    httpx.post(mock_server + "/_mock/reset", headers=ADMIN, timeout=10).raise_for_status()
    return mock_server


@pytest.fixture(scope="module")
def corpus() -> list[Case]:
    return read_jsonl(CORPUS)


@contextlib.contextmanager
def broken_server(upstream: str, defect: Callable[[Any], Response | None]) -> Iterator[str]:
    """A Starlette app on 127.0.0.1 (port 0) that forwards to the mock, except where `defect` answers itself."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=30) as client:
            app.state.client = client
            yield

    async def forward(request: Request) -> Response:
        raw = await request.body()
        try:
            answer = defect(json.loads(raw.decode("utf-8")))
        except (ValueError, RecursionError):
            answer = None
        if answer is not None:
            return answer
        headers = [(k, v) for k, v in request.headers.raw if k.lower() not in HOP_BY_HOP]
        upstream_answer = await request.app.state.client.request(
            request.method, upstream + request.url.path, headers=headers, content=raw
        )
        kept = {
            k: v for k, v in upstream_answer.headers.items() if k.lower() not in {"content-length", "transfer-encoding"}
        }
        return Response(upstream_answer.content, upstream_answer.status_code, headers=kept)

    app = Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])], lifespan=lifespan)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", loop="asyncio", http="h11", ws="none")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the broken server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _date_fields() -> set[str]:
    body = OP.resolve(OP.body_schema)
    payload = OP.resolve(body["properties"]["payload"])
    return {n for s in (body, payload) for n, p in s["properties"].items() if p.get("format") == "date-time"}


def answers_500_to_a_bad_date(body: Any) -> Response | None:
    """The defect: a date-time field that is a string but not RFC 3339 makes the server crash."""
    dates = _date_fields()
    objects = [body, body.get("payload")] if isinstance(body, dict) else []
    for value in (v for o in objects if isinstance(o, dict) for k, v in o.items() if k in dates):
        if isinstance(value, str) and not Draft4Validator.FORMAT_CHECKER.conforms(value, "date-time"):
            return JSONResponse({"code": "MTCH-0002", "title": "Internal Server Error", "message": "boom"}, 500)
    return None


def answers_200_to_a_missing_field(body: Any) -> Response | None:
    """The defect: a JSON object without one of the required fields is accepted."""
    required = OP.resolve(OP.body_schema)["required"]
    if isinstance(body, dict) and any(name not in body for name in required):
        return JSONResponse({"status": "accepted"}, 200, headers={"X-Idempotency-Replayed": "false"})
    return None


def _unexpected(verdicts: list[Verdict]) -> set[str]:
    return {v.case.id for v in verdicts if not v.as_expected}


def test_same_seed_gives_byte_identical_files_in_separate_processes(tmp_path: Path) -> None:
    """Two processes with different hash seeds write the same three files for the same seed."""
    for name, hash_seed in (("one", "1"), ("two", "2")):
        result = _kit(
            "fuzz", "--count", "300", "--seed", "41", "--out", str(tmp_path / name), env={"PYTHONHASHSEED": hash_seed}
        )
        assert result.returncode == 0, result.stderr
    for file in ("cases.jsonl", "cases.sh", "cases.har"):
        assert (tmp_path / "one" / file).read_bytes() == (tmp_path / "two" / file).read_bytes(), file


def test_formats_choose_the_files_and_keep_their_bytes(tmp_path: Path) -> None:
    """`--formats jsonl,sh` writes those two, byte for byte as the default run does, and no HAR."""
    every = _kit("fuzz", "--count", "40", "--seed", "3", "--out", str(tmp_path / "all"))
    some = _kit("fuzz", "--count", "40", "--seed", "3", "--out", str(tmp_path / "some"), "--formats", "jsonl,sh")
    assert every.returncode == some.returncode == 0, some.stderr
    assert sorted(p.name for p in (tmp_path / "some").iterdir()) == ["cases.jsonl", "cases.sh"]
    for name in ("cases.jsonl", "cases.sh"):
        assert (tmp_path / "some" / name).read_bytes() == (tmp_path / "all" / name).read_bytes()
    assert some.stderr.strip().endswith(f"-> {tmp_path / 'some'}/{{cases.jsonl,cases.sh}}")


def test_an_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    """A format the command does not write is refused in one line, before anything is written."""
    result = _kit("fuzz", "--count", "5", "--out", str(tmp_path / "out"), "--formats", "jsonl,xml")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "callback-kit fuzz: --formats 'jsonl,xml': give some of jsonl,sh,har, e.g. --formats jsonl,sh"
    )
    assert not (tmp_path / "out").exists()


def test_fuzz_off_a_terminal_prints_only_its_closing_line(tmp_path: Path) -> None:
    """Without a terminal there is no progress bar: one line says what was written."""
    result = _kit("fuzz", "--count", "200", "--out", str(tmp_path))
    assert result.returncode == 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_another_seed_gives_other_cases() -> None:
    """Seeds 41 and 42 share the schedule of categories but not the values."""
    first, second = generate(FuzzSettings(count=100, seed=41)), generate(FuzzSettings(count=100, seed=42))
    assert [c.category for c in first] == [c.category for c in second]
    assert sum(dumps(a) != dumps(b) for a, b in zip(first, second, strict=True)) > 90


def test_every_negative_category_is_generated() -> None:
    """300 cases cover each required field missing and empty, and every category of the cycle."""
    cases = generate(FuzzSettings(count=300, seed=3))
    negatives = [c for c in cases if c.kind == "negative" and c.violation is not None]
    # The shipped spec lets the first key header win (`onDisagreeingHeaders: precedence`): no key conflict.
    assert {c.category for c in negatives} == set(NEGATIVE_CYCLE) - {"key-conflict"}
    required = OP.resolve(OP.body_schema)["required"]
    for category in ("required", "empty"):
        assert {c.violation.field for c in negatives if c.category == category} >= set(required), category
    assert {c.body.encoding for c in negatives} == {"json", "text", "base64", "fill", "none"}
    assert len({c.id for c in cases}) == len(cases)


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(min_value=-(2**63), max_value=2**63))
def test_bodies_are_valid_or_break_exactly_their_named_rule(seed: int) -> None:
    """For any seed, positive bodies satisfy the schema and body-rule negatives break the rule they name."""
    body_rules = {c.name for c in body_categories(OP)}
    for case in generate(FuzzSettings(count=len(NEGATIVE_CYCLE) * 2, seed=seed)):
        errors = OP.body_errors(case.body.value) if case.body.encoding == "json" else []
        if case.kind == "positive":
            assert case.body.encoding in ("json", "text")
            assert not OP.body_errors(json.loads(case.body.to_bytes() or b""))
        elif case.category in body_rules:
            assert case.violation is not None
            assert errors
            rules = {e.validator for e in errors} | {s.validator for e in errors for s in e.context or ()}
            assert case.violation.rule in rules, case.id


def test_committed_corpus_is_what_the_documented_command_writes() -> None:
    """fixtures/fuzz-corpus.jsonl equals `callback-kit fuzz --count 300 --seed 20261128 --kind all`."""
    lines = [dumps(c) + "\n" for c in generate(FuzzSettings(count=CORPUS_COUNT, seed=CORPUS_SEED))]
    assert CORPUS.read_text(encoding="utf-8") == "".join(lines), (
        "regenerate: callback-kit fuzz --count 300 --seed 20261128 --kind all --out DIR; "
        "cp DIR/cases.jsonl fixtures/fuzz-corpus.jsonl"
    )


def test_key_conflicts_are_generated_only_under_the_reject_policy(tmp_path: Path) -> None:
    """Two key headers with different keys are a negative case only when `onDisagreeingHeaders` is `reject`."""
    spec = yaml.safe_load(default_spec_path().read_text(encoding="utf-8"))
    spec["paths"][CALLBACK_PATH]["post"]["x-idempotency"]["onDisagreeingHeaders"] = "reject"
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    conflicts = [c for c in generate(FuzzSettings(count=100, seed=3, spec_path=path)) if c.category == "key-conflict"]
    assert conflicts
    assert all(c.expect.statuses == (400,) and c.expect.code == "MTCH-0015" for c in conflicts)
    assert all(c.category != "key-conflict" for c in generate(FuzzSettings(count=100, seed=3)))


def test_har_is_a_har_1_2_log_of_the_cases(tmp_path: Path) -> None:
    """cases.har has one entry per case, with the exact body bytes (base64 where they are not UTF-8)."""
    cases = generate(FuzzSettings(count=60, seed=5))
    write_files(cases, FuzzSettings(count=60, seed=5), tmp_path)
    log = json.loads((tmp_path / "cases.har").read_text(encoding="utf-8"))["log"]
    assert log["version"] == "1.2"
    assert len(log["entries"]) == len(cases)
    for case, entry in zip(cases, log["entries"], strict=True):
        request, raw = entry["request"], case.body.to_bytes()
        assert entry["comment"].startswith(case.id)
        assert request["url"].endswith(case.path)
        assert {(h["name"], h["value"]) for h in request["headers"]} == set(case.headers.items())
        if raw is None:
            assert "postData" not in request
        else:
            text = request["postData"]["text"]
            sent = base64.b64decode(text) if request["postData"].get("encoding") else text.encode()
            assert sent == raw
            assert request["bodySize"] == len(raw)


@pytest.mark.skipif(shutil.which("curl") is None, reason="cases.sh needs curl")
def test_cases_sh_sends_each_case_and_gets_an_expected_status(mock: str, tmp_path: Path) -> None:
    """Running cases.sh against the mock prints one expected status per case."""
    cases = generate(FuzzSettings(count=len(NEGATIVE_CYCLE) * 2, seed=8))
    write_files(cases, FuzzSettings(count=len(cases), seed=8), tmp_path)
    env = {**os.environ, "BASE_URL": mock, "TOKEN": TOKEN}
    result = subprocess.run(["sh", str(tmp_path / "cases.sh")], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    printed = [line.split(maxsplit=3) for line in result.stdout.splitlines()]
    assert [line[1] for line in printed] == [c.id for c in cases]
    for (status, case_id, _, expected), case in zip(printed, cases, strict=True):
        assert int(status) in case.expect.statuses, f"{case_id}: {status}, expected {expected}"


def test_replaying_the_corpus_against_the_mock_gives_no_unexpected_answer(mock: str, corpus: list[Case]) -> None:
    """Every case of the committed corpus gets an answer of its expected class from the mock."""
    verdicts = replay(corpus, ReplaySettings(base_url=mock, token=TOKEN, check_headers=True))
    assert len(verdicts) == len(corpus)
    assert [str(v.failure) for v in verdicts if v.failure] == []


def test_replay_flags_exactly_the_bad_dates_of_a_server_that_crashes_on_them(mock: str, corpus: list[Case]) -> None:
    """Against a server that answers 500 to a bad date-time, exactly the date-time cases are unexpected."""
    with broken_server(mock, answers_500_to_a_bad_date) as url:
        verdicts = replay(corpus, ReplaySettings(base_url=url, token=TOKEN))
    flagged = {c.id for c in corpus if c.category == "format"}
    assert flagged
    assert _unexpected(verdicts) == flagged
    assert all(v.failure.problems[0].startswith("server error 500") for v in verdicts if v.failure)


def test_replay_flags_exactly_the_missing_fields_a_server_accepts(mock: str, corpus: list[Case]) -> None:
    """Against a server that answers 200 to a body missing a required field, exactly those cases are unexpected."""
    with broken_server(mock, answers_200_to_a_missing_field) as url:
        verdicts = replay(corpus, ReplaySettings(base_url=url, token=TOKEN))
    flagged = {c.id for c in corpus if c.category == "required"}
    assert flagged
    assert _unexpected(verdicts) == flagged
    assert all(v.failure.problems == ["status 200, expected 400"] for v in verdicts if v.failure)


def test_replay_cli_exits_1_and_lists_each_unexpected_case_with_curl(
    mock: str, corpus: list[Case], tmp_path: Path
) -> None:
    """The CLI prints the summary, each unexpected case id with a curl command, writes JUnit, and exits 1."""
    junit = tmp_path / "replay.xml"
    with broken_server(mock, answers_500_to_a_bad_date) as url:
        result = _kit("replay", str(CORPUS), "--base-url", url, "--token", TOKEN, "--junit", str(junit))
    flagged = sorted(c.id for c in corpus if c.category == "format")
    assert result.returncode == 1, result.stderr
    assert "total" in result.stdout
    assert f"{len(flagged)} unexpected answer(s)" in result.stdout
    for case_id in flagged:
        assert f"{case_id}: server error 500" in result.stdout
    assert result.stdout.count("Reproduce: ") == len(flagged)
    assert TOKEN not in result.stdout
    assert "replay: 300/300 sent, " in result.stderr
    progress = result.stderr.splitlines()
    assert len(progress) == 10
    assert all("/s" in line for line in progress)
    assert all("ETA" in line for line in progress[:-1])
    assert result.stdout.rstrip().endswith(f"JUnit report: {junit}")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == str(len(corpus))
    assert suite.get("failures") == str(len(flagged))


def test_replay_cli_exits_2_for_a_missing_cases_file(tmp_path: Path) -> None:
    """A cases file that does not exist is a usage error."""
    result = _kit("replay", str(tmp_path / "nope.jsonl"), "--base-url", "http://127.0.0.1:9", "--token", TOKEN)
    assert result.returncode == 2
    assert "cannot read cases file" in result.stderr


def test_replay_cli_exits_2_for_an_unreachable_server() -> None:
    """A base URL where nothing listens is a usage error, not a list of unexpected answers."""
    url = f"http://127.0.0.1:{_free_port()}"
    result = _kit("replay", str(CORPUS), "--base-url", url, "--token", TOKEN)
    assert result.returncode == 2
    assert f"cannot reach {url}" in result.stderr
