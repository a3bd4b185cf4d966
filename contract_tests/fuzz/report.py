"""What a replay tells people: the summary table, the list of unexpected answers, and a JUnit XML file (written
by the reporting layer)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from callback_kit.contract_tests.fuzz.replay import Verdict
from callback_kit.reporting.junit import JUnitCase
from callback_kit.reporting.junit import write_junit as write_junit_report

HEADINGS = ("case", "expected", "sent", "as expected", "unexpected")


def summary(verdicts: Sequence[Verdict]) -> str:
    """One row per kind/category and expected answer, then the total."""
    rows: dict[tuple[str, str], list[int]] = {}
    for verdict in verdicts:
        case = verdict.case
        key = (f"{case.kind}/{case.category}", f"{case.expect.outcome} {case.expect.label()}")
        counts = rows.setdefault(key, [0, 0, 0])
        counts[0] += 1
        counts[1 if verdict.as_expected else 2] += 1
    table = [
        (name, expected, *map(str, counts))
        for (name, expected), counts in sorted(
            rows.items(), key=lambda item: (not item[0][0].startswith("pos"), item[0])
        )
    ]
    unexpected = sum(not v.as_expected for v in verdicts)
    table.append(("total", "", str(len(verdicts)), str(len(verdicts) - unexpected), str(unexpected)))
    widths = [max(len(row[i]) for row in (HEADINGS, *table)) for i in range(len(HEADINGS))]

    def line(row: Sequence[str]) -> str:
        cells = [
            row[0].ljust(widths[0]),
            row[1].ljust(widths[1]),
            *(c.rjust(w) for c, w in zip(row[2:], widths[2:], strict=True)),
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(HEADINGS), rule, *map(line, table[:-1]), rule, line(table[-1])])


def unexpected_listing(verdicts: Sequence[Verdict]) -> str:
    """Each unexpected answer: its case id, what was wrong, and a curl command that sends the case again."""
    failures = [v.failure for v in verdicts if v.failure is not None]
    if not failures:
        return ""
    header = f"{len(failures)} unexpected answer(s) (set TOKEN to run the curl commands):"
    return "\n\n".join([header, *(failure.render() for failure in failures)])


def write_junit(verdicts: Sequence[Verdict], path: Path, *, name: str = "callback-kit replay") -> None:
    """A JUnit XML report: one test case per fuzz case, a failure per unexpected answer."""
    cases = [
        JUnitCase(
            f"{v.case.kind}.{v.case.category}",
            v.case.id,
            v.seconds,
            "passed" if v.failure is None else "failed",
            message=v.failure.title if v.failure is not None else "",
            text=v.failure.render() if v.failure is not None else "",
        )
        for v in verdicts
    ]
    write_junit_report(path, name, cases)
