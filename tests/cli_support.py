"""`callback-kit` as its users run it: a real process, its exit code, its stderr and its stdout."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KIT = (sys.executable, "-m", "callback_kit")
START_SECONDS = 60.0
STOP_SECONDS = 15.0


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without any CALLBACK_KIT_* variable, plus `variables`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CALLBACK_KIT_")}
    env.update(variables)
    return env


def kit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `callback-kit ARGS` to its end."""
    return subprocess.run(
        [*KIT, *args], cwd=cwd, env=env or environment(), capture_output=True, text=True, timeout=120, check=False
    )


def refusal(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The last line of stderr of a refused command, after checking its exit code and that it shows no traceback."""
    shown = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == code, shown
    assert "Traceback" not in result.stderr + result.stdout, shown
    lines = result.stderr.strip().splitlines()
    assert lines, shown
    return lines[-1]


def one_line(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The only line a refused command printed (on stderr; nothing on stdout)."""
    line = refusal(result, code)
    assert result.stderr.strip() == line, result.stderr
    assert result.stdout == "", result.stdout
    return line


@dataclass
class Served:
    """A running `callback-kit serve` whose output goes to files."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    @property
    def url(self) -> str:
        banner = next(line for line in self.stderr.splitlines() if " mock on http://" in line)
        return banner.split(" mock on ")[1].split(" ")[0]

    def wait_for(self, text: str, seconds: float = START_SECONDS) -> None:
        """Poll stderr until `text` shows; fail with the output if the process ends or time runs out."""
        deadline = time.monotonic() + seconds
        while text not in self.stderr:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode} before {text!r}:\n{self.stderr}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {seconds:.0f} s:\n{self.stderr}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        """Send `sig` to serve (only), and its exit code once it has ended."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        return self.process.wait(timeout=STOP_SECONDS)

    def kill(self) -> None:
        """End serve and its workers, whatever state they are in (they share its process group)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Served:
    """Start `callback-kit serve ARGS` in a process group of its own."""
    out, err = cwd / f"serve-{time.monotonic_ns()}.out", cwd / f"serve-{time.monotonic_ns()}.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            [*KIT, "serve", *args],
            cwd=cwd,
            env=env or environment(),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    return Served(process, out, err)


@contextlib.contextmanager
def serving(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`callback-kit serve ARGS`, announced (its banner printed); killed at the end if still running."""
    served = start(*args, cwd=cwd, env=env)
    try:
        served.wait_for(" mock on http://")
        yield served
    finally:
        served.kill()
