"""The request log (`mock_server.middleware.access_log`): one record per request with what a reader needs, no
token, and no layer at all when the log is off."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from callback_kit.mock_server.middleware.access_log import (
    FIELDS,
    LOGGER,
    TEMPLATE,
    AccessLogMiddleware,
    JsonFormatter,
    TextFormatter,
)
from callback_kit.mock_server.settings import Settings
from tests.mock_client import ACME_OPEN, ACME_TOKEN, ADMIN_TOKEN, Mock, body

CALLBACK = f"/v1/exceptions/{ACME_OPEN}/callback"


@pytest.fixture
def request_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The request log on, as `callback-kit serve` sets it up (before the app is built), captured."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def entries(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The request log's records so far, as field -> value."""
    return [dict(zip(FIELDS, r.args or (), strict=True)) for r in caplog.records if r.name == LOGGER]


def record(**fields: Any) -> logging.LogRecord:
    """A record as the middleware logs it, with `fields` over a plain callback's."""
    values = {
        "method": "POST",
        "path": CALLBACK,
        "status": 200,
        "latencyMs": 3.14159,
        "replayed": False,
        "key": "try-1",
        "requestId": "rid-1",
        "fault": None,
        **fields,
    }
    args = tuple(values[name] for name in FIELDS)
    made = logging.LogRecord(LOGGER, logging.INFO, __file__, 1, TEMPLATE, args, None)
    made.created, made.msecs = 1_800_000_000.25, 250.0
    return made


def test_a_callback_is_one_record_with_its_answer(request_log: pytest.LogCaptureFixture) -> None:
    """A callback gives one record: method, path, status, replay flag, key and the request id it answered with."""
    with Mock(Settings()) as mock:
        answer = mock.callback(ACME_OPEN, body(), key="log-1")
    [entry] = entries(request_log)
    assert entry["method"] == "POST"
    assert entry["path"] == CALLBACK
    assert entry["status"] == 200
    assert entry["replayed"] is False
    assert entry["key"] == "log-1"
    assert entry["requestId"] == answer.headers["x-request-id"]
    assert entry["latencyMs"] > 0


def test_a_replay_is_marked(request_log: pytest.LogCaptureFixture) -> None:
    """The second request with a key is logged as replayed."""
    with Mock(Settings()) as mock:
        mock.callback(ACME_OPEN, body(), key="log-2")
        mock.callback(ACME_OPEN, body(), key="log-2")
    assert [entry["replayed"] for entry in entries(request_log)] == [False, True]


def test_every_request_is_logged_not_only_callbacks(request_log: pytest.LogCaptureFixture) -> None:
    """Admin and error answers are logged too, without a replay flag or key."""
    with Mock(Settings()) as mock:
        mock.request("GET", "/_mock/journal", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        mock.request("GET", "/no/such/path")
    assert [(e["path"], e["status"], e["replayed"], e["key"]) for e in entries(request_log)] == [
        ("/_mock/journal", 200, None, None),
        ("/no/such/path", 404, None, None),
    ]


def test_no_token_reaches_the_log(request_log: pytest.LogCaptureFixture) -> None:
    """Neither a bearer token nor a `?token=` query is in any record."""
    with Mock(Settings()) as mock:
        mock.callback(ACME_OPEN, body(), key="log-3")
        mock.request("GET", f"/_mock/ui?token={ADMIN_TOKEN}")
    logged = json.dumps([r.args for r in request_log.records], default=str)
    assert ACME_TOKEN not in logged
    assert ADMIN_TOKEN not in logged


def test_the_layer_is_left_out_when_the_log_is_off(caplog: pytest.LogCaptureFixture) -> None:
    """With the logger below INFO (`--quiet`) the stack holds no request-log layer at all: it costs nothing."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with Mock(Settings()) as mock:
        layers = [getattr(m, "func", m) for m in mock.app.middleware.middlewares]  # type: ignore[attr-defined]
    assert AccessLogMiddleware not in layers


def test_the_layer_is_outermost_of_the_kits_when_on(request_log: pytest.LogCaptureFixture) -> None:
    """With the log on, the layer wraps the request id layer, so it sees the id every answer carries."""
    with Mock(Settings()) as mock:
        layers = [getattr(m, "func", m) for m in mock.app.middleware.middlewares]  # type: ignore[attr-defined]
    names = [layer.__name__ for layer in layers]
    assert names.index("AccessLogMiddleware") == names.index("RequestIdMiddleware") - 1


def test_text_line_holds_every_field() -> None:
    """The text line: UTC time, method, path, status, latency, replay flag, key and request id."""
    line = TextFormatter().format(record())
    assert line == f"2027-01-15T08:00:00.250Z POST {CALLBACK} 200 3.1ms replayed=false key=try-1 request_id=rid-1"


def test_text_line_quotes_what_could_break_it() -> None:
    """A key with blanks, quotes or a line break is quoted and escaped: one request stays one line."""
    line = TextFormatter().format(record(key='a "b"\nc', requestId=None, replayed=None))
    assert line.endswith(' replayed=- key="a \\"b\\"\\nc" request_id=-')
    assert "\n" not in line


def test_text_line_names_an_injected_fault() -> None:
    """A lost answer is named on its line (the status is what the mock would have answered)."""
    assert TextFormatter().format(record(fault="lost_response")).endswith(" fault=lost_response")


def test_json_object_holds_every_field() -> None:
    """`--log-format json`: one object per request, with the time and each field, null where absent."""
    entry = json.loads(JsonFormatter().format(record(replayed=None, key=None)))
    assert entry == {
        "time": "2027-01-15T08:00:00.250Z",
        "method": "POST",
        "path": CALLBACK,
        "status": 200,
        "latencyMs": 3.142,
        "replayed": None,
        "key": None,
        "requestId": "rid-1",
        "fault": None,
    }


def test_json_cuts_an_overlong_key() -> None:
    """A key longer than any valid one is cut to 128 characters."""
    assert len(json.loads(JsonFormatter().format(record(key="k" * 5000)))["key"]) == 128


def test_other_records_are_formatted_plainly() -> None:
    """A record that is not a request (someone else's message on the logger) is still written."""
    other = logging.LogRecord(LOGGER, logging.WARNING, __file__, 1, "something %s", ("else",), None)
    assert TextFormatter().format(other) == "something else"
    assert json.loads(JsonFormatter().format(other))["message"] == "something else"
