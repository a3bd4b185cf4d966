"""How the suite selects checks and reaches its verdict (`registry.select`, `results`): without a server."""

from __future__ import annotations

import pytest

from callback_kit.contract.checks import Violation
from callback_kit.contract_tests.config import flag
from callback_kit.contract_tests.divergences import known
from callback_kit.contract_tests.failures import ConfigurationError
from callback_kit.contract_tests.registry import Check, Context, select
from callback_kit.contract_tests.render import table
from callback_kit.contract_tests.results import CheckResult, Finding, Results, settle, verdict
from callback_kit.contract_tests.runner import progress_line


def _nothing(_: Context) -> None:
    """A check that does nothing."""


CHECKS = [
    Check("startup", "answer_status_is_declared", _nothing),
    Check("schemathesis", "conformance", _nothing, rows=lambda: ("not_a_server_error", "ignored_auth")),
    Check("idempotency", "replay_returns_stored_response", _nothing, needs=("factory",)),
    Check("idempotency", "key_format_is_enforced", _nothing),
]


def labels(include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> list[str]:
    return [c.label for c in select(CHECKS, include, exclude).checks]


def test_selection_by_group_check_and_row() -> None:
    """A group, a check name and a row of Schemathesis' each select what they name."""
    assert labels(("idempotency",)) == [
        "idempotency/replay_returns_stored_response",
        "idempotency/key_format_is_enforced",
    ]
    assert labels(("key_format_is_enforced",)) == ["idempotency/key_format_is_enforced"]
    chosen = select(CHECKS, ("ignored_auth",), ())
    assert [c.label for c in chosen.checks] == ["schemathesis/conformance"]
    assert chosen.wants_row(CHECKS[1], "ignored_auth")
    assert not chosen.wants_row(CHECKS[1], "not_a_server_error")


def test_exclusion_leaves_out_groups_and_rows() -> None:
    """Excluding every row of a check leaves the check out; excluding a group leaves its checks out."""
    assert "schemathesis/conformance" not in labels((), ("not_a_server_error", "ignored_auth"))
    assert labels((), ("schemathesis", "idempotency")) == ["startup/answer_status_is_declared"]
    chosen = select(CHECKS, (), ("ignored_auth",))
    assert not chosen.wants_row(CHECKS[1], "ignored_auth")
    assert chosen.wants_row(CHECKS[1], "not_a_server_error")


def test_an_unknown_name_is_a_configuration_error_with_a_suggestion() -> None:
    """A misspelt name is refused, naming the check it is close to."""
    with pytest.raises(ConfigurationError, match="did you mean key_format_is_enforced"):
        select(CHECKS, ("key_format_is_enforce",), ())


ALL = frozenset({3, 6})


def finding(*numbers: int) -> Finding:
    divergences = {3: known("never-false"), 6: known("auth-optional")}
    return Finding("g/c", Violation("processed", "t", "e", "r"), tuple(divergences[n] for n in numbers))


def results(*rows: CheckResult) -> Results:
    made = Results()
    for row in rows:
        made.add(row)
    return made


def test_excluding_every_check_is_a_configuration_error() -> None:
    """A selection that leaves nothing to run is refused, naming the option and the groups."""
    with pytest.raises(ConfigurationError, match=r"^--exclude-checks startup,schemathesis,idempotency leaves no check"):
        select(CHECKS, (), ("startup", "schemathesis", "idempotency"))
    with pytest.raises(ConfigurationError, match=r"^--include-checks startup with --exclude-checks startup leaves"):
        select(CHECKS, ("startup",), ("startup",))


def test_verdicts_and_exit_codes() -> None:
    """passed 0, partial 0 (1 with --require-all), failed 1, interrupted 130 / 143."""
    passed = CheckResult("g", "a", "passed")
    skipped = CheckResult("g", "b", "skipped", note="needs --exception-factory")
    failed = CheckResult("g", "c", "failed", findings=[finding()])
    assert verdict(results(passed), seed=1, require_all=False).exit_code == 0
    assert verdict(results(passed, skipped), seed=1, require_all=False).word == "partial"
    assert verdict(results(passed, skipped), seed=1, require_all=True).exit_code == 1
    assert verdict(results(passed, failed, skipped), seed=1, require_all=False).exit_code == 1
    stopped = verdict(results(passed), seed=1, require_all=False, interrupted="SIGTERM")
    assert (stopped.word, stopped.exit_code) == ("interrupted", 143)


def test_a_failure_is_known_only_when_every_divergence_behind_it_is_accepted() -> None:
    """Accepting #3 makes a #3 failure KNOWN; a #3-and-#6 failure, or an unlabelled one, still fails."""
    only_three = CheckResult("g", "a", "failed", findings=[finding(3)])
    both = CheckResult("g", "b", "failed", findings=[finding(3, 6)])
    plain = CheckResult("g", "c", "failed", findings=[finding()])
    settled = [settle(row, frozenset({3})) for row in (only_three, both, plain)]
    assert [row.status for row in settled] == ["known", "failed", "failed"]
    assert finding(3).label(frozenset({3})) == "KNOWN (#3)"
    assert finding(3, 6).label(frozenset({3, 6})) == "KNOWN (#3, #6)"


def test_failing_cases_are_grouped_by_cause() -> None:
    """Cases with the same check, status, code and rule are one group; another rule is another group."""
    first = Finding("g/c", Violation("processed", "t", "e", "r"), rule="body/dueAt: format")
    same = Finding("g/c", Violation("processed", "t2", "e", "r"), rule="body/dueAt: format")
    other = Finding("g/c", Violation("processed", "t", "e", "r"), rule="body/status: enum")
    groups = results(CheckResult("g", "c", "failed", findings=[first, same, other])).groups(frozenset())
    assert [len(group) for group in groups] == [2, 1]


def test_the_progress_line_of_an_accepted_divergence_says_known_as_the_table_does() -> None:
    """A row failing only on accepted divergences prints `KNOWN (#N)` as it finishes, never `FAIL`."""
    row = settle(CheckResult("schemathesis", "ignored_auth", "failed", 12, findings=[finding(6), finding(6)]), ALL)
    line = progress_line(row)
    assert line.startswith("  KNOWN (#6) schemathesis/ignored_auth"), line
    assert "FAIL" not in line
    assert progress_line(settle(CheckResult("g", "c", "failed", 1, findings=[finding()]), ALL)).startswith("  FAIL")


def test_a_verdict_names_the_seed_option_as_the_entry_point_spells_it() -> None:
    """The rerun hint says `--callback-kit-seed` under the pytest plugin and `--seed` on the command line."""
    run = results(CheckResult("g", "a", "passed"))
    assert "(rerun with --seed 7)" in verdict(run, seed=7, require_all=False).line
    plugin = verdict(run, seed=7, require_all=False, seed_option=flag("--seed", "plugin"))
    assert "(rerun with --callback-kit-seed 7)" in plugin.line


def test_an_unknown_name_is_refused_in_the_spelling_of_the_entry_point() -> None:
    """Under the plugin the refusal names `--callback-kit-include-checks`."""
    with pytest.raises(ConfigurationError, match=r"^--callback-kit-include-checks: no check"):
        select(CHECKS, ("nonesuch",), (), surface="plugin")


def test_the_table_note_of_a_known_row_names_every_divergence_the_progress_line_names() -> None:
    """A known row whose cases rest on different divergences names all of them in its note, as it does as it ends."""
    row = settle(
        CheckResult("schemathesis", "negative_data_rejection", "failed", 9, findings=[finding(6), finding(3)]), ALL
    )
    note = table([row], ALL)[2]
    assert progress_line(row).startswith("  KNOWN (#3, #6) schemathesis/negative_data_rejection"), progress_line(row)
    assert "KNOWN (#3, #6); 2 failing case(s)" in note, note
