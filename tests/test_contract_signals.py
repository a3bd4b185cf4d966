"""SIGINT and SIGTERM during a live `callback-kit contract`: the run stops within 5 seconds even while a request
is blocked, says `interrupted`, writes its reports marked interrupted, exits 130 or 143, and kills the exception
factory's command. Never a pass.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import broken_servers, odd_servers
from tests.broken_servers import TOKEN, serving

ROOT = Path(__file__).resolve().parents[1]
STOP_WITHIN = 5.0
PROBE_CALLBACKS = 2  # the probe's callback with --token, and one without credentials


def start(*args: str) -> subprocess.Popen[str]:
    """`callback-kit contract ARGS` in the background, its output in a pipe."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CALLBACK_KIT_", "PYTEST_"))}
    command = [sys.executable, "-m", "callback_kit", "contract", *args]
    return subprocess.Popen(command, cwd=ROOT, env=clean, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stopped(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str, float]:
    """Send `sig`; the exit code, the output and the seconds the process took to end."""
    sent = time.monotonic()
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, output, time.monotonic() - sent


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.fixture
def slow_server() -> Iterator[tuple[str, odd_servers.Slow]]:
    """The mock, holding every callback after the probe's until the test ends."""
    slow = odd_servers.Slow(broken_servers.mock(), quick=PROBE_CALLBACKS)
    with serving(slow) as url:
        try:
            yield url, slow
        finally:
            slow.release.set()  # before the server stops: it waits for the requests it holds


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_blocked_request_interrupts_the_run(
    sig: signal.Signals, code: int, slow_server: tuple[str, odd_servers.Slow], tmp_path: Path
) -> None:
    """Stopped while a request is held: out within 5 s, `interrupted`, the reports say so, exit 130 / 143."""
    url, slow = slow_server
    junit, har = tmp_path / "junit.xml", tmp_path / "run.har"
    process = start(
        "--base-url", url, "--token", TOKEN, "--max-examples", "5", "--junit", str(junit), "--har", str(har)
    )
    try:
        assert slow.holding.wait(timeout=60), "the run never reached the slow server"
    finally:
        returncode, output, seconds = stopped(process, sig)
    assert returncode == code, output
    assert seconds < STOP_WITHIN, (seconds, output)
    assert "\ninterrupted\n" in output
    assert output.strip().splitlines()[-1].startswith(f"verdict: interrupted by {sig.name}")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["verdict"] == "interrupted"
    assert properties["exit_code"] == str(code)
    assert int(suite.get("errors", "0")) >= 1  # the check that was running
    log = json.loads(har.read_text())["log"]
    assert "interrupted" in log["comment"]


def test_an_interrupt_kills_the_factory_command(tmp_path: Path) -> None:
    """SIGTERM while the exception factory's command runs ends the command and what it started."""
    pid_file = tmp_path / "factory.pid"
    factory = f"sleep 120 & echo $! > {pid_file}; wait; echo"
    with serving(broken_servers.mock()) as url:
        process = start("--base-url", url, "--token", TOKEN, "--exception-factory", factory)
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert process.poll() is None, "the run ended before its factory ran"
            assert time.monotonic() < deadline, "the factory never ran"
            time.sleep(0.05)  # polling for the factory's first run
        child = int(pid_file.read_text())
        assert alive(child)
        returncode, output, seconds = stopped(process, signal.SIGTERM)
    assert returncode == 143, output
    assert seconds < STOP_WITHIN
    assert not alive(child), "the factory's command outlived the run"
