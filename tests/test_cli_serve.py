"""`callback-kit serve` at every edge, run as a real process: a clear line and exit 2 for each mistake, never a
traceback or uvicorn's exit 3; the address it really got; a clean and fast stop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.cli_support import environment, kit, one_line, refusal, serving, start
from tests.live import free_port

CALLBACK = "/v1/exceptions/1a010000-0000-4000-8000-000100000001/callback"
TOKEN = "acme-integration-token"


def test_port_out_of_range_is_refused_with_the_range(tmp_path: Path) -> None:
    """`--port 70000` exits 2 naming the valid range, before anything listens."""
    line = refusal(kit("serve", "--port", "70000", cwd=tmp_path))
    assert line.endswith("argument --port: must be 1..65535, or 0 for any free port, got 70000")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--workers", "0", "argument --workers: must be at least 1, got 0"),
        ("--max-body-bytes", "-1", "argument --max-body-bytes: must be at least 1, got -1"),
        ("--rate-limit", "-5", "argument --rate-limit: must be 0 (off) or more, got -5"),
        ("--wait-for-store", "-1", "argument --wait-for-store: must be 0 or more seconds, got -1.0"),
    ],
)
def test_number_out_of_range_is_refused(tmp_path: Path, option: str, value: str, message: str) -> None:
    """A count below its minimum exits 2 with the rule, instead of a mock that refuses every callback."""
    assert refusal(kit("serve", option, value, cwd=tmp_path)).endswith(message)


def test_unknown_log_level_lists_the_choices(tmp_path: Path) -> None:
    """`--log-level bogus` exits 2 listing the levels (it was a KeyError traceback)."""
    line = refusal(kit("serve", "--log-level", "bogus", cwd=tmp_path))
    assert "argument --log-level: invalid choice: 'bogus'" in line
    assert "'warning'" in line


def test_unknown_option_shows_the_serve_usage(tmp_path: Path) -> None:
    """`serve --bogus` prints serve's usage, not the top-level one, and exits 2."""
    result = kit("serve", "--bogus", cwd=tmp_path)
    assert refusal(result) == "callback-kit serve: error: unrecognized arguments: --bogus"
    assert result.stderr.startswith("usage: callback-kit serve [-h] [--host HOST] [--port N]")


def test_port_zero_announces_the_port_it_got(tmp_path: Path) -> None:
    """`--port 0` prints the bound address, which answers."""
    with serving("--port", "0", "--store", "memory://", cwd=tmp_path) as served:
        port = int(served.url.rsplit(":", 1)[1])
        assert port > 0
        assert httpx.get(f"{served.url}/openapi.json", timeout=10).status_code == 200


def test_port_in_use_is_one_line_before_any_banner(tmp_path: Path) -> None:
    """A port in use: one line, exit 2, no banner announcing an address that is not ours, no store touched."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(kit("serve", "--port", str(port), cwd=tmp_path))
    assert not (tmp_path / "var").exists()
    assert line == (
        f"callback-kit serve: cannot listen on 127.0.0.1:{port}: the port is in use; choose another --port, "
        "or --port 0 for any free one"
    )


def test_absent_redis_is_one_line_naming_the_url(tmp_path: Path) -> None:
    """A Redis URL with nothing behind it: one line naming the URL and --wait-for-store, exit 2."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    line = one_line(kit("serve", "--port", "0", "--store", url, cwd=tmp_path))
    assert line.startswith(f"callback-kit serve: the store {url} does not answer (")
    assert line.endswith("start it, or give --wait-for-store SECONDS to wait for it")


