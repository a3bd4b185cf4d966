"""Cases as a HAR 1.2 log (`cases.har`), for tools that import recorded requests.

HAR has no place for an expected answer or for bytes that are not text, so: every entry carries the case id
and expectation in its `comment` (and `_case`), its response is the empty placeholder HAR requires, and a
body that is not UTF-8 is given base64-encoded with `"encoding": "base64"` (a tool that ignores the field
sends the base64 text, which is still not JSON). URLs use the spec's first server; `Authorization` keeps
the `${TOKEN}` placeholder, to be replaced before sending. Times are fixed, so the file is reproducible.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from callback_kit.contract_tests.fuzz.cases import Case

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def write_har(cases: Iterable[Case], path: Path, *, server_url: str, comment: str) -> None:
    entries = [_entry(case, server_url, number) for number, case in enumerate(cases)]
    log = {
        "log": {
            "version": "1.2",
            "creator": {"name": "callback-kit fuzz", "version": _kit_version()},
            "comment": f"{comment}\nAuthorization headers carry the placeholder ${{TOKEN}}: replace it first.",
            "entries": entries,
        }
    }
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        json.dump(log, handle, ensure_ascii=False, indent=1)
        handle.write("\n")


def _entry(case: Case, server_url: str, number: int) -> dict[str, Any]:
    raw = case.body.to_bytes()
    content_type = next((v for k, v in case.headers.items() if k.lower() == "content-type"), "")
    request: dict[str, Any] = {
        "method": case.method,
        "url": server_url + case.path,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [{"name": name, "value": value} for name, value in case.headers.items()],
        "queryString": [],
        "headersSize": -1,
        "bodySize": 0 if raw is None else len(raw),
    }
    if raw is not None:
        try:
            request["postData"] = {"mimeType": content_type, "text": raw.decode("utf-8")}
        except UnicodeDecodeError:
            text = base64.b64encode(raw).decode("ascii")
            request["postData"] = {"mimeType": content_type, "text": text, "encoding": "base64"}
    expect = case.expect
    return {
        "startedDateTime": (EPOCH + timedelta(milliseconds=number)).isoformat(timespec="milliseconds"),
        "time": 0,
        "request": request,
        "response": {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "comment": f"{case.id}: expect {expect.outcome} {expect.label()}",
        "_case": {"id": case.id, "kind": case.kind, "category": case.category, "expect": list(expect.statuses)},
    }


def _kit_version() -> str:
    try:
        return metadata.version("callback-contract-kit")
    except metadata.PackageNotFoundError:
        return "0+unknown"
