"""JUnit XML reports, written with `junitparser`: one suite, one test case per check or per fuzz case."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

Outcome = Literal["passed", "failed", "error", "skipped"]
# What XML 1.0 cannot hold: control characters and lone surrogates (generated requests carry both).
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class JUnitCase:
    """One test case: its outcome, a one-line message and the full text (for failed, error and skipped)."""

    classname: str
    name: str
    seconds: float
    outcome: Outcome = "passed"
    message: str = ""
    text: str = ""
    output: str = ""


def write_junit(
    path: Path, suite_name: str, cases: Iterable[JUnitCase], properties: Mapping[str, str] | None = None
) -> None:
    """Write the report (parent folders created); text XML cannot hold is written as Python escapes (`\\x0b`)."""
    suite = TestSuite(suite_name)
    for name, value in (properties or {}).items():
        suite.add_property(name, xml_text(value))
    made = []
    for case in cases:
        element = TestCase(xml_text(case.name), xml_text(case.classname), round(case.seconds, 3))
        result = _result(case)
        if result is not None:
            element.result = [result]
        if case.output:
            element.system_out = xml_text(case.output)
        made.append(element)
    suite.add_testcases(made)  # once: adding one by one recounts the suite every time
    report = JUnitXml(suite_name)
    report.add_testsuite(suite)
    report.update_statistics()  # type: ignore[no-untyped-call]
    path.parent.mkdir(parents=True, exist_ok=True)
    report.write(str(path), pretty=True)


def _result(case: JUnitCase) -> Failure | Error | Skipped | None:
    kinds: dict[str, type[Failure | Error | Skipped]] = {"failed": Failure, "error": Error, "skipped": Skipped}
    if case.outcome == "passed":
        return None
    result = kinds[case.outcome](xml_text(case.message))
    if case.text:
        result.text = xml_text(case.text)
    return result


def xml_text(text: str) -> str:
    """`text` with what XML cannot hold written as a Python escape, so that the report stays readable."""
    return _NOT_XML.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)
