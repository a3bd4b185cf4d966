"""Load from wrk: one bounded run of one Lua script against one URL, read back as a `Measurement`.

The scripts in `bench/lua/` print one line `BENCH_JSON {...}` from wrk's `done()`: request count, duration,
socket errors, latency percentiles (microseconds) and the count of every HTTP status seen.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua"
MARK = "BENCH_JSON "


class LoadFailed(RuntimeError):
    """wrk exited badly or printed no results."""


@dataclass(frozen=True)
class Load:
    """How hard and how long: wrk's `-t`, `-c` and `-d`; a warm-up when a server has started (first-processing
    requests, three times longer for a JIT runtime such as Node's), and a short one before each measured run."""

    threads: int = 2
    connections: int = 32
    seconds: int = 8
    warmup_seconds: int = 1
    start_warmup_seconds: int = 3


@dataclass(frozen=True)
class Measurement:
    """What one wrk run saw."""

    requests: int
    seconds: float
    latency_ms: dict[str, float]
    socket_errors: dict[str, int]
    statuses: dict[int, int]
    server_cpu_seconds: float = 0.0
    wrk_cpu_seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def unexpected(self, expected: frozenset[int]) -> int:
        """Responses with a status the path should not give, plus connections that failed."""
        wrong = sum(n for status, n in self.statuses.items() if status not in expected)
        return wrong + sum(self.socket_errors.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "latency_ms": self.latency_ms,
            "socket_errors": self.socket_errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            # CPU the server's processes used per request, and how many of the machine's CPUs each side had.
            "server_cpu_us_per_request": round(self.server_cpu_seconds / max(1, self.requests) * 1e6, 1),
            "server_cpu_share": round(self.server_cpu_seconds / self.seconds, 2) if self.seconds else None,
            "wrk_cpu_share": round(self.wrk_cpu_seconds / self.seconds, 2) if self.seconds else None,
        }


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    binary = wrk_binary()
    if binary is None:
        return "not found"
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip() if (done.stdout or done.stderr) else "unknown"


def run_wrk(url: str, script: str, args: list[str], load: Load, seconds: int) -> Measurement:
    """Run `wrk` for `seconds` with `bench/lua/<script>` and the script arguments `args`."""
    binary = wrk_binary()
    if binary is None:
        raise LoadFailed("wrk not found on PATH: install it with `apt-get install -y wrk` (Debian package wrk)")
    command = [
        binary,
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
        url,
        "--",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARK)), None)
    if done.returncode != 0 or line is None:
        output = done.stdout[-500:] + done.stderr[-500:]
        raise LoadFailed(f"wrk failed ({done.returncode}): {' '.join(command)}\n{output}")
    return parse(line[len(MARK) :])


def parse(text: str) -> Measurement:
    """A `Measurement` from the JSON a Lua `done()` printed."""
    data = json.loads(text)
    errors = data["errors"]
    return Measurement(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        latency_ms={name: round(data["latency_us"][name] / 1000, 2) for name in ("p50", "p90", "p99", "max", "mean")},
        socket_errors={name: int(errors[name]) for name in ("connect", "read", "write", "timeout")},
        statuses={int(k): int(v) for k, v in data["statuses"].items()},
    )
