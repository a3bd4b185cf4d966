"""`callback-kit contract` against the mock's parity profile: every failure is a known divergence, by number.

The matcher profile reproduces Matcher 2.1 as it runs (`callback-kit serve --profile matcher`: auth off and a
rate limit of 60 per minute). A team that accepts Matcher's known divergences gets a green run there, and a
red one as soon as anything else is wrong: one more bug in front of the profile fails the run, and another
implementation's bug that merely looks like one of Matcher's is never labelled as it. The published profile
at the same seed keeps the contract, which shows the failures come from the profile, not the suite.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests import broken_servers, odd_servers
from tests.broken_servers import ADMIN_TOKEN, OTHER_TENANT_TOKEN, TOKEN, serving
from tests.live import running_mock
from tests.test_contract_suite import FULL_OPTIONS, Run, contract

SEED = "42"
# The divergences (section 6 numbers) each check may name against the parity profile. Which of them show
# depends on the generated cases and on the wall clock (the rate limit's window), never anything else.
EXPECTED: dict[str, set[int]] = {
    "ignored_auth": {6},
    "missing_required_header": {6},
    "negative_data_rejection": {2, 4, 5, 6, 9, 11, 12},
    "not_a_server_error": {7},
    "positive_data_acceptance": {1, 2, 11},
    "response_headers_conformance": {3, 8},
    "first_processing_says_not_replayed": {3},
    "key_is_optional": {1},
    "alias_header_is_equivalent": {2},
    "disagreeing_key_headers_follow_policy": {2},
    "concurrent_requests_are_processed_once": {5},
    "replay_does_not_apply_again": {7},
    "failed_request_is_not_stored": {7},
    "key_is_scoped_by_exception": {7},
    "key_is_scoped_by_tenant": {6},
    "other_tenant_cannot_see_exception": {6},
    "state_machine_matches_model": {1, 2, 7, 11},
    "retry_after_where_declared": {5},
    "both_key_headers_are_one_key": {2},
    "refused_request_is_not_applied": {7},
}
OPTIONS = (
    "--token",
    TOKEN,
    "--other-tenant-token",
    OTHER_TENANT_TOKEN,
    "--exception-factory",
    "mock",
    "--exception-reader",
    "mock",
)
OPTIONS += ("--admin-token", ADMIN_TOKEN, "--seed", SEED)


def known_numbers(run: Run, tmp_path: Path) -> dict[str, set[int]]:
    """Per check, the known divergences its JUnit test case says it met."""
    found: dict[str, set[int]] = {}
    for junit in sorted(tmp_path.glob("cli-*.xml")):
        text = junit.read_text(encoding="utf-8")
        for name, output in re.findall(r'<testcase name="([^"]+)"[^>]*>\s*<system-out>([^<]*)</system-out>', text):
            numbers = {int(n) for n in re.findall(r"#(\d+)", output)}
            if numbers:
                found[name] = numbers
    return found


def test_accepted_divergences_pass_the_profile_and_one_more_bug_fails_it(tmp_path: Path) -> None:
    """`--accept-divergences all`: exit 0 against `serve --profile matcher` (each check KNOWN as expected), and
    exit 1 against the same profile with a replay that re-serialises its body in front of it (no label on that)."""
    with running_mock("memory://", tmp_path, extra=("--profile", "matcher")) as mock:
        run = contract(tmp_path, "--base-url", mock.url, *OPTIONS, "--accept-divergences", "all")
    print(f"full suite against the matcher profile: {run.seconds:.1f} s")
    assert run.code == 0, run.output
    assert run.last_line.startswith("verdict: passed"), run.output
    assert "failing only on accepted known divergences" in run.last_line
    known = known_numbers(run, tmp_path)
    assert set(known) <= set(EXPECTED), sorted(known)
    assert len(known) >= 10, known  # the profile shows its divergences; a pass is not for want of trying
    for check, numbers in known.items():
        assert numbers <= EXPECTED[check], (check, numbers)
    assert "  FAIL  " not in run.output.split("failures by cause:", 1)[-1]
    progress = run.output.split("\ncheck ", 1)[0]  # the lines printed as each check finishes
    assert "  FAIL  " not in progress, progress
    assert progress.count("  KNOWN (#") == len(known), progress

    app = broken_servers.replay_with_other_body(tmp_path, broken_servers.matcher_parity(as_served=True))
    with serving(app) as url:
        broken = contract(tmp_path, "--base-url", url, *OPTIONS, "--accept-divergences", "all", "--max-examples", "10")
    assert broken.code == 1, broken.output
    assert broken.verdicts["replay_returns_stored_response"] == "failed"
    assert "known divergence" not in broken.messages["replay_returns_stored_response"]
    assert broken.last_line.startswith("verdict: failed"), broken.output


def test_another_implementations_bug_is_not_labelled_as_matchers(tmp_path: Path) -> None:
    """A server accepting `null` for a field (pydantic-style) is not Matcher's #9: it fails even with all accepted."""
    with serving(odd_servers.accepts_null_fields(broken_servers.mock())) as url:
        selection = ("--include-checks", "negative_data_rejection", "--max-examples", "20")
        run = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, *selection, "--accept-divergences", "all")
    assert run.code == 1, run.output
    assert run.verdicts["negative_data_rejection"] == "failed"
    assert "known divergence" not in run.messages["negative_data_rejection"], run.messages
    assert "null" in run.output.split("failures by cause:", 1)[1]


def test_published_profile_keeps_the_contract_at_the_same_seed(tmp_path: Path) -> None:
    """The same run against the published profile passes without accepting anything: the suite itself is sound."""
    with running_mock("memory://", tmp_path) as mock:
        run = contract(tmp_path, "--base-url", mock.url, *OPTIONS)
    print(f"full suite against the published profile: {run.seconds:.1f} s")
    assert run.code == 0, run.output
    assert set(run.verdicts.values()) == {"passed"}
    assert len(run.verdicts) >= len(EXPECTED)


def test_the_profiles_own_spec_judges_its_key_and_replay_header_as_it_declares_them(tmp_path: Path) -> None:
    """With `--spec` the matcher profile's derived spec (key required, replay header on replays only), the checks
    that failed as #1, #2 and #3 against openapi.yaml pass or skip with the spec's reason: they read the spec."""
    derived = tmp_path / "matcher.yaml"
    printed = subprocess.run(
        [sys.executable, "-m", "callback_kit", "spec", "--profile", "matcher"],
        capture_output=True,
        text=True,
        check=True,
    )
    derived.write_text(printed.stdout, encoding="utf-8")
    selection = ("--include-checks", "first_processing_says_not_replayed,key_is_optional,alias_header_is_equivalent")
    with running_mock("memory://", tmp_path, extra=("--profile", "matcher")) as mock:
        run = contract(tmp_path, "--base-url", mock.url, *OPTIONS, "--spec", str(derived), *selection)
    assert run.code == 0, run.output
    assert run.verdicts["first_processing_says_not_replayed"] == "passed", run.output
    assert "requires X-Idempotency-Key" in run.output
    assert "known divergence" not in run.output
