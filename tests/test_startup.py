"""What `run(settings)` checks before it announces the mock (`mock_server.startup`): each refusal one line."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.startup import (
    StartupError,
    _wait_for_store,
    bind,
    bound_url,
    check_spec,
    exposure_warning,
    prepare_store,
)
from tests.live import free_port

OWN = {"jwt_secret": "our-own-jwt-secret-of-32-bytes-at-least", "admin_token": "our-own-admin-token"}


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_is_not_warned_about(host: str) -> None:
    """Nobody else can reach a loopback address: no warning."""
    assert exposure_warning(Settings(host=host)) is None


def test_published_credentials_beyond_loopback_are_warned_about() -> None:
    """0.0.0.0 with the fixtures' tokens, JWT secret and admin token: one warning naming each and the fix."""
    assert exposure_warning(Settings(host="0.0.0.0", port=9000)) == (
        "warning: listening on 0.0.0.0 with the published tokens, JWT secret and admin token: anyone who can "
        "reach port 9000 can send callbacks and use the admin API (/_mock/); give your own --tokens, --jwt-secret "
        "and --admin-token, or --host 127.0.0.1"
    )


def test_auth_off_beyond_loopback_is_warned_about() -> None:
    """The matcher profile (auth off by default) on 0.0.0.0: anyone can send callbacks without a token."""
    warning = exposure_warning(Settings(host="0.0.0.0", profile="matcher", admin_token="our-own-admin-token"))
    assert warning is not None
    assert warning.startswith("warning: listening on 0.0.0.0 with auth off: anyone who can reach port 8080 can ")
    assert "give --auth on, or --host 127.0.0.1" in warning


def test_own_credentials_beyond_loopback_are_not_warned_about(tmp_path: Path) -> None:
    """Tokens, secret and admin token of one's own: nothing published is served, no warning."""
    tokens = tmp_path / "tokens.json"
    tokens.write_text('{"tokens": {"ours": {"tenant": "t", "principal": "p"}}, "admin": {"token": "x"}}')
    assert exposure_warning(Settings(host="0.0.0.0", tokens_file=tokens, **OWN)) is None


def test_port_in_use_is_one_line() -> None:
    """Binding a port another socket listens on says so, with the way out."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match=f"^cannot listen on 127.0.0.1:{port}: the port is in use; "):
            bind("127.0.0.1", port)


def test_port_zero_gets_a_real_port() -> None:
    """Port 0 binds a free port, and the URL names it."""
    sock = bind("127.0.0.1", 0)
    try:
        assert bound_url(sock) == f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()


def test_address_of_another_machine_is_one_line() -> None:
    """An address this machine does not have is refused naming --host."""
    with pytest.raises(StartupError, match=r"192\.0\.2\.1 is not an address of this machine; choose another --host"):
        bind("192.0.2.1", 0)


def test_default_store_folder_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default store's ./var/ is created; the store then answers."""
    monkeypatch.chdir(tmp_path)
    prepare_store(Settings(store_url=f"sqlite://{tmp_path}/var/mock.sqlite3"), say=print)
    assert (tmp_path / "var").is_dir()


def test_other_missing_folders_are_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any other missing folder is refused, and left uncreated."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StartupError, match="does not exist"):
        prepare_store(Settings(store_url=f"sqlite://{tmp_path}/elsewhere/mock.sqlite3"), say=print)
    assert not (tmp_path / "elsewhere").exists()


def test_store_that_does_not_answer_names_the_way_to_wait() -> None:
    """Without --wait-for-store, an absent store is refused at once, pointing at the option."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(StartupError, match=r"; start it, or give --wait-for-store SECONDS to wait for it$"):
        asyncio.run(_wait_for_store(url, 0, print, clock=lambda: 0.0))


def test_waiting_for_the_store_says_so_once_then_gives_up() -> None:
    """With --wait-for-store, one line says it waits; when the (injected) clock passes the time, it gives up."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    said: list[str] = []
    times = iter([0.0, 1.0, 31.0])
    with pytest.raises(StartupError, match=f"^the store {url} did not answer within 30 s "):
        asyncio.run(_wait_for_store(url, 30, said.append, clock=lambda: next(times)))
    assert len(said) == 1
    assert said[0].startswith(f"waiting up to 30 s for the store {url} (")


def test_spec_without_the_callback_operation_is_refused(tmp_path: Path) -> None:
    """A spec that is valid OpenAPI but not the kit's is refused naming what it lacks."""
    spec = tmp_path / "other.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: other, version: '1'}\npaths: {}\n", encoding="utf-8")
    with pytest.raises(StartupError, match=r"is not a spec the mock can serve: paths\./v1/exceptions/"):
        check_spec(Settings(spec_path=spec))
