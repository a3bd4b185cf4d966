"""The contract suite judges implementations: the mock keeps the contract, and each deliberately broken
implementation (`tests/broken_servers.py`) is caught by the check named for its flaw.

The suite runs as users run it, in a subprocess: `callback-kit contract` for the default run and the exit
codes, `pytest -p callback_kit.contract_tests.plugin --pyargs callback_kit.contract_tests -k ...` to run only
the checks a flaw needs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import broken_servers
from tests.broken_servers import ADMIN_TOKEN, OTHER_TENANT_TOKEN, TOKEN, serving

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 150
DEFAULT_RUN_BUDGET = 60.0
FULL_OPTIONS = (
    "--token",
    TOKEN,
    "--other-tenant-token",
    OTHER_TENANT_TOKEN,
    "--exception-factory",
    "mock",
    "--admin-token",
    ADMIN_TOKEN,
)


@dataclass(frozen=True)
class Run:
    """A finished run: exit code, output, and the verdict of each check from its JUnit report."""

    code: int
    output: str
    verdicts: dict[str, str]
    messages: dict[str, str]
    seconds: float


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with serving(broken_servers.mock()) as url:
        yield url


def test_the_mock_keeps_the_contract(mock_url: str, tmp_path: Path) -> None:
    """The default run against the mock, with both tenants and the mock factory, exits 0 within a minute."""
    har = tmp_path / "run.har"
    run = _cli(tmp_path, "--base-url", mock_url, *FULL_OPTIONS, "--har", str(har))
    print(f"default run against the mock: {run.seconds:.1f} s")
    assert run.code == 0, run.output
    assert run.verdicts, run.output
    assert set(run.verdicts.values()) == {"passed"}, run.verdicts
    assert {"ignored_auth", "key_is_scoped_by_tenant", "state_machine_matches_model"} <= set(run.verdicts)
    assert run.seconds < DEFAULT_RUN_BUDGET
    entries = json.loads(har.read_text())["log"]["entries"]
    assert len(entries) > 300
    assert TOKEN not in har.read_text()


FLAW_CHECKS = {
    # flaw: (pytest -k selection, the checks that must fail, the checks that must pass)
    "no_replay_header": (
        "first_processing or replay_returns or key_is_scoped_by_exception",
        {"first_processing_says_not_replayed", "replay_returns_stored_response"},
        {"key_is_scoped_by_exception"},
    ),
    "replay_with_other_body": (
        "first_processing or replay_returns",
        {"replay_returns_stored_response"},
        {"first_processing_says_not_replayed"},
    ),
    "applied_twice_under_race": (
        "concurrent_requests or replay_returns",
        {"concurrent_requests_are_processed_once"},
        {"replay_returns_stored_response"},
    ),
    "no_auth": ("schemathesis", {"ignored_auth"}, {"positive_data_acceptance"}),
    "key_replays_across_tenants": (
        "key_is_scoped",
        {"key_is_scoped_by_tenant"},
        {"key_is_scoped_by_exception"},
    ),
    "key_not_scoped_by_exception": (
        "key_is_scoped or state_machine",
        {"key_is_scoped_by_exception", "state_machine_matches_model"},
        {"key_is_scoped_by_tenant"},
    ),
    "stores_failed_responses": (
        "failed_request or replay_returns",
        {"failed_request_is_not_stored"},
        {"replay_returns_stored_response"},
    ),
    "server_error_on_bad_date": ("schemathesis", {"not_a_server_error"}, {"positive_data_acceptance"}),
}


@pytest.mark.parametrize("flaw", sorted(FLAW_CHECKS))
def test_flaw_is_caught_by_its_check(flaw: str, tmp_path: Path) -> None:
    """Each broken implementation fails the check named for its flaw, and passes the control checks."""
    selection, must_fail, must_pass = FLAW_CHECKS[flaw]
    with serving(broken_servers.FLAWS[flaw](tmp_path)) as url:
        run = _pytest(tmp_path, "--base-url", url, *FULL_OPTIONS, "--max-examples", "10", "-k", selection)
    assert run.code == 1, run.output
    failed = {name for name, verdict in run.verdicts.items() if verdict == "failed"}
    passed = {name for name, verdict in run.verdicts.items() if verdict == "passed"}
    assert must_fail <= failed, (run.verdicts, run.output)
    assert must_pass <= passed, (run.verdicts, run.output)


def test_known_divergences_are_named(tmp_path: Path) -> None:
    """Against Matcher's behaviour (the mock's parity profile), failures name the known divergences."""
    selection = "first_processing or key_is_optional or alias_header or failed_request or schemathesis"
    with serving(broken_servers.matcher_parity()) as url:
        run = _pytest(tmp_path, "--base-url", url, *FULL_OPTIONS, "--max-examples", "5", "-k", selection)
    assert run.code == 1, run.output
    named = {
        "first_processing_says_not_replayed": "known divergence #3: X-Idempotency-Replayed never 'false'",
        "key_is_optional": "known divergence #1: X-Idempotency-Key required",
        "alias_header_is_equivalent": "known divergence #2: Idempotency-Key ignored",
        "failed_request_is_not_stored": "known divergence #7: 500 for a transition the current status forbids",
        "positive_data_acceptance": "known divergence #1: X-Idempotency-Key required",
    }
    for check, divergence in named.items():
        assert divergence in run.messages.get(check, ""), (check, run.messages)


def test_a_broken_contract_is_reported_with_curl_and_seed(tmp_path: Path) -> None:
    """Exit 1; the output names the broken check, a curl command reproducing the request, and the seed."""
    with serving(broken_servers.FLAWS["replay_with_other_body"](tmp_path)) as url:
        run = _cli(tmp_path, "--base-url", url, *FULL_OPTIONS, "--max-examples", "5", "--seed", "7")
    assert run.code == 1, run.output
    assert run.verdicts["replay_returns_stored_response"] == "failed"
    assert "=== idempotency/replay_returns_stored_response: FAIL ===" in run.output
    assert f"curl -i -X POST {url}/v1/exceptions/" in run.output
    assert '"Authorization: Bearer $CALLBACK_KIT_TOKEN"' in run.output
    assert "seed 7 (rerun with --seed 7)" in run.output
    assert TOKEN not in run.output


def test_a_refused_token_is_a_configuration_error(mock_url: str, tmp_path: Path) -> None:
    """A token the server refuses ends the run with exit 2 before any check, from both entry points."""
    cli = _cli(tmp_path, "--base-url", mock_url, "--token", "not-a-token")
    assert cli.code == 2, cli.output
    assert "the server refused --token (401" in cli.output
    suite = _pytest(tmp_path, "--base-url", mock_url, "--token", "not-a-token")
    assert suite.code == 2, suite.output
    assert not suite.verdicts


def test_an_unreachable_server_is_a_configuration_error(tmp_path: Path) -> None:
    """A base URL nobody answers on ends the run with exit 2."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening: connections are refused
        run = _cli(tmp_path, "--base-url", url, "--token", TOKEN)
    assert run.code == 2, run.output
    assert "cannot reach --base-url" in run.output