@pytest.mark.redis
@pytest.mark.parametrize("command", [("serve",), ("proxy", "--upstream", "http://127.0.0.1:9")])
def test_redis_database_it_does_not_have_is_one_line(tmp_path: Path, redis_url: str, command: tuple[str, ...]) -> None:
    """A Redis database past the server's last (99 of 16) is one line naming the URL and Redis's reason, exit 2."""
    url = redis_url.rsplit("/", 1)[0] + "/99"
    line = one_line(kit(*command, "--port", "0", "--store", url, cwd=tmp_path))
    assert line == f'callback-kit {command[0]}: Store URL "{url}": Redis refuses it (DB index is out of range)'


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://127.0.0.1:9/abc", 'the database "abc" must be a number'),
        ("redis://127.0.0.1:9/9?namespace=", "namespace must be one or more letters"),
    ],
)
def test_redis_url_redis_py_would_misread_is_one_line(tmp_path: Path, url: str, message: str) -> None:
    """A database that is no number (redis-py would use 0) or an empty namespace: one line, before any connection."""
    line = one_line(kit("serve", "--port", "0", "--store", url, cwd=tmp_path))
    assert line.startswith(f'callback-kit serve: Store URL "{url}": {message}')


def test_store_password_stays_out_of_messages(tmp_path: Path) -> None:
    """The password of a Redis URL is not printed when the store does not answer."""
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    line = one_line(kit("serve", "--port", "0", "--store", url, cwd=tmp_path))
    assert "hunter2" not in line
    assert "redis://:***@127.0.0.1:" in line


def test_wait_for_store_gives_up_after_the_time_given(tmp_path: Path) -> None:
    """`--wait-for-store 0.5` with nothing there says it waited, then exits 2 naming the time."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = kit("serve", "--port", "0", "--store", url, "--wait-for-store", "0.5", cwd=tmp_path)
    line = refusal(result)
    assert line.startswith(f"callback-kit serve: the store {url} did not answer within 0.5 s (")
    assert result.stderr.startswith(f"callback-kit serve: waiting up to 0.5 s for the store {url} (")


@pytest.mark.redis
def test_wait_for_store_starts_once_redis_answers(tmp_path: Path) -> None:
    """With --wait-for-store, serve waits for a Redis that starts later, then announces itself and serves."""
    server = shutil.which("redis-server")
    if server is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        pytest.fail(reason) if os.environ.get("CI") == "true" else pytest.skip(reason)
    port = free_port()
    served = start("--port", "0", "--store", f"redis://127.0.0.1:{port}/0", "--wait-for-store", "60", cwd=tmp_path)
    redis = None
    try:
        served.wait_for("waiting up to 60 s for the store")
        options = ("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
        redis = subprocess.Popen([server, *options], stdout=subprocess.DEVNULL, cwd=tmp_path)
        served.wait_for(" mock on http://")
        assert httpx.get(f"{served.url}/openapi.json", timeout=10).status_code == 200
    finally:
        served.kill()
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)


def test_sqlite_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    """A SQLite file whose folder does not exist is refused in one line; the folder is not created."""
    missing = tmp_path / "nonexistent-dir"
    line = one_line(kit("serve", "--store", f"sqlite://{missing}/x.db", cwd=tmp_path))
    assert line == (
        f'callback-kit serve: Store URL "sqlite://{missing}/x.db": the folder {missing} does not exist; '
        "create it, or name a file in a folder that does"
    )
    assert not missing.exists()


def test_default_store_creates_var_and_is_announced_in_the_one_spelling(tmp_path: Path) -> None:
    """The default store is ./var/mock.sqlite3 (./var created), shown as sqlite:// plus the absolute path."""
    with serving("--port", "0", cwd=tmp_path) as served:
        assert f"(store sqlite://{tmp_path}/var/mock.sqlite3, 1 worker)" in served.stderr
    assert (tmp_path / "var").is_dir()


def test_four_slash_sqlite_url_is_shown_in_the_one_spelling(tmp_path: Path) -> None:
    """SQLAlchemy's `sqlite:////abs` names the same file and is announced as `sqlite:///abs`."""
    with serving("--port", "0", "--store", f"sqlite:///{tmp_path}/four.db", cwd=tmp_path) as served:
        assert f"(store sqlite://{tmp_path}/four.db," in served.stderr
    assert (tmp_path / "four.db").is_file()


