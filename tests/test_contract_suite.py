"""The contract suite judges implementations: the mock keeps the contract, each deliberately broken server
(`tests/broken_servers.py`, `tests/odd_servers.py`) is caught by the check named for its flaw, and every run
ends in one of its verdicts, with its exit code.

The suite runs as users run it, in a subprocess: `callback-kit contract`, with `--include-checks` to make
only the checks a flaw needs.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import broken_servers, odd_servers
from tests.broken_servers import ADMIN_TOKEN, OTHER_TENANT_TOKEN, TOKEN, serving

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 150
DEFAULT_RUN_BUDGET = 60.0
FULL_OPTIONS = (
    "--token", TOKEN, "--other-tenant-token", OTHER_TENANT_TOKEN,
    "--exception-factory", "mock", "--exception-reader", "mock", "--admin-token", ADMIN_TOKEN,
)  # fmt: skip


@dataclass(frozen=True)
class Run:
    """A finished run: exit code, output, each check's verdict and failure message from its JUnit report."""

    code: int
    output: str
    verdicts: dict[str, str]
    messages: dict[str, str]
    properties: dict[str, str]
    seconds: float

    @property
    def last_line(self) -> str:
        return self.output.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with serving(broken_servers.mock()) as url:
        yield url


def contract(tmp_path: Path, *args: str, environ: dict[str, str] | None = None) -> Run:
    """`callback-kit contract ARGS --junit ...` in a subprocess, without the caller's CALLBACK_KIT_ variables."""
    junit = tmp_path / f"cli-{time.monotonic_ns()}.xml"
    return run_command([sys.executable, "-m", "callback_kit", "contract", *args, "--junit", str(junit)], junit, environ)


def run_command(command: list[str], junit: Path, environ: dict[str, str] | None = None) -> Run:
    """A command of the suite, and the JUnit report it wrote (if any)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CALLBACK_KIT_", "PYTEST_"))}
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=ROOT, env={**clean, **(environ or {})}, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    return Run(done.returncode, done.stdout + done.stderr, *junit_verdicts(junit), time.monotonic() - started)


def junit_verdicts(junit: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Each check's verdict, the message of each failure, and the suite's properties."""
    if not junit.exists() or not junit.stat().st_size:
        return {}, {}, {}
    root = ET.parse(junit).getroot()
    verdicts, messages = {}, {}
    for case in root.iter("testcase"):
        outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        name = case.attrib["name"]
        verdicts[name] = {"failure": "failed", "error": "error", "skipped": "skipped"}.get(
            outcome.tag if outcome is not None else "", "passed"
        )
        if outcome is not None:
            messages[name] = outcome.attrib.get("message", "")
    properties = {p.attrib["name"]: p.attrib["value"] for p in root.iter("property")}
    return verdicts, messages, properties