def test_without_factory_checks_needing_state_are_skipped(mock_url: str, tmp_path: Path) -> None:
    """Without an exception factory the run still judges what it can, and says what it skipped and why."""
    environ = {"CALLBACK_KIT_BASE_URL": mock_url, "CALLBACK_KIT_TOKEN": TOKEN, "CALLBACK_KIT_MAX_EXAMPLES": "5"}
    run = _cli(tmp_path, environ=environ)
    assert run.code == 0, run.output
    assert run.verdicts["replay_returns_stored_response"] == "skipped"
    assert run.verdicts["key_format_is_enforced"] == "passed"
    assert "check(s) skipped: needs --exception-factory" in run.output


def _cli(tmp_path: Path, *args: str, environ: dict[str, str] | None = None) -> Run:
    junit = tmp_path / f"cli-{time.monotonic_ns()}.xml"
    command = [sys.executable, "-m", "callback_kit", "contract"]
    return _run([*command, *args, "--junit", str(junit)], junit, environ)


def _pytest(tmp_path: Path, *args: str) -> Run:
    junit = tmp_path / f"pytest-{time.monotonic_ns()}.xml"
    suite = "callback_kit.contract_tests"
    command = [sys.executable, "-m", "pytest", "-p", f"{suite}.plugin", "--pyargs", suite]
    return _run([*command, "-p", "no:cacheprovider", "-q", *args, "--junit", str(junit)], junit, None)


def _run(command: list[str], junit: Path, environ: dict[str, str] | None) -> Run:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CALLBACK_KIT_", "PYTEST_"))}
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={**clean, **(environ or {})},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    seconds = time.monotonic() - started
    verdicts, messages = _verdicts(junit)
    return Run(done.returncode, done.stdout + done.stderr, verdicts, messages, seconds)


def _verdicts(junit: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Each check's verdict, and the message of its failure."""
    if not junit.exists():
        return {}, {}
    verdicts, messages = {}, {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            messages[case.attrib["name"]] = failure.attrib.get("message", "")
        kinds = {child.tag for child in case}
        verdict = next(
            (v for tag, v in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")) if tag in kinds),
            "passed",
        )
        verdicts[case.attrib["name"]] = verdict
    return verdicts, messages