def test_help_and_banner_spell_sqlite_urls_alike(tmp_path: Path) -> None:
    """serve's help shows its default store exactly as the banner does."""
    result = kit("serve", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert f"(default: sqlite://{tmp_path}/var/mock.sqlite3)" in " ".join(result.stdout.split()).replace("- ", "-")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_cleanly(tmp_path: Path, workers: str) -> None:
    """SIGINT to a running serve (one or several workers): exit 0, "stopped", no traceback."""
    with serving("--port", "0", "--store", "memory://", "--workers", workers, cwd=tmp_path) as served:
        assert served.stop(signal.SIGINT) == 0
        assert served.stderr.strip().endswith("callback-kit serve: stopped")
        assert "Traceback" not in served.stderr + served.stdout


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    """SIGTERM (what a container runtime sends) stops serve with exit 0 as Ctrl-C does."""
    with serving("--port", "0", "--store", "memory://", cwd=tmp_path) as served:
        assert served.stop(signal.SIGTERM) == 0
        assert served.stderr.strip().endswith("callback-kit serve: stopped")


def test_request_log_is_on_by_default(tmp_path: Path) -> None:
    """`serve --log-level info` logs one line per request: method, path, status, replay, key, request id."""
    with serving("--port", "0", "--store", "memory://", "--log-level", "info", cwd=tmp_path) as served:
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Idempotency-Key": "log-key-1"}
        body = {"externalSystem": "JIRA", "externalIssueId": "RECON-1", "status": "RESOLVED"}
        first = httpx.post(served.url + CALLBACK, json=body, headers=headers, timeout=10)
        second = httpx.post(served.url + CALLBACK, json=body, headers=headers, timeout=10)
        assert served.stop() == 0
    lines = [line for line in served.stdout.splitlines() if CALLBACK in line]
    assert len(lines) == 2, served.stdout
    assert f"POST {CALLBACK} 200 " in lines[0]
    assert lines[0].endswith(f" replayed=false key=log-key-1 request_id={first.headers['x-request-id']}")
    assert lines[1].endswith(f" replayed=true key=log-key-1 request_id={second.headers['x-request-id']}")
    assert TOKEN not in served.stdout + served.stderr


def test_request_log_as_json(tmp_path: Path) -> None:
    """`--log-format json` writes one JSON object per request."""
    with serving("--port", "0", "--store", "memory://", "--log-format", "json", cwd=tmp_path) as served:
        answer = httpx.get(f"{served.url}/_mock/ui?token=kit-admin-token", timeout=10)
        assert served.stop() == 0
    [entry] = [json.loads(line) for line in served.stdout.splitlines()]
    assert entry["method"] == "GET"
    assert entry["path"] == "/_mock/ui"
    assert entry["status"] == answer.status_code
    assert entry["requestId"] == answer.headers["x-request-id"]
    assert "kit-admin-token" not in served.stdout


def test_quiet_turns_the_request_log_off(tmp_path: Path) -> None:
    """`--quiet` logs no request."""
    with serving("--port", "0", "--store", "memory://", "--quiet", cwd=tmp_path) as served:
        assert httpx.get(f"{served.url}/openapi.json", timeout=10).status_code == 200
        assert served.stop() == 0
    assert served.stdout == ""


def test_non_loopback_host_with_published_tokens_is_warned_about(tmp_path: Path) -> None:
    """`--host 0.0.0.0` with the published credentials prints the warning before binding.

    The port is held (bound, never listening), so serve stops at its bind: nothing is served beyond loopback.
    """
    with socket.socket() as held:
        held.bind(("0.0.0.0", 0))
        port = held.getsockname()[1]
        result = kit("serve", "--host", "0.0.0.0", "--port", str(port), "--store", "memory://", cwd=tmp_path)
    warning, refused = result.stderr.strip().splitlines()
    assert warning == (
        "callback-kit serve: warning: listening on 0.0.0.0 with the published tokens, JWT secret and admin token: "
        f"anyone who can reach port {port} can send callbacks and use the admin API (/_mock/); give your own "
        "--tokens, --jwt-secret and --admin-token, or --host 127.0.0.1"
    )
    assert refusal(result) == refused
    assert "the port is in use" in refused


def test_loopback_host_is_not_warned_about(tmp_path: Path) -> None:
    """On loopback the published tokens are no risk: no warning."""
    with serving("--port", "0", "--store", "memory://", cwd=tmp_path) as served:
        assert "warning" not in served.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "No such file or directory"), ("{not json", "must be JSON like")],
)
def test_unusable_token_file_is_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    """A missing or malformed --tokens file is named in one line, exit 2."""
    tokens = tmp_path / "tokens.json"
    if content is not None:
        tokens.write_text(content, encoding="utf-8")
    line = one_line(kit("serve", "--port", "0", "--store", "memory://", "--tokens", str(tokens), cwd=tmp_path))
    assert str(tokens) in line
    assert message in line