def test_the_mock_keeps_the_contract(mock_url: str, tmp_path: Path) -> None:
    """The default run against the mock, with both tenants and the mock factory, passes within a minute."""
    har = tmp_path / "run.har"
    run = contract(tmp_path, "--base-url", mock_url, *FULL_OPTIONS, "--har", str(har))
    print(f"default run against the mock: {run.seconds:.1f} s")
    assert run.code == 0, run.output
    assert set(run.verdicts.values()) == {"passed"}, run.verdicts
    assert {"ignored_auth", "key_is_scoped_by_tenant", "state_machine_matches_model"} <= set(run.verdicts)
    assert run.last_line.startswith("verdict: passed"), run.output
    assert run.properties["verdict"] == "passed"
    assert run.seconds < DEFAULT_RUN_BUDGET
    assert "...." not in run.output  # no pytest dots
    assert run.output.count("stateful: skipped") <= 1
    entries = json.loads(har.read_text())["log"]["entries"]
    assert len(entries) > 300
    assert TOKEN not in har.read_text()
    shown = re.search(r"keeps the contract \((\d+) check\(s\)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert shown is not None
    assert f"({shown.group(1)} check(s))" in run.last_line, "the README's sample run counts other checks"
    assert len(run.verdicts) == int(shown.group(1))


FLAW_CHECKS = {
    # flaw: (--include-checks, the checks that must fail, the checks that must pass)
    "no_replay_header": (
        "first_processing_says_not_replayed,replay_returns_stored_response,key_is_scoped_by_exception",
        {"first_processing_says_not_replayed", "replay_returns_stored_response"},
        {"key_is_scoped_by_exception"},
    ),
    "replay_with_other_body": (
        "first_processing_says_not_replayed,replay_returns_stored_response",
        {"replay_returns_stored_response"},
        {"first_processing_says_not_replayed"},
    ),
    "applied_twice_under_race": (
        "concurrent_requests_are_processed_once,replay_returns_stored_response",
        {"concurrent_requests_are_processed_once"},
        {"replay_returns_stored_response"},
    ),
    "no_auth": ("ignored_auth,positive_data_acceptance", {"ignored_auth"}, {"positive_data_acceptance"}),
    "key_replays_across_tenants": (
        "key_is_scoped_by_tenant,key_is_scoped_by_exception",
        {"key_is_scoped_by_tenant"},
        {"key_is_scoped_by_exception"},
    ),
    "key_not_scoped_by_exception": (
        "key_is_scoped_by_tenant,key_is_scoped_by_exception,state_machine",
        {"key_is_scoped_by_exception", "state_machine_matches_model"},
        {"key_is_scoped_by_tenant"},
    ),
    "stores_failed_responses": (
        "failed_request_is_not_stored,replay_returns_stored_response",
        {"failed_request_is_not_stored"},
        {"replay_returns_stored_response"},
    ),
    "server_error_on_bad_date": (
        "not_a_server_error,positive_data_acceptance",
        {"not_a_server_error"},
        {"positive_data_acceptance"},
    ),
}


@pytest.mark.parametrize("flaw", sorted(FLAW_CHECKS))
def test_flaw_is_caught_by_its_check(flaw: str, tmp_path: Path) -> None:
    """Each broken implementation fails the check named for its flaw, and passes the control checks."""
    selection, must_fail, must_pass = FLAW_CHECKS[flaw]
    with serving(broken_servers.FLAWS[flaw](tmp_path)) as url:
        run = contract(
            tmp_path, "--base-url", url, *FULL_OPTIONS, "--max-examples", "10", "--include-checks", selection
        )
    assert run.code == 1, run.output
    assert must_fail <= {name for name, verdict in run.verdicts.items() if verdict == "failed"}, run.output
    assert must_pass <= {name for name, verdict in run.verdicts.items() if verdict == "passed"}, run.output
    assert run.last_line.startswith("verdict: failed"), run.output


def test_known_divergences_are_named(tmp_path: Path) -> None:
    """Against Matcher's behaviour (the mock's parity profile), failures name the known divergences."""
    selection = "first_processing_says_not_replayed,key_is_optional,alias_header_is_equivalent"
    selection += ",failed_request_is_not_stored,positive_data_acceptance"
    with serving(broken_servers.matcher_parity()) as url:
        run = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, "--max-examples", "5", "--include-checks", selection)
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
        run = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, "--max-examples", "5", "--seed", "7")
    assert run.code == 1, run.output
    assert run.verdicts["replay_returns_stored_response"] == "failed"
    assert "FAIL  idempotency/replay_returns_stored_response: 200 -, is_replay_of: 1 case(s)" in run.output
    assert f"Reproduce: curl -i -X POST '{url}/v1/exceptions/" in run.output
    assert "-H 'Authorization: Bearer '\"${CALLBACK_KIT_TOKEN}\"" in run.output
    assert "seed 7 (rerun with --seed 7)" in run.last_line
    assert TOKEN not in run.output


