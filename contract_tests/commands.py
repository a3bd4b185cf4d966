"""The user's shell commands (factory, reader): each in a process group of its own, ended on interrupt.

A command runs with `CALLBACK_KIT_BASE_URL` and `CALLBACK_KIT_TOKEN` (the owning tenant's token) in its
environment and its argument last; `close` kills every command still running with what it started.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
from dataclasses import dataclass

from callback_kit.contract_tests.failures import ConfigurationError, Interrupted

COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Finished:
    """A command that ended: the line run, its exit code and what it printed."""

    line: str
    returncode: int
    stdout: str
    stderr: str

    def output(self) -> str:
        return f"it exited {self.returncode}, stdout {self.stdout[-300:]!r}, stderr {self.stderr[-300:]!r}"


class ShellCommands:
    """Runs one user command with an argument; `what` names it in errors (`exception factory`), raised as `error`."""

    def __init__(
        self, command: str, what: str, base_url: str, stop: threading.Event, error: type[ConfigurationError]
    ) -> None:
        self.command, self.what, self.base_url, self.stop, self.error = command, what, base_url, stop, error
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()

    def run(self, argument: str, owner_token: str) -> Finished:
        """Run `COMMAND ARGUMENT`; raises `Interrupted` once the run is stopping, `self.error` on a timeout."""
        environ = {**os.environ, "CALLBACK_KIT_BASE_URL": self.base_url, "CALLBACK_KIT_TOKEN": owner_token}
        line = f"{self.command} {shlex.quote(argument)}"
        with self._lock:
            if self.stop.is_set():
                raise Interrupted
            process = subprocess.Popen(
                line, shell=True, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                start_new_session=True,
            )  # fmt: skip
            self._running.add(process)
        try:
            stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill(process)
            raise self.error(f"{self.what} `{line}` did not finish within {COMMAND_TIMEOUT:.0f} s") from None
        finally:
            with self._lock:
                self._running.discard(process)
        if self.stop.is_set():
            raise Interrupted
        return Finished(line, process.returncode, stdout, stderr)

    def close(self) -> None:
        """Kill every command still running, with the processes it started (its process group)."""
        with self._lock:
            running = list(self._running)
        for process in running:
            self._kill(process)

    @staticmethod
    def _kill(process: subprocess.Popen[str]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