def test_short_jwt_secret_is_one_line(tmp_path: Path) -> None:
    """A JWT secret shorter than HS256 allows is refused in one line."""
    line = one_line(kit("serve", "--store", "memory://", "--jwt-secret", "short", cwd=tmp_path))
    assert line == (
        "callback-kit serve: the JWT secret must be at least 32 bytes for HS256 (RFC 7518 section 3.2), got 5"
    )


def test_spec_that_is_not_the_kits_is_one_line(tmp_path: Path) -> None:
    """A valid OpenAPI document without the callback operation is refused, naming what is missing."""
    spec = tmp_path / "petstore.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: pets, version: '1'}\npaths: {}\n", encoding="utf-8")
    line = one_line(kit("serve", "--store", "memory://", "--spec", str(spec), cwd=tmp_path))
    assert line.startswith(f"callback-kit serve: {spec} is not a spec the mock can serve: ")
    assert "paths./v1/exceptions/{exceptionId}/callback.post is missing" in line


def test_empty_variables_count_as_unset(tmp_path: Path) -> None:
    """Empty CALLBACK_KIT_* variables (as CI systems export them) leave the defaults."""
    env = environment(CALLBACK_KIT_STORE="", CALLBACK_KIT_LOG_LEVEL="", CALLBACK_KIT_QUIET="", CALLBACK_KIT_PORT="")
    with serving("--port", "0", cwd=tmp_path, env=env) as served:
        assert f"(store sqlite://{tmp_path}/var/mock.sqlite3, 1 worker)" in served.stderr


def test_bad_port_variable_names_the_variable(tmp_path: Path) -> None:
    """A CALLBACK_KIT_PORT that is not a port exits 2 naming the variable and the range."""
    line = refusal(kit("serve", cwd=tmp_path, env=environment(CALLBACK_KIT_PORT="eighty")))
    assert line == (
        "callback-kit serve: error: CALLBACK_KIT_PORT='eighty': must be a whole number, 1..65535, or 0 for any "
        "free port, got 'eighty'"
    )


def test_variable_counts_like_its_option(tmp_path: Path) -> None:
    """CALLBACK_KIT_SERVE_WORKERS=0 is refused like --workers 0."""
    line = refusal(kit("serve", cwd=tmp_path, env=environment(CALLBACK_KIT_SERVE_WORKERS="0")))
    assert line == "callback-kit serve: error: CALLBACK_KIT_SERVE_WORKERS='0': must be at least 1, got 0"


def test_unknown_host_is_one_line(tmp_path: Path) -> None:
    """A host name that does not resolve is refused in one line."""
    host = "no-such-host.invalid"
    line = one_line(kit("serve", "--host", host, "--port", "0", "--store", "memory://", cwd=tmp_path))
    assert line.startswith(f"callback-kit serve: cannot listen on {host}:0: the host '{host}' is unknown (")