def test_every_independent_bug_is_shown_in_one_run(tmp_path: Path) -> None:
    """A server with three independent bugs gets three failures, each on a line of its own with a curl command."""
    app = broken_servers.stores_failed_responses(tmp_path, broken_servers.server_error_on_bad_date(tmp_path))
    app = broken_servers.replay_with_other_body(tmp_path, app)
    selection = "replay_returns_stored_response,failed_request_is_not_stored,not_a_server_error"
    with serving(app) as url:
        run = contract(
            tmp_path, "--base-url", url, *FULL_OPTIONS, "--max-examples", "20", "--include-checks", selection
        )
    assert run.code == 1, run.output
    failures = run.output.split("failures by cause: ", 1)[1]
    heads = [line for line in failures.splitlines() if line.startswith("  FAIL  ")]
    assert any("idempotency/replay_returns_stored_response" in line for line in heads), run.output
    assert any("idempotency/failed_request_is_not_stored" in line for line in heads), run.output
    assert any(line.startswith("  FAIL  schemathesis/not_a_server_error: 500") for line in heads), run.output
    assert run.output.count("Reproduce: curl ") == len(heads)
    assert "failures by cause: " in run.output


def test_a_refused_token_is_a_configuration_error(mock_url: str, tmp_path: Path) -> None:
    """A token the server refuses ends the run with exit 2 before any check, in one line that says so."""
    run = contract(tmp_path, "--base-url", mock_url, "--token", "not-a-token")
    assert run.code == 2, run.output
    assert "configuration error: the server refused --token (401" in run.last_line
    assert set(run.verdicts) == {"probe"}


def test_an_unreachable_server_is_a_configuration_error(tmp_path: Path) -> None:
    """A base URL nobody answers on ends the run with exit 2."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening: connections are refused
        run = contract(tmp_path, "--base-url", url, "--token", TOKEN)
    assert run.code == 2, run.output
    assert "cannot reach --base-url" in run.last_line


@pytest.mark.parametrize("option", ["--junit", "--har"])
def test_an_unwritable_report_path_is_refused_before_any_request(option: str, tmp_path: Path) -> None:
    """`--junit /proc/x/j.xml` is one line and exit 2, and the server never hears from the run."""
    counting = odd_servers.Counting(broken_servers.mock())
    with serving(counting) as url:
        before = counting.requests
        command = [sys.executable, "-m", "callback_kit", "contract", "--base-url", url, "--token", TOKEN]
        run = run_command([*command, option, "/proc/x/j.xml"], tmp_path / "none.xml")
        after = counting.requests
    assert run.code == 2, run.output
    assert run.output.strip() == (
        f"callback-kit contract: configuration error: {option} /proc/x/j.xml: cannot write the report there "
        "(No such file or directory)"
    )
    assert after == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("openapi: [\n", "is not an OpenAPI document: not YAML or JSON (expected the node content"),
        (
            "# Title\nThe kit: a mock: its suite\n",
            "is not an OpenAPI document: not YAML or JSON (mapping values are not allowed",
        ),
        ("title: no spec\n", "is not an OpenAPI document (no `openapi` field), e.g. openapi: 3.0.3 at the top"),
    ],
)
def test_a_spec_that_is_no_openapi_document_is_refused_before_any_request(
    content: str, problem: str, tmp_path: Path
) -> None:
    """`--spec README.md` is `lint`'s one line as a configuration error, exit 2; the server never hears from the run."""
    spec = tmp_path / "broken.yaml"
    spec.write_text(content, encoding="utf-8")
    counting = odd_servers.Counting(broken_servers.mock())
    with serving(counting) as url:
        before = counting.requests
        command = [sys.executable, "-m", "callback_kit", "contract", "--base-url", url, "--token", TOKEN]
        run = run_command([*command, "--spec", str(spec)], tmp_path / "none.xml")
        after = counting.requests
    assert run.code == 2, run.output
    (line,) = run.output.strip().splitlines()
    assert line.startswith(f"callback-kit contract: configuration error: {spec} {problem}")
    assert after == before


