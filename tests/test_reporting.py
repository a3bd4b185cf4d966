"""The one reporting layer (`callback_kit/reporting/`): curl commands, HAR logs, JUnit reports and progress,
shared by `contract`, `replay` and `fuzz`."""

from __future__ import annotations

import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from callback_kit.contract.exchange import Exchange
from callback_kit.reporting.curl import exchange_curl, printf_bytes, word
from callback_kit.reporting.har import write_exchanges
from callback_kit.reporting.junit import JUnitCase, write_junit
from callback_kit.reporting.progress import Progress
from callback_kit.reporting.redact import redact

TOKEN = "acme-integration-token"
SECRETS = {TOKEN: "CALLBACK_KIT_TOKEN"}


def exchange(body: bytes = b'{"status":"RESOLVED"}', headers: tuple[tuple[str, str], ...] | None = None) -> Exchange:
    sent = (
        headers if headers is not None else (("Content-Type", "application/json"), ("Authorization", f"Bearer {TOKEN}"))
    )
    return Exchange(
        "idempotency/replay", "POST", "http://127.0.0.1:8080/v1/exceptions/x/callback", sent, body,
        200, "OK", (("Content-Type", "application/octet-stream"),), b"\xff\x00", 1.0, 0.25,
    )  # fmt: skip


def shell(command: str) -> bytes:
    return subprocess.run(["sh", "-c", command], capture_output=True, check=True).stdout


def test_redact_shows_each_secret_as_its_variable() -> None:
    """A secret becomes `${VARIABLE}`; a longer secret containing a shorter one is replaced whole."""
    secrets = {"abc": "SHORT", "abcdef": "LONG"}
    assert redact("x abcdef abc", secrets) == "x ${LONG} ${SHORT}"


def test_word_expands_only_the_named_placeholders() -> None:
    """`${TOKEN}` is left to the shell; any other `${...}` and quotes stay literal."""
    assert shell(f"TOKEN=t; printf %s {word('a ${TOKEN} ${OTHER} its', ['TOKEN'])}") == b"a t ${OTHER} its"


def test_printf_bytes_prints_exactly_the_bytes() -> None:
    """Bytes that are not text (NUL, invalid UTF-8, %, backslashes) come out of the shell unchanged."""
    raw = b"%s \\n \x00\xff\xfe'\"\n\tend"
    assert shell(printf_bytes(raw)) == raw


def test_exchange_curl_reads_the_token_from_its_variable() -> None:
    """The reproduction never holds the token: the shell takes it from CALLBACK_KIT_TOKEN."""
    command = exchange_curl(exchange(), SECRETS)
    assert TOKEN not in command
    assert "-H 'Authorization: Bearer '\"${CALLBACK_KIT_TOKEN}\"" in command
    assert command.startswith("curl -i -X POST 'http://127.0.0.1:8080/v1/exceptions/x/callback'")
    assert command.endswith('--data-raw \'{"status":"RESOLVED"}\'')


def test_exchange_curl_sends_binary_bodies_byte_for_byte() -> None:
    """A body that is not UTF-8 goes through printf into curl's standard input, without a form content type."""
    command = exchange_curl(exchange(body=b"\xff\x00x", headers=()), SECRETS)
    producer, _, curl = command.partition(" | ")
    assert shell(producer) == b"\xff\x00x"
    assert "-H 'Content-Type:'" in curl
    assert curl.endswith("--data-binary @-")


def test_har_of_exchanges_is_valid_and_holds_no_secret(tmp_path: Path) -> None:
    """HAR 1.2, one entry per exchange labelled as its check, tokens as variables, binary bodies in base64."""
    path = tmp_path / "run.har"
    write_exchanges(path, [exchange(), exchange()], SECRETS, creator="callback-kit contract", comment="interrupted")
    log = json.loads(path.read_text(encoding="utf-8"))["log"]
    assert (log["version"], log["comment"], len(log["entries"])) == ("1.2", "interrupted", 2)
    entry = log["entries"][0]
    assert entry["comment"] == "idempotency/replay"
    assert {"name": "Authorization", "value": "Bearer ${CALLBACK_KIT_TOKEN}"} in entry["request"]["headers"]
    assert entry["response"]["content"] == {
        "size": 2,
        "mimeType": "application/octet-stream",
        "text": "/wA=",
        "encoding": "base64",
    }
    assert entry["time"] == 250.0
    assert TOKEN not in path.read_text(encoding="utf-8")


def test_junit_counts_outcomes_and_escapes_what_xml_cannot_hold(tmp_path: Path) -> None:
    """Failures, errors and skips are counted; control characters are written as escapes, the file parses."""
    path = tmp_path / "deep" / "junit.xml"
    cases = [
        JUnitCase("g", "ok", 0.5),
        JUnitCase("g", "bad", 0.1, "failed", "title \x0b", "body \x00 text"),
        JUnitCase("g", "broke", 0.0, "error", "boom"),
        JUnitCase("g", "later", 0.0, "skipped", "needs a factory"),
    ]
    write_junit(path, "suite", cases, {"verdict": "failed"})
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    failure = suite.find("testcase[@name='bad']/failure")
    assert failure is not None
    assert (failure.get("message"), failure.text) == ("title \\x0b", "body \\x00 text")


def test_progress_off_a_terminal_writes_a_line_a_tenth_with_rate_and_eta() -> None:
    """Ten lines for a hundred steps, each with the rate and the time left, the last with the time taken."""
    now = [0.0]
    stream = io.StringIO()
    with Progress("replay", 100, verb="sent", stream=stream, tty=False, clock=lambda: now[0]) as progress:
        for _ in range(100):
            now[0] += 0.01
            progress.advance(note=", 0 unexpected")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0] == "replay: 10/100 sent, 0 unexpected, 100/s, ETA 1 s"
    assert lines[-1] == "replay: 100/100 sent, 0 unexpected in 1.0 s (100/s)"


def test_progress_without_counts_is_quiet_off_a_terminal() -> None:
    """`counts=False` (fuzz) writes nothing but the task's own log lines when not on a terminal."""
    stream = io.StringIO()
    with Progress("fuzz", 50, stream=stream, counts=False, tty=False) as progress:
        progress.advance(50)
        progress.log("a line of the task")
    assert stream.getvalue() == "a line of the task\n"


def test_progress_on_a_terminal_draws_a_bar_and_ends_with_the_count() -> None:
    """On a terminal a rich bar is drawn (cleared at the end), then the closing count line."""
    stream = io.StringIO()
    with Progress("replay", 4, verb="sent", stream=stream, tty=True) as progress:
        progress.advance(4)
    text = stream.getvalue()
    assert "\x1b[" in text  # drawn with terminal control sequences
    assert re.search(r"replay: 4/4 sent in \d+\.\d s \([\d,]+/s\)\n$", text), text
