"""The verdict of a run: one row per check, rendered as a table, as JUnit XML, and the exchanges as a HAR file."""

from __future__ import annotations

import base64
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from callback_kit.contract_tests.client import Exchange

Verdict = Literal["passed", "failed", "skipped", "error"]
SHOWN = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "error": "ERROR"}
SEPARATOR = "; "  # between the names of the known divergences one finding matches
# What XML 1.0 cannot hold: control characters and lone surrogates (generated requests carry both).
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Finding:
    """One way a check failed: a title, the full text (expected, received, curl) and the known divergence(s)."""

    title: str
    text: str
    divergence: str | None = None

    @property
    def divergences(self) -> list[str]:
        """The names of the known divergences that together explain this failure (none: a failure of its own)."""
        return self.divergence.split(SEPARATOR) if self.divergence else []


@dataclass
class CheckResult:
    group: str
    name: str
    verdict: Verdict
    cases: int = 0
    note: str = ""
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}"


class Results:
    """The rows of a run, in the order the checks finished."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows: list[CheckResult] = []
        self.notes: list[str] = []

    def add(self, row: CheckResult) -> None:
        with self._lock:
            self.rows.append(row)

    def exit_code(self) -> int:
        """1 when a check failed, 2 when the run could not complete, else 0."""
        verdicts = {row.verdict for row in self.rows}
        if "failed" in verdicts:
            return 1
        return 2 if "error" in verdicts or not self.rows else 0


def render_table(results: Results) -> str:
    """The summary: check, verdict, cases, and why a check was skipped or which divergence it matched."""
    header = ("check", "verdict", "cases", "note")
    rows = [(r.label, SHOWN[r.verdict], str(r.cases), _note(r)) for r in results.rows]
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(3)]
    lines = []
    for line in [header, *rows]:
        lines.append("  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(line[:3])), line[3]]).rstrip())
    lines.insert(1, "  ".join(["-" * w for w in widths] + ["-" * len(header[3])]))
    return "\n".join(lines)


def render_findings(results: Results) -> str:
    """Every failed check with its findings, each with a curl command."""
    blocks = []
    for row in results.rows:
        if row.verdict not in ("failed", "error"):
            continue
        blocks.append(f"=== {row.label}: {SHOWN[row.verdict]} ===")
        blocks.extend(finding.text for finding in row.findings)
    return "\n\n".join(blocks)


def write_junit(results: Results, path: Path, properties: Mapping[str, str]) -> None:
    """One test case per check (class name: its group)."""
    counts = {verdict: sum(r.verdict == verdict for r in results.rows) for verdict in SHOWN}
    suite = ET.Element(
        "testsuite",
        name="callback-contract",
        tests=str(len(results.rows)),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{sum(r.seconds for r in results.rows):.3f}",
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in properties.items():
        ET.SubElement(props, "property", name=name, value=value)
    for row in results.rows:
        case = ET.SubElement(suite, "testcase", classname=row.group, name=row.name, time=f"{row.seconds:.3f}")
        if row.verdict == "skipped":
            ET.SubElement(case, "skipped", message=row.note)
        elif row.verdict in ("failed", "error"):
            kind = "failure" if row.verdict == "failed" else "error"
            element = ET.SubElement(case, kind, message=_xml_text(_note(row)))
            element.text = _xml_text("\n\n".join(f.text for f in row.findings))
        if row.cases:
            ET.SubElement(case, "system-out").text = f"cases: {row.cases}" + (f"; {row.note}" if row.note else "")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    _write(path, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


def write_har(exchanges: Iterable[Exchange], path: Path, secrets: Mapping[str, str], creator: str) -> None:
    """HAR 1.2 of the exchanges; tokens are replaced by the names of the variables that hold them."""
    entries = [_har_entry(exchange, secrets) for exchange in exchanges]
    har = {
        "log": {"version": "1.2", "creator": {"name": "callback-kit contract", "version": creator}, "entries": entries}
    }
    _write(path, json.dumps(har, indent=1, ensure_ascii=False) + "\n")


def _har_entry(exchange: Exchange, secrets: Mapping[str, str]) -> dict[str, object]:
    def headers(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"name": name, "value": _redact(value, secrets)} for name, value in pairs]

    request_type = exchange.request_header("content-type") or ""
    response_type = exchange.header("content-type") or ""
    try:
        content = {"size": len(exchange.body), "mimeType": response_type, "text": exchange.body.decode("utf-8")}
    except UnicodeDecodeError:
        content = {
            "size": len(exchange.body),
            "mimeType": response_type,
            "text": base64.b64encode(exchange.body).decode(),
            "encoding": "base64",
        }
    millis = round(exchange.elapsed * 1000, 3)
    return {
        "startedDateTime": datetime.fromtimestamp(exchange.started, UTC).isoformat(timespec="milliseconds"),
        "time": millis,
        "request": {
            "method": exchange.method,
            "url": exchange.url,
            "httpVersion": exchange.http_version,
            "cookies": [],
            "headers": headers(exchange.request_headers),
            "queryString": [],
            "postData": {
                "mimeType": request_type,
                "text": _redact(exchange.request_body.decode("utf-8", "replace"), secrets),
            },
            "headersSize": -1,
            "bodySize": len(exchange.request_body),
        },
        "response": {
            "status": exchange.status,
            "statusText": exchange.reason,
            "httpVersion": exchange.http_version,
            "cookies": [],
            "headers": headers(exchange.headers),
            "content": content,
            "redirectURL": exchange.header("location") or "",
            "headersSize": -1,
            "bodySize": len(exchange.body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": millis, "receive": 0},
        "comment": exchange.label,
    }


def _note(row: CheckResult) -> str:
    divergences = sorted({name for finding in row.findings for name in finding.divergences}, key=_by_number)
    parts = [*divergences]
    if row.verdict in ("failed", "error") and row.findings:
        parts.insert(0, row.findings[0].title)
    if row.note:
        parts.append(row.note)
    return "; ".join(parts)


def _xml_text(text: str) -> str:
    """`text` with what XML cannot hold written as a Python escape (`\\x0b`), so the report stays readable."""
    return _NOT_XML.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def _by_number(name: str) -> tuple[int, str]:
    """Known divergence names in the order of their numbers (#2 before #12)."""
    number = name.partition("#")[2].partition(":")[0]
    return (int(number) if number.isdigit() else 0, name)


def _redact(text: str, secrets: Mapping[str, str]) -> str:
    for value, variable in secrets.items():
        text = text.replace(value, f"[{variable}]")
    return text


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