def test_without_factory_the_run_is_partial(mock_url: str, tmp_path: Path) -> None:
    """Without an exception factory the run judges what it can, lists what it could not make, and exits 0."""
    environ = {"CALLBACK_KIT_BASE_URL": mock_url, "CALLBACK_KIT_TOKEN": TOKEN, "CALLBACK_KIT_MAX_EXAMPLES": "5"}
    run = contract(tmp_path, "--exclude-checks", "schemathesis", environ=environ)
    assert run.code == 0, run.output
    assert run.verdicts["replay_returns_stored_response"] == "skipped"
    assert run.messages["replay_returns_stored_response"].startswith("needs --exception-factory")
    assert run.verdicts["key_format_is_enforced"] == "passed"
    assert "  idempotency/replay_returns_stored_response: needs --exception-factory" in run.output
    assert run.last_line.startswith("verdict: partial"), run.output
    assert run.properties["verdict"] == "partial"


def test_a_partial_run_fails_with_require_all(mock_url: str, tmp_path: Path) -> None:
    """`--require-all` (or CALLBACK_KIT_REQUIRE_ALL) turns a partial run into exit 1."""
    selection = ("--include-checks", "key_format_is_enforced,replay_returns_stored_response")
    run = contract(
        tmp_path, "--base-url", mock_url, "--token", TOKEN, *selection, environ={"CALLBACK_KIT_REQUIRE_ALL": "1"}
    )
    assert run.code == 1, run.output
    assert run.last_line.startswith("verdict: partial"), run.output


def test_an_undeclared_status_to_the_probe_fails_a_named_check(tmp_path: Path) -> None:
    """A 202 to the probe is a broken contract (exit 1, startup check), and the run goes on with the other checks."""
    with serving(odd_servers.answers_202_to_unknown_exceptions(broken_servers.mock())) as url:
        selection = "startup,key_format_is_enforced,replay_returns_stored_response"
        run = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, "--include-checks", selection)
    assert run.code == 1, run.output
    assert run.verdicts["answer_status_is_declared"] == "failed", run.output
    assert "a status the spec does not declare" in run.messages["answer_status_is_declared"]
    # It judged the probe's 4 answers (2 tenants, each on an unknown and a made exception), not 0.
    assert "FAIL  startup/answer_status_is_declared  (4 request(s), 1 failing case(s))" in run.output
    assert run.verdicts["key_format_is_enforced"] == "passed"
    assert run.verdicts["replay_returns_stored_response"] == "passed"


def test_mixed_tenants_fail_a_named_check(tmp_path: Path) -> None:
    """The other tenant's own exception answering 404 is a broken contract (exit 1), not a configuration error."""
    with serving(odd_servers.mixes_tenants(broken_servers.mock())) as url:
        run = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, "--include-checks", "startup,idempotency")
    assert run.code == 1, run.output
    assert run.verdicts["other_tenant_reaches_own_exception"] == "failed", run.output
    assert "the server mixes tenants" in run.messages["other_tenant_reaches_own_exception"]
    assert "FAIL  startup/other_tenant_reaches_own_exception  (1 request(s), 1 failing case(s))" in run.output
    assert run.messages["key_is_scoped_by_tenant"].startswith("the other tenant cannot reach its own exceptions")
    assert run.verdicts["replay_returns_stored_response"] == "passed"


def test_unknown_check_names_are_a_configuration_error(mock_url: str, tmp_path: Path) -> None:
    """A misspelt check is refused before any request, with the names it may have meant."""
    run = contract(tmp_path, "--base-url", mock_url, "--token", TOKEN, "--include-checks", "replay_returns_stored")
    assert run.code == 2, run.output
    assert "no check or group is called 'replay_returns_stored'" in run.last_line
    assert "replay_returns_stored_response" in run.last_line


def test_excluded_checks_are_not_made(mock_url: str, tmp_path: Path) -> None:
    """`--exclude-checks` leaves out groups and single rows, even of the Schemathesis run."""
    run = contract(
        tmp_path, "--base-url", mock_url, *FULL_OPTIONS, "--max-examples", "5",
        "--exclude-checks", "idempotency,state_machine,startup,use_after_free",
    )  # fmt: skip
    assert run.code == 0, run.output
    assert "not_a_server_error" in run.verdicts
    assert not {"use_after_free", "replay_returns_stored_response", "state_machine_matches_model"} & set(run.verdicts)


