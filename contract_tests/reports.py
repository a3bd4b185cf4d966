"""The run's reports: JUnit XML (one test case per check, the verdict as properties) and a HAR of every exchange.

Written after the run, and after an interrupted one too: marked `interrupted`, so that no reader takes it
for a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.config import Settings
from callback_kit.contract_tests.results import CheckResult, Finding, Results, Verdict
from callback_kit.reporting.curl import exchange_curl
from callback_kit.reporting.har import write_exchanges
from callback_kit.reporting.junit import JUnitCase, write_junit

SUITE = "callback-contract"


def write_reports(
    settings: Settings, results: Results, verdict: Verdict, exchanges: Sequence[Exchange], secrets: Mapping[str, str]
) -> list[str]:
    """Write the reports the settings ask for; the lines that name them."""
    written = []
    if settings.junit is not None:
        properties = {
            "verdict": verdict.word,
            "exit_code": str(verdict.exit_code),
            "seed": str(settings.seed),
            "base_url": settings.base_url,
            "max_examples": str(settings.max_examples),
            "accepted_divergences": ",".join(map(str, sorted(settings.accept_divergences))),
            "accepted_divergences_not_seen": ",".join(
                map(str, sorted(settings.accept_divergences - results.seen_divergences()))
            ),
        }
        cases = [_case(row, settings.accept_divergences, secrets) for row in results.rows]
        write_junit(settings.junit, SUITE, cases, properties)
        written.append(f"JUnit report: {settings.junit}")
    if settings.har is not None:
        comment = None if verdict.word != "interrupted" else f"{verdict.line} (incomplete: interrupted)"
        write_exchanges(settings.har, exchanges, secrets, creator="callback-kit contract", comment=comment)
        written.append(f"HAR of {len(exchanges)} exchange(s): {settings.har}")
    return written


def write_setup_error(path: Path, settings: Settings, message: str) -> None:
    """A JUnit report saying why the run could not start (CI reads the report even then)."""
    case = JUnitCase("setup", "probe", 0.0, "error", message=message, text=message)
    write_junit(
        path, SUITE, [case], {"verdict": "configuration error", "exit_code": "2", "base_url": settings.base_url}
    )


def _case(row: CheckResult, accepted: frozenset[int], secrets: Mapping[str, str]) -> JUnitCase:
    output = f"cases: {row.cases}" + (f"; {row.note}" if row.note else "")
    if row.status in ("passed",):
        return JUnitCase(row.group, row.name, row.seconds, "passed", output=output)
    if row.status == "known":
        labels = sorted({f.label(accepted) for f in row.findings})
        return JUnitCase(row.group, row.name, row.seconds, "passed", output=f"{output}; {', '.join(labels)}")
    if row.status in ("skipped", "not_run"):
        return JUnitCase(row.group, row.name, row.seconds, "skipped", message=row.note or "not run", output=output)
    if row.status in ("error", "interrupted"):
        text = row.error or row.note
        return JUnitCase(
            row.group, row.name, row.seconds, "error", message=text.splitlines()[0] if text else "", text=text
        )
    blocks = []
    causes: dict[object, list[Finding]] = {}
    for finding in row.findings:
        causes.setdefault(finding.cause, []).append(finding)
    for same in causes.values():
        finding, violation = same[0], same[0].violation
        block = [f"{finding.label(accepted)}: {violation.title} ({len(same)} case(s))", ""]
        block += [f"Expected: {violation.expected}", f"Received: {violation.received}"]
        block += [f"This is {d}." for d in finding.divergences]
        if violation.note:
            block += ["", violation.note]
        if violation.exchange is not None:
            block += ["", "Reproduce with:", "", f"    {exchange_curl(violation.exchange, secrets)}"]
        blocks.append("\n".join(block))
    first = next((f for f in row.findings if not f.accepted(accepted)), row.findings[0] if row.findings else None)
    message = first.violation.title if first is not None else row.note
    named = sorted({d for f in row.findings for d in f.divergences}, key=lambda d: (d.number, d.title))
    if named:
        message += "; " + "; ".join(map(str, named))
    return JUnitCase(
        row.group, row.name, row.seconds, "failed", message=message, text="\n\n".join(blocks), output=output
    )
