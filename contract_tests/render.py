"""The run's report on the terminal: the table of checks, every distinct failure once, what was not made."""

from __future__ import annotations

from collections.abc import Mapping

from callback_kit.contract_tests.divergences import catalogue
from callback_kit.contract_tests.results import SHOWN, CheckResult, Finding, Results
from callback_kit.reporting.curl import exchange_curl

INDENT = "      "


def report_lines(results: Results, accepted: frozenset[int], secrets: Mapping[str, str]) -> list[str]:
    """Everything after the progress lines and before the verdict."""
    lines = ["", *table(results.rows, accepted), *results.notes]
    groups = results.groups(accepted)
    if groups:
        cases = sum(len(findings) for findings in groups)
        lines += ["", f"failures by cause: {len(groups)} distinct, {cases} failing case(s)"]
        for findings in groups:
            lines += group_lines(findings, accepted, secrets)
    skipped = [row for row in results.rows if row.status == "skipped"]
    if skipped:
        lines += ["", f"not made: {len(skipped)} check(s)"]
        lines += [f"  {row.label}: {row.note}" for row in skipped]
    errors = [row for row in results.rows if row.status == "error"]
    for row in errors:
        lines += ["", f"ERROR {row.label}:", *(f"{INDENT}{line}" for line in row.error.splitlines())]
    lines += divergence_lines(results, accepted)
    return lines


def table(rows: list[CheckResult], accepted: frozenset[int]) -> list[str]:
    """check, verdict, cases, and a note (why skipped, the failure's title, the known divergence)."""
    header = ("check", "verdict", "cases", "note")
    cells = [(row.label, SHOWN[row.status], str(row.cases), _note(row, accepted)) for row in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(3)]
    lines = []
    for line in [header, *cells]:
        lines.append("  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(line[:3])), line[3]]).rstrip())
    lines.insert(1, "  ".join(["-" * w for w in widths] + ["-" * len(header[3])]))
    return lines


def group_lines(findings: list[Finding], accepted: frozenset[int], secrets: Mapping[str, str]) -> list[str]:
    """One failure: its label, check, status, code and rule, how many cases, and a curl command for the first."""
    first = findings[0]
    check, status, code, rule, _ = first.cause
    label = first.label(accepted)
    if label != "FAIL":
        named = "; ".join(d.title for d in first.divergences)
        lines = ["", f"  {label} {check}: {named}: {len(findings)} case(s)"]
    else:
        head = f"  FAIL  {check}: {status if status is not None else '-'} {code}, {rule}: {len(findings)} case(s)"
        lines = ["", head, f"{INDENT}{first.violation.title}"]
        lines += [f"{INDENT}This is {divergence}." for divergence in first.divergences]
        lines += [f"{INDENT}Expected: {first.violation.expected}", f"{INDENT}Received: {first.violation.received}"]
        if first.violation.note:
            lines += [f"{INDENT}{line}" for line in first.violation.note.splitlines()[:20]]
    exchange = first.violation.exchange
    if exchange is not None:
        lines.append(f"{INDENT}Reproduce: {exchange_curl(exchange, secrets)}")
    return lines


def divergence_lines(results: Results, accepted: frozenset[int]) -> list[str]:
    """Known divergences the run accepts that no check met: fixed, perhaps (said, never a failure)."""
    if not accepted:
        return []
    unseen = sorted(accepted - results.seen_divergences())
    if not unseen:
        return []
    titles = {d.number: d.title for d in catalogue().values()}
    lines = ["", f"accepted known divergences not seen in this run (fixed, perhaps): {len(unseen)}"]
    return lines + [f"  #{number}: {titles[number]}" for number in unseen]


def _note(row: CheckResult, accepted: frozenset[int]) -> str:
    if row.status in ("skipped", "interrupted", "not_run"):
        return row.note
    if row.status == "error":
        return row.error.splitlines()[0] if row.error else row.note
    parts = []
    if row.findings:
        unexplained = [f for f in row.findings if not f.accepted(accepted)]
        shown = unexplained[0] if unexplained else row.findings[0]
        parts.append(shown.violation.title if row.status == "failed" else row.verdict)
        numbers = sorted({d.number for f in row.findings for d in f.divergences})
        if numbers and row.status == "failed":
            parts.append("known divergence " + ", ".join(f"#{n}" for n in numbers))
        if len(row.findings) > 1:
            parts.append(f"{len(row.findings)} failing case(s)")
    if row.note:
        parts.append(row.note)
    return "; ".join(parts)