def test_gateway_headers_reach_every_request(tmp_path: Path) -> None:
    """Behind a gateway that wants a header the run cannot start; with `-H` every request carries it, redacted."""
    har = tmp_path / "gateway.har"
    with serving(odd_servers.behind_gateway(broken_servers.mock())) as url:
        refused = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, "--include-checks", "not_a_server_error")
        header = f"{odd_servers.GATEWAY_HEADER}: {odd_servers.GATEWAY_KEY}"
        selection = ("--include-checks", "not_a_server_error,replay_returns_stored_response")
        run = contract(
            tmp_path,
            "--base-url",
            url,
            *FULL_OPTIONS,
            "-H",
            header,
            *selection,
            "--max-examples",
            "5",
            "--har",
            str(har),
        )
    assert refused.code == 2, refused.output
    assert run.code == 0, run.output
    entries = json.loads(har.read_text())["log"]["entries"]
    labels = {entry["comment"].split("/")[0] for entry in entries}
    assert {"schemathesis", "idempotency", "startup", "factory"} <= labels
    for entry in entries:
        sent = {h["name"]: h["value"] for h in entry["request"]["headers"]}
        assert sent[odd_servers.GATEWAY_HEADER] == "${CALLBACK_KIT_HEADER_1}", entry["comment"]
    assert odd_servers.GATEWAY_KEY not in har.read_text()


def test_spec_option_judges_against_another_contract(tmp_path: Path) -> None:
    """The matcher profile breaks the published spec's response headers and keeps the spec it derives."""
    derived = subprocess.run(
        [sys.executable, "-m", "callback_kit", "spec", "--profile", "matcher"],
        capture_output=True,
        text=True,
        check=True,
    )
    spec = tmp_path / "matcher-openapi.yaml"
    spec.write_text(derived.stdout, encoding="utf-8")
    selection = ("--include-checks", "response_headers_conformance", "--max-examples", "10")
    with serving(broken_servers.matcher_parity()) as url:
        published = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, *selection)
        own = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, *selection, "--spec", str(spec))
    assert published.code == 1, published.output
    assert own.code == 0, own.output
    missing = contract(
        tmp_path, "--base-url", "http://127.0.0.1:9", "--token", TOKEN, "--spec", str(tmp_path / "nope.yaml")
    )
    assert missing.code == 2
    assert "--spec" in missing.last_line


def test_the_pytest_plugin_fails_a_broken_check_on_request(tmp_path: Path) -> None:
    """With `-p callback_kit.contract_tests.plugin` each check is an item; a flaw fails its item, with the report."""
    junit = tmp_path / "suite.xml"
    plugin = [sys.executable, "-m", "pytest", "-p", "callback_kit.contract_tests.plugin", "-p", "no:cacheprovider"]
    options = ["--callback-kit-base-url", "", "--callback-kit-token", TOKEN, "--callback-kit-exception-factory", "mock"]
    options += ["--callback-kit-admin-token", ADMIN_TOKEN, "--callback-kit-junit", str(junit)]
    options += ["--callback-kit-include-checks", "idempotency", "-k", "replay_returns or first_processing"]
    project = tmp_path / "project"
    project.mkdir()
    with serving(broken_servers.FLAWS["replay_with_other_body"](tmp_path)) as url:
        options[1] = url
        command = [*plugin, "--rootdir", str(project), *options, str(project)]
        run = run_command(command, junit)
    assert run.code == 1, run.output
    assert "FAIL  idempotency/replay_returns_stored_response" in run.output
    assert "1 failed, 1 passed" in run.output
    assert run.verdicts == {"replay_returns_stored_response": "failed", "first_processing_says_not_replayed": "passed"}
