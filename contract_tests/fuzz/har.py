"""Cases as a HAR 1.2 log (`cases.har`), for tools that import recorded requests; written by the reporting layer.

HAR has no place for an expected answer or for bytes that are not text, so: every entry carries the case id
and expectation in its `comment` (and `_case` in its request), its response is the empty placeholder HAR
requires, and a body that is not UTF-8 is given base64-encoded with `"encoding": "base64"` (a tool that ignores
the field sends the base64 text, which is still not JSON). URLs use the spec's first server; `Authorization`
keeps the `${TOKEN}` placeholder, to be replaced before sending. Times are fixed, so the file is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from callback_kit.contract_tests.fuzz.cases import Case
from callback_kit.reporting.har import HarWriter, Sent

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def write_har(cases: Iterable[Case], path: Path, *, server_url: str, comment: str) -> None:
    """Write `cases.har`, one entry per case, streamed (a large file is never held in memory)."""
    note = f"{comment}\nAuthorization headers carry the placeholder ${{TOKEN}}: replace it first."
    with HarWriter(path, creator="callback-kit fuzz", comment=note) as log:
        for number, case in enumerate(cases):
            expect = case.expect
            log.add(
                Sent(case.method, server_url + case.path, list(case.headers.items()), case.body.to_bytes()),
                None,
                started=(EPOCH + timedelta(milliseconds=number)).isoformat(timespec="milliseconds"),
                comment=f"{case.id}: expect {expect.outcome} {expect.label()}",
                custom={
                    "_case": {
                        "id": case.id,
                        "kind": case.kind,
                        "category": case.category,
                        "expect": list(expect.statuses),
                    }
                },
            )
