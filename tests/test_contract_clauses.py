"""Every clause of the contract has a check that catches a server built to break it (`tests/clause_servers.py`),
and the mock passes each of them; side effects are judged through an exception reader.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import broken_servers, clause_servers
from tests.broken_servers import ADMIN_TOKEN, TOKEN, mock, serving
from tests.test_contract_suite import FULL_OPTIONS, contract

COMMANDS = f"{sys.executable} -m tests.mock_commands"
SIDE_EFFECTS = "side_effects,replay_returns_stored_response"


def test_a_callback_applied_again_behind_a_replay_fails_with_a_reader(tmp_path: Path) -> None:
    """A perfect replay that applies the callback again is caught by the reader, not by the answers."""
    with serving(clause_servers.applies_behind_replay(tmp_path)) as url:
        run = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, "--include-checks", SIDE_EFFECTS)
    assert run.code == 1, run.output
    assert run.verdicts["replay_is_applied_once"] == "failed", run.output
    assert "applied the callback 3 time(s), not once" in run.messages["replay_is_applied_once"]
    assert run.verdicts["replay_returns_stored_response"] == "passed"
    assert run.verdicts["refused_request_is_not_applied"] == "passed"


def test_without_a_reader_the_side_effect_checks_are_not_made(tmp_path: Path) -> None:
    """Without --exception-reader the same server passes the answer checks and the run is partial."""
    options = [option for option in FULL_OPTIONS if option not in ("--exception-reader",)]
    options.remove("mock")  # the reader's value; the factory keeps its own
    with serving(clause_servers.applies_behind_replay(tmp_path)) as url:
        run = contract(tmp_path, "--base-url", url, *options, "--include-checks", SIDE_EFFECTS)
    assert run.code == 0, run.output
    assert run.verdicts["replay_is_applied_once"] == "skipped"
    assert run.messages["replay_is_applied_once"].startswith("needs --exception-reader")
    assert run.last_line.startswith("verdict: partial"), run.output


def test_command_factory_and_reader_judge_side_effects(tmp_path: Path) -> None:
    """A reader command (and a factory command that cannot choose ids) make every side-effect check pass."""
    with serving(mock()) as url:
        run = contract(
            tmp_path, "--base-url", url, "--token", TOKEN, "--exception-factory", f"{COMMANDS} factory",
            "--exception-reader", f"{COMMANDS} reader", "--include-checks", "side_effects",
        )  # fmt: skip
    assert run.code == 0, run.output
    assert set(run.verdicts.values()) == {"passed"}, run.verdicts
    assert "the first answer was read and thrown away" in run.output


@pytest.mark.parametrize(
    ("reader", "said"),
    [("false", "exception reader `false "), ("echo '[1]'", "must print one JSON object")],
)
def test_a_failing_reader_is_a_configuration_error(reader: str, said: str, tmp_path: Path) -> None:
    """A reader that fails or prints something else ends the run with exit 2 before any check."""
    with serving(mock()) as url:
        run = contract(
            tmp_path, "--base-url", url, "--token", TOKEN, "--exception-factory", "mock", "--admin-token",
            ADMIN_TOKEN, "--exception-reader", reader,
        )  # fmt: skip
    assert run.code == 2, run.output
    assert "configuration error" in run.last_line, run.output
    assert said in run.last_line, run.output


def test_a_missing_in_flight_guard_is_found_without_the_mocks_help(tmp_path: Path) -> None:
    """A server taking 50 ms per callback with no in-flight guard fails the concurrency check, with no X-Mock-Fault."""
    check = "concurrent_requests_are_processed_once"
    factory = ("--exception-factory", f"{COMMANDS} factory", "--include-checks", check)
    with serving(clause_servers.applied_twice_when_slow(tmp_path)) as url:
        broken = contract(tmp_path, "--base-url", url, "--token", TOKEN, *factory, "--har", str(tmp_path / "b.har"))
    with serving(mock()) as url:
        kept = contract(tmp_path, "--base-url", url, "--token", TOKEN, *factory)
    assert broken.code == 1, broken.output
    assert "simultaneous requests with one key" in broken.messages[check]
    assert "X-Mock-Fault" not in (tmp_path / "b.har").read_text()
    assert kept.code == 0, kept.output
    assert "3 bursts of 8 requests, no help from the server" in kept.output


def test_a_stored_failure_is_found_with_a_factory_that_cannot_choose_ids(tmp_path: Path) -> None:
    """With a command factory, a server that stores its 4xx answers still fails the not-stored check."""
    options = ("--exception-factory", f"{COMMANDS} factory", "--include-checks", "failed_request_is_not_stored")
    with serving(broken_servers.stores_failed_responses(tmp_path)) as url:
        broken = contract(tmp_path, "--base-url", url, "--token", TOKEN, *options)
    with serving(mock()) as url:
        kept = contract(tmp_path, "--base-url", url, "--token", TOKEN, *options)
    assert broken.code == 1, broken.output
    assert broken.verdicts["failed_request_is_not_stored"] == "failed"
    assert kept.code == 0, kept.output
    assert "the 404's key retried on a new exception" in kept.output


CLAUSE_CHECKS = {
    # flaw: (--include-checks, the checks that must fail, the checks that must pass)
    "lowercases_keys": (
        "key_case_is_significant,replay_returns_stored_response",
        {"key_case_is_significant"},
        {"replay_returns_stored_response"},
    ),
    "keys_both_headers_apart": (
        "both_key_headers_are_one_key,alias_header_is_equivalent",
        {"both_key_headers_are_one_key"},
        {"alias_header_is_equivalent"},
    ),
    "forgets_answers_early": (
        "stored_answer_outlives_a_pause,completed_ttl_ends_replay,replay_returns_stored_response",
        {"stored_answer_outlives_a_pause", "completed_ttl_ends_replay"},
        {"replay_returns_stored_response"},
    ),
    "keeps_answers_forever": (
        "completed_ttl_ends_replay,stored_answer_outlives_a_pause",
        {"completed_ttl_ends_replay"},
        {"stored_answer_outlives_a_pause"},
    ),
    "in_flight_never_freed": (
        "in_flight_key_is_freed_after_ttl,concurrent_requests_are_processed_once",
        {"in_flight_key_is_freed_after_ttl"},
        {"concurrent_requests_are_processed_once"},
    ),
    "rejects_different_body": (
        "different_body_follows_policy,error_codes_pair_with_statuses,replay_returns_stored_response",
        {"different_body_follows_policy", "error_codes_pair_with_statuses"},
        {"replay_returns_stored_response"},
    ),
    "echoes_no_request_id": (
        "request_id_is_echoed,replay_returns_stored_response",
        {"request_id_is_echoed"},
        {"replay_returns_stored_response"},
    ),
    "no_www_authenticate": (
        "unauthorized_answers_carry_www_authenticate,request_id_is_echoed",
        {"unauthorized_answers_carry_www_authenticate"},
        {"request_id_is_echoed"},
    ),
    "no_retry_after": (
        "retry_after_where_declared,replay_returns_stored_response",
        {"retry_after_where_declared"},
        {"replay_returns_stored_response"},
    ),
    "validation_errors_422": (
        "error_codes_pair_with_statuses,key_format_is_enforced",
        {"error_codes_pair_with_statuses"},
        {"key_format_is_enforced"},
    ),
    "applies_before_refusing_key": (
        "refused_request_is_not_applied,key_format_is_enforced",
        {"refused_request_is_not_applied"},
        {"key_format_is_enforced"},
    ),
    "forgets_lost_answers": (
        "retry_after_lost_answer_is_applied_once,replay_is_applied_once",
        {"retry_after_lost_answer_is_applied_once"},
        {"replay_is_applied_once"},
    ),
    "other_tenant_acts_on_exception": (
        "other_tenant_cannot_see_exception,key_is_scoped_by_exception",
        {"other_tenant_cannot_see_exception"},
        {"key_is_scoped_by_exception"},
    ),
    "replay_applies_again": (
        "replay_does_not_apply_again,replay_returns_stored_response",
        {"replay_does_not_apply_again"},
        {"replay_returns_stored_response"},
    ),
    "applied_twice_when_slow": (
        "burst_is_applied_once,replay_is_applied_once",
        {"burst_is_applied_once"},
        {"replay_is_applied_once"},
    ),
}


@pytest.mark.parametrize("flaw", sorted(CLAUSE_CHECKS))
def test_each_clause_is_caught_by_its_check(flaw: str, tmp_path: Path) -> None:
    """A server breaking one clause fails the check named for it and passes a control check."""
    selection, must_fail, must_pass = CLAUSE_CHECKS[flaw]
    with serving(clause_servers.CLAUSE_FLAWS[flaw](tmp_path)) as url:
        run = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, "--ttl-pause", "1.5", "--include-checks", selection)
    assert run.code == 1, run.output
    assert must_fail <= {name for name, verdict in run.verdicts.items() if verdict == "failed"}, run.output
    assert must_pass <= {name for name, verdict in run.verdicts.items() if verdict == "passed"}, run.output


def test_the_mock_passes_every_clause_check(tmp_path: Path) -> None:
    """Against the mock every clause, response and side-effect check passes."""
    selection = ",".join(sorted({name for spec in CLAUSE_CHECKS.values() for name in spec[1] | spec[2]}))
    with serving(mock()) as url:
        run = contract(tmp_path, "--base-url", url, *FULL_OPTIONS, "--ttl-pause", "0.5", "--include-checks", selection)
    assert run.code == 0, run.output
    assert len(run.verdicts) >= 18, run.verdicts
    assert set(run.verdicts.values()) == {"passed"}, run.verdicts


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (
            ("--exclude-checks", "schemathesis,idempotency,responses,side_effects,state_machine,startup"),
            "callback-kit contract: configuration error: --exclude-checks schemathesis,idempotency,responses,"
            "side_effects,state_machine,startup leaves no check to run (the groups: ",
        ),
        (
            ("--timeout", "0"),
            "callback-kit contract: configuration error: --timeout must be more than 0 and at most 3600 seconds, got 0",
        ),
    ],
)
def test_a_run_that_could_judge_nothing_is_refused_before_any_request(
    options: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    """Excluding every group, or a timeout of 0, is a one-line configuration error, exit 2 (as replay words it)."""
    run = contract(tmp_path, "--base-url", "http://127.0.0.1:9", "--token", TOKEN, *options)
    assert run.code == 2, run.output
    assert run.output.strip().startswith(said), run.output
    assert len(run.output.strip().splitlines()) == 1, run.output


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (("--exception-reader", "mock", "--admin-token", ADMIN_TOKEN), "--exception-reader needs --exception-factory"),
        (("--exception-factory", "mock", "--exception-reader", "mock"), "--exception-factory mock needs --admin-token"),
        (("--ttl-pause", "-1"), "--ttl-pause must be between 0 and 3600 seconds"),
    ],
)
def test_reader_and_pause_options_are_checked_before_any_request(
    options: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    """A reader without a factory or an admin token, or a negative pause, is a one-line configuration error."""
    run = contract(tmp_path, "--base-url", "http://127.0.0.1:9", "--token", TOKEN, *options)
    assert run.code == 2, run.output
    assert said in run.last_line, run.output
