"""The outcome of a run: one result per check, its findings grouped by cause, and the verdict.

A run ends in one of five verdicts, printed as its last line and written into the reports:

    passed               every selected check passed (accepted known divergences included)  exit 0
    partial              nothing failed, some checks could not be made (each listed)       exit 0 (1 with --require-all)
    failed               a check failed or could not finish                                 exit 1
    configuration error  the run could not start: the user fixes the command or environment exit 2
    interrupted          SIGINT or SIGTERM: never a pass                                    exit 130 / 143
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from callback_kit.contract.checks import Violation
from callback_kit.contract_tests.divergences import Divergence

Status = Literal["passed", "failed", "known", "skipped", "error", "interrupted", "not_run"]
SHOWN: dict[Status, str] = {
    "passed": "PASS", "failed": "FAIL", "known": "KNOWN", "skipped": "SKIP", "error": "ERROR",
    "interrupted": "INTERRUPTED", "not_run": "NOT RUN",
}  # fmt: skip
SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}


@dataclass(frozen=True)
class Finding:
    """One failing case of a check: the violation, the known divergences that explain it, the rule it breaks."""

    check: str
    violation: Violation
    divergences: tuple[Divergence, ...] = ()
    rule: str = ""

    def accepted(self, numbers: frozenset[int]) -> bool:
        """Whether the run accepts every divergence behind this case (and there is one)."""
        return bool(self.divergences) and all(d.number in numbers for d in self.divergences)

    @property
    def cause(self) -> tuple[str, int | None, str, str, tuple[Divergence, ...]]:
        """What makes two failing cases the same failure: check, status, error code, rule, divergences."""
        exchange = self.violation.exchange
        status = exchange.status if exchange is not None else None
        code = exchange.code() if exchange is not None else None
        return (self.check, status, str(code or "-"), self.rule or self.violation.check, self.divergences)

    def label(self, numbers: frozenset[int]) -> str:
        """`FAIL`, or `KNOWN (#N)` when the run accepts the divergences behind it."""
        return known_label(self.divergences) if self.accepted(numbers) else "FAIL"


@dataclass
class CheckResult:
    """One row of the report: a check (or a Schemathesis check) and what became of it."""

    group: str
    name: str
    status: Status
    cases: int = 0
    note: str = ""
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    error: str = ""

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}"

    @property
    def verdict(self) -> str:
        """`PASS`, `FAIL`, ...; `KNOWN (#N)` with the accepted divergences behind a known row."""
        if self.status != "known":
            return SHOWN[self.status]
        return known_label(d for f in self.findings for d in f.divergences)


def known_label(divergences: Iterable[Divergence]) -> str:
    """`KNOWN (#N, ...)` naming each accepted divergence once (the one spelling of the progress line, the table's
    verdict and note, and the failure groups)."""
    return f"KNOWN ({', '.join(f'#{n}' for n in sorted({d.number for d in divergences}))})"


def settle(row: CheckResult, accepted: frozenset[int]) -> CheckResult:
    """The row as the run reports it (the one place that decides it): a failed row whose every failing case is
    an accepted known divergence is `known`."""
    if row.status == "failed" and row.findings and all(f.accepted(accepted) for f in row.findings):
        return replace(row, status="known")
    return row


class Results:
    """The rows of a run, in the order the checks finished; safe to add to from the worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[CheckResult] = []
        self.notes: list[str] = []

    def add(self, row: CheckResult) -> None:
        with self._lock:
            self._rows.append(row)

    @property
    def rows(self) -> list[CheckResult]:
        with self._lock:
            return list(self._rows)

    def groups(self, accepted: frozenset[int]) -> list[list[Finding]]:
        """The failing cases of every check, grouped by cause, in the order first seen; the cases of an accepted
        known divergence are grouped by check and divergence only (the details of a known gap matter less)."""
        grouped: dict[tuple[object, ...], list[Finding]] = {}
        for row in self.rows:
            for finding in row.findings:
                key = (finding.check, finding.divergences) if finding.accepted(accepted) else finding.cause
                grouped.setdefault(key, []).append(finding)
        return list(grouped.values())

    def seen_divergences(self) -> set[int]:
        return {d.number for row in self.rows for f in row.findings for d in f.divergences}


@dataclass(frozen=True)
class Verdict:
    """The run's verdict: its word, its exit code, and the last line of the output."""

    word: Literal["passed", "partial", "failed", "configuration error", "interrupted"]
    exit_code: int
    line: str


def verdict(
    results: Results, *, seed: int, require_all: bool, interrupted: str | None = None, seed_option: str = "--seed"
) -> Verdict:
    """The verdict of a finished (or interrupted) run (`seed_option` as the run's entry point spells it)."""
    rerun = f"seed {seed} (rerun with {seed_option} {seed})"
    rows = results.rows
    if interrupted is not None:
        done = sum(r.status not in ("interrupted", "not_run") for r in rows)
        line = f"verdict: interrupted by {interrupted} after {done} of {len(rows)} check(s): no verdict on the contract"
        return Verdict("interrupted", SIGNAL_EXIT.get(interrupted, 130), f"{line}; {rerun}")
    broken = [r.label for r in rows if r.status in ("failed", "error")]
    if broken:
        shown = ", ".join(broken[:8]) + (f" and {len(broken) - 8} more" if len(broken) > 8 else "")
        return Verdict(
            "failed", 1, f"verdict: failed: the contract is broken: {len(broken)} check(s) ({shown}); {rerun}"
        )
    known = sum(r.status == "known" for r in rows)
    accepted = f", {known} failing only on accepted known divergences" if known else ""
    skipped = [r for r in rows if r.status == "skipped"]
    if skipped:
        made = len(rows) - len(skipped)
        line = f"verdict: partial: {made} check(s) kept the contract{accepted}, {len(skipped)} not made (see above)"
        return Verdict("partial", 1 if require_all else 0, f"{line}; {rerun}")
    if not rows:
        return Verdict("failed", 1, f"verdict: failed: no check was run; {rerun}")
    kept = "every failure is an accepted known divergence" if known else "the implementation keeps the contract"
    line = f"verdict: passed: {kept} ({len(rows)} check(s){accepted})"
    return Verdict("passed", 0, f"{line}; {rerun}")


def configuration_error(message: str) -> Verdict:
    """The verdict of a run that could not start."""
    return Verdict("configuration error", 2, f"verdict: configuration error: {message}")
