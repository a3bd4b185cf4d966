"""A headless Chromium for tests, driven over W3C WebDriver (chromedriver) with nothing but httpx.

`browser_session(tmp)` starts chromedriver on a free port in its own process group, opens one session of
headless Chromium, and at the end closes the session and stops that process group. Without chromium and
chromedriver the test is skipped with the reason, or failed when `CI=true` (the test script installs them).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import free_port

# W3C WebDriver's key for an element reference in a JSON answer.
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1100",
)


class WebDriverError(AssertionError):
    """chromedriver refused a command: the command, the status and WebDriver's error and message."""


def require_browser() -> tuple[str, str]:
    """The paths of chromium and chromedriver; skips (or fails, when CI=true) if either is missing."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    missing = " and ".join(name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path)
    reason = f"{missing} not installed (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


class Browser:
    """One WebDriver session: open a page, run JavaScript in it, wait for the page to show something."""

    def __init__(self, http: httpx.Client, session: str) -> None:
        self.http = http
        self.session = session

    def command(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        answer = self.http.request(method, f"/session/{self.session}{path}", json=payload)
        value = answer.json().get("value")
        if answer.status_code != 200:
            error = value if isinstance(value, dict) else {}
            raise WebDriverError(
                f"{method} {path} answered {answer.status_code}: {error.get('error')}: "
                f"{str(error.get('message'))[:500]}"
            )
        return value

    def open(self, url: str) -> None:
        self.command("POST", "/url", {"url": url})

    def run(self, script: str, *args: Any) -> Any:
        """Run the body of a JavaScript function in the page and return what it returns."""
        return self.command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script: str, *args: Any, timeout: float = 10.0) -> Any:
        """Poll `script` until it returns something truthy (at most `timeout` seconds); return that."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.run(script, *args)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"the page never satisfied {script!r} within {timeout} s (last value {value!r})")

    def type_into(self, css: str, text: str) -> None:
        element = self.command("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]
        self.command("POST", f"/element/{element}/clear", {})
        self.command("POST", f"/element/{element}/value", {"text": text})

    def click(self, css: str) -> None:
        element = self.command("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]
        self.command("POST", f"/element/{element}/click", {})

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.command("GET", "/screenshot")))
        return path


@contextlib.contextmanager
def browser_session(tmp: Path) -> Iterator[Browser]:
    """A headless Chromium session; chromedriver and every browser process are stopped at the end."""
    chromium, driver = require_browser()
    port = free_port()
    log = tmp / "chromedriver.log"
    process = subprocess.Popen(
        [driver, f"--port={port}", f"--log-path={log}", "--allowed-ips=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            _wait_ready(http, process, log)
            capabilities = {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": [*FLAGS, f"--user-data-dir={tmp / 'profile'}"]},
            }
            answer = http.post("/session", json={"capabilities": {"alwaysMatch": capabilities}})
            if answer.status_code != 200:
                raise WebDriverError(f"chromedriver could not start Chromium: {answer.text[:1000]}")
            browser = Browser(http, answer.json()["value"]["sessionId"])
            try:
                yield browser
            finally:
                with contextlib.suppress(httpx.HTTPError):
                    http.delete(f"/session/{browser.session}")
    finally:
        _stop(process)


def _wait_ready(http: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromedriver exited with {process.returncode}: {_tail(log)}")
        with contextlib.suppress(httpx.TransportError, ValueError):
            if http.get("/status", timeout=1).json()["value"]["ready"]:
                return
        time.sleep(0.05)
    raise RuntimeError(f"chromedriver was not ready within 20 s: {_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop chromedriver's process group (it holds the browser it started), SIGKILL after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
