"""`callback-kit proxy` as a user runs it: a real process in front of the mock, announced, stopped cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from callback_kit.cli import CONTRACT_EXTRA
from tests.broken_servers import mock, serving
from tests.cli_support import KIT, Served, environment, kit, one_line
from tests.proxy_support import OPEN_ID, RESOLVE, TOKEN

# `callback-kit` as the base install runs it: every package of the `[contract]` extra unimportable.
BASE_INSTALL = (
    sys.executable,
    "-c",
    f"import sys, runpy; sys.modules.update(dict.fromkeys({CONTRACT_EXTRA!r})); "
    "runpy.run_module('callback_kit', run_name='__main__', alter_sys=True)",
)


@pytest.mark.parametrize("command", [KIT, BASE_INSTALL], ids=["with the contract extra", "base install"])
def test_the_proxy_forwards_a_callback_unchanged_and_stops_with_exit_0(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Banner with the bound address, one callback answered with the upstream's headers only, SIGTERM: exit 0;
    the base install (no `[contract]` extra) runs it too."""
    out, err = tmp_path / "proxy.out", tmp_path / "proxy.err"
    with serving(mock()) as upstream, open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            [*command, "proxy", "--upstream", upstream, "--port", "0"],
            cwd=tmp_path, env=environment(), stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
        proxy = Served(process, out, err)
        try:
            proxy.wait_for(" proxy on http://")
            url = proxy.stderr.split(" proxy on ")[1].split(" ")[0]
            headers = {"Authorization": f"Bearer {TOKEN}", "X-Idempotency-Key": f"cli-{time.monotonic_ns()}"}
            answer = httpx.post(f"{url}/v1/exceptions/{OPEN_ID}/callback", headers=headers, json=RESOLVE)
            code = proxy.stop(signal.SIGTERM)
        finally:
            proxy.kill()
    assert (answer.status_code, answer.headers["X-Idempotency-Replayed"]) == (200, "false")
    assert [name for name, _ in answer.headers.raw].count(b"date") == 1
    assert code == 0
    assert proxy.stderr.rstrip().endswith("callback-kit proxy: stopped")
    assert f"/v1/exceptions/{OPEN_ID}/callback 200" in proxy.stdout  # the request log, as the mock writes it


def test_a_port_out_of_range_is_one_line(tmp_path: Path) -> None:
    """--port 70000 is refused by the option's declaration, exit 2, no traceback."""
    result = kit("proxy", "--upstream", "http://127.0.0.1:1", "--port", "70000", cwd=tmp_path)
    assert "must be 1..65535" in result.stderr
    assert result.returncode == 2


def test_a_spec_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    """A --spec that is no OpenAPI document is refused in one line before anything is bound."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("just: text\n", encoding="utf-8")
    line = one_line(kit("proxy", "--upstream", "http://127.0.0.1:1", "--spec", str(bad), cwd=tmp_path))
    assert line.startswith("callback-kit proxy: ")
