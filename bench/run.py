"""`python -m bench`: start each configuration, load each request path with wrk, write JSON, markdown and a chart.

Configurations: the bare Starlette ceiling (`bench/bare.py`), Stoplight Prism (when Node.js is present), and
the mock on the memory, SQLite and Redis stores with 1 and 2 workers, with the request log on (the default)
and, at 1 worker, off (`serve --quiet`). Paths:

    first     first processing: a fresh idempotency key per request, spread over the seeded exceptions (200)
    hot       first processing, every request to one exception (its history full after 100 callbacks) (200)
    replay    one key, already processed: the stored response replayed (200)
    reject    a body without `status` (400; Prism answers 422)
    conflict  one key held in flight by `X-Mock-Fault: slow-processing`: every request gets 409 (mock only)

Every number of one run is compared with the bare app of the same run, on the same machine, at the same time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import httpx

from bench import report
from bench.load import Load, LoadFailed, Measurement, run_wrk, wrk_binary, wrk_version
from bench.servers import (
    ID_PREFIX,
    PRISM_VERSION,
    TOKEN,
    Server,
    ServerFailed,
    code_state,
    install_prism,
    snapshot_code,
    start_bare,
    start_mock,
    start_prism,
    write_fixtures,
)

Kind = Literal["bare", "prism", "prism-quiet", "mock"]
BODY = (Path(__file__).resolve().parent / "lua" / "callback.json").read_bytes()
DEFAULT_OUT = Path(__file__).resolve().parent / "results"
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Config:
    """One server setup to load."""

    name: str
    kind: Kind
    store: str | None = None
    workers: int = 1
    quiet: bool = False  # the mock with `--quiet`: no request log


@dataclass(frozen=True)
class Path_:
    """One request path: its wrk script and the statuses it should give."""

    name: str
    script: str
    expected: frozenset[int]


PATHS = {
    "first": Path_("first", "fresh_key.lua", frozenset({200})),
    "hot": Path_("hot", "fresh_key.lua", frozenset({200})),
    "replay": Path_("replay", "same_key.lua", frozenset({200})),
    "reject": Path_("reject", "invalid_body.lua", frozenset({400})),
    "conflict": Path_("conflict", "same_key.lua", frozenset({409})),
}
PRISM_REJECT = frozenset({400, 422})


def configurations(stores: list[str]) -> list[Config]:
    configs = [
        Config("bare Starlette", "bare"),
        Config(f"Prism {PRISM_VERSION}", "prism"),
        # Prism logs every request at its default level, which is most of its cost: the same without that.
        Config(f"Prism {PRISM_VERSION} -v warn", "prism-quiet"),
    ]
    for store in stores:
        configs += [Config(f"mock {store} ×{n}", "mock", store, n) for n in (1, 2)]
        configs.append(Config(f"mock {store} ×1 --quiet", "mock", store, 1, quiet=True))
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: bench/results)")
    parser.add_argument("--quick", action="store_true", help="short run: 2 s per path, warm-ups of 1 s (about 5 min)")
    parser.add_argument("--seconds", type=int, default=None, help="measured seconds per path (default 8)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up seconds before each path (default 1)")
    parser.add_argument(
        "--start-warmup", type=int, default=None, help="warm-up seconds after a server starts (default 3, Prism 9)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (-c)")
    parser.add_argument("--exceptions", type=int, default=1000, help="OPEN exceptions seeded for the first path")
    parser.add_argument("--stores", default="memory,sqlite,redis", help="mock stores to run, comma-separated")
    parser.add_argument("--only", default=None, help="run only configurations whose name contains this text")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism (no npm install)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="the Redis to use (a fresh namespace is used)")
    args = parser.parse_args(argv)

    if wrk_binary() is None:
        print("bench: wrk not found on PATH. Install it: apt-get install -y wrk (Debian package wrk)", file=sys.stderr)
        return 2
    load = Load(
        threads=args.threads,
        connections=args.connections,
        seconds=args.seconds or (2 if args.quick else 8),
        warmup_seconds=args.warmup if args.warmup is not None else 1,
        start_warmup_seconds=args.start_warmup if args.start_warmup is not None else (1 if args.quick else 3),
    )
    notes: list[str] = []
    configs = configurations([s.strip() for s in args.stores.split(",") if s.strip()])
    if args.only:
        # The bare app always runs: every ratio is to it.
        configs = [c for c in configs if c.kind == "bare" or args.only.lower() in c.name.lower()]
    if args.no_prism:
        configs = [c for c in configs if not c.kind.startswith("prism")]
        notes.append("Prism skipped (--no-prism).")
    elif any(c.kind.startswith("prism") for c in configs) and (reason := install_prism()) is not None:
        configs = [c for c in configs if not c.kind.startswith("prism")]
        notes.append(reason)
        print(f"bench: {reason}", file=sys.stderr)
    if any(c.store == "redis" for c in configs) and (reason := _redis_missing(args.redis_url)) is not None:
        configs = [c for c in configs if c.store != "redis"]
        notes.append(reason)
        print(f"bench: {reason}", file=sys.stderr)

    started = time.time()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="callback-kit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        fixtures = write_fixtures(tmp / "fixtures", args.exceptions)
        code, code_copy = code_state(), snapshot_code(tmp / "code")
        for config in configs:
            rows += _run_config(config, load, tmp, fixtures, args, notes, code_copy)
    results = {
        "meta": _meta(load, args, started, code),
        "notes": notes,
        "rows": report.with_ratios(rows),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    written = report.write_all(results, args.out)
    print(report.markdown_table(results["rows"]))
    print("\n" + report.targets(results["rows"]))
    print(f"\nbench: {time.time() - started:.0f} s; wrote {', '.join(str(p) for p in written)}")
    return 0


def _run_config(
    config: Config,
    load: Load,
    tmp: Path,
    fixtures: Path,
    args: argparse.Namespace,
    notes: list[str],
    code_copy: Path,
) -> list[dict[str, Any]]:
    print(f"bench: {config.name}", flush=True)
    rows: list[dict[str, Any]] = []
    try:
        with _server(config, tmp, fixtures, args.redis_url, code_copy) as server:
            warmup = load.start_warmup_seconds * (3 if config.kind.startswith("prism") else 1)
            if warmup:
                with contextlib.suppress(LoadFailed):  # a path that cannot run says so below
                    run_wrk(server.url, PATHS["first"].script, _first_args(args.exceptions), load, warmup)
            for path in PATHS.values():
                row: dict[str, Any] = {
                    "config": config.name,
                    "kind": config.kind,
                    "store": config.store,
                    "workers": config.workers,
                    "path": path.name,
                }
                skip = _skip_reason(config, path)
                if skip:
                    rows.append({**row, "skipped": skip})
                    continue
                load_before = os.getloadavg()[0]
                try:
                    measured, expected = _measure(server, config, path, load, args.exceptions)
                except (LoadFailed, httpx.HTTPError, RuntimeError) as exc:
                    rows.append({**row, "skipped": f"failed: {str(exc).splitlines()[0][:200]}"})
                    print(f"bench:   {path.name}: FAILED {exc}", file=sys.stderr)
                    continue
                rows.append(
                    {
                        **row,
                        **measured.as_json(),
                        "expected": sorted(expected),
                        "unexpected": measured.unexpected(expected),
                        "loadavg_before": round(load_before, 2),
                    }
                )
                print(
                    f"bench:   {path.name:9s} {measured.rps:9.0f} req/s  p50 {measured.latency_ms['p50']:6.1f} ms  "
                    f"p99 {measured.latency_ms['p99']:6.1f} ms  statuses {dict(sorted(measured.statuses.items()))}",
                    flush=True,
                )
    except ServerFailed as exc:
        notes.append(f"{config.name}: did not start: {str(exc).splitlines()[0]}")
        print(f"bench: {config.name} did not start:\n{exc}", file=sys.stderr)
    return rows


def _skip_reason(config: Config, path: Path_) -> str | None:
    if path.name == "conflict" and config.kind != "mock":
        return "no idempotency state (no in-flight keys)"
    if path.name == "conflict" and config.store == "memory" and config.workers > 1:
        return "memory store is per worker: the key is in flight in one worker only"
    return None


def _measure(
    server: Server, config: Config, path: Path_, load: Load, exceptions: int
) -> tuple[Measurement, frozenset[int]]:
    """Prepare the path (prime or hold a key), warm up, then the measured run."""
    run_id = uuid.uuid4().hex[:10]
    expected = PRISM_REJECT if (config.kind.startswith("prism") and path.name == "reject") else path.expected
    hold: Hold | None = None
    if path.name in ("first", "hot"):
        spread = exceptions if path.name == "first" else 1

        def args() -> list[str]:
            return _first_args(spread)
    elif path.name == "reject":

        def args() -> list[str]:
            return [TOKEN, run_id, _exception(0)]
    else:
        key = f"bench-{path.name}-{run_id}"
        exception = _exception(0 if path.name == "replay" else 1)

        def args() -> list[str]:
            return [TOKEN, run_id, key, exception]

        if path.name == "replay":
            _post(server.url, key, exception)
        else:
            # Held through the warm-up and the measured run, with seconds to spare for wrk's own starts.
            hold_ms = (load.warmup_seconds + load.seconds + 3) * 1000
            hold = _hold(server.url, key, exception, hold_ms)
    if load.warmup_seconds:
        run_wrk(server.url, path.script, args(), load, load.warmup_seconds)
    cpu_before, wrk_before = server.cpu_seconds(), _children_cpu()
    measured = run_wrk(server.url, path.script, args(), load, load.seconds)
    ended = time.monotonic()
    server_cpu, wrk_cpu = server.cpu_seconds() - cpu_before, _children_cpu() - wrk_before
    if hold is not None:
        hold.thread.join(timeout=30)
        expected = window_expected(expected, hold, ended)
    return replace(measured, server_cpu_seconds=server_cpu, wrk_cpu_seconds=wrk_cpu), expected


def window_expected(expected: frozenset[int], hold: Hold, ended: float) -> frozenset[int]:
    """The 409 window's statuses: once the held request has finished before the run did (a slow start of wrk),
    the answers after it are replays of its stored answer (200), as they should be, not a fault."""
    return expected | {200} if hold.finished is not None and hold.finished < ended else expected


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _first_args(exceptions: int) -> list[str]:
    # A new nonce per wrk run, so that no key of one run comes back in the next.
    return [TOKEN, uuid.uuid4().hex[:10], str(exceptions), ID_PREFIX]


def _exception(n: int) -> str:
    return f"{ID_PREFIX}{n:012d}"


def _post(url: str, key: str, exception: str, fault: str | None = None, timeout: float = 10) -> int:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", "X-Idempotency-Key": key}
    if fault:
        headers["X-Mock-Fault"] = fault
    answer = httpx.post(f"{url}/v1/exceptions/{exception}/callback", content=BODY, headers=headers, timeout=timeout)
    if answer.status_code != 200:
        raise RuntimeError(f"priming request answered {answer.status_code}: {answer.text[:200]}")
    return answer.status_code


@dataclass
class Hold:
    """The request that holds the 409 window's key, and when it finished (monotonic clock), once it has."""

    thread: threading.Thread
    finished: float | None = None


def _hold(url: str, key: str, exception: str, hold_ms: int) -> Hold:
    """Send a request that keeps `key` in flight for `hold_ms`; return once a second request with it gets 409."""

    def held() -> None:
        # Its answer does not matter (the measured run is over by then); a failure shows in the run's statuses.
        with contextlib.suppress(httpx.HTTPError, RuntimeError):
            _post(url, key, exception, f"slow-processing={hold_ms}", hold_ms / 1000 + 30)
        hold.finished = time.monotonic()

    hold = Hold(threading.Thread(target=held, daemon=True))
    hold.thread.start()
    # The claim takes milliseconds on an idle mock; only then may a probe with the same key go, or the probe
    # could claim the key itself. (Listing the idempotency records instead takes seconds once the store is big.)
    time.sleep(0.3)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", "X-Idempotency-Key": key}
    for _ in range(20):
        probe = httpx.post(f"{url}/v1/exceptions/{exception}/callback", content=BODY, headers=headers, timeout=10)
        if probe.status_code == 409:
            return hold
        if probe.status_code != 200:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the held key {key} did not answer 409 (last answer {probe.status_code})")


@contextlib.contextmanager
def _server(config: Config, tmp: Path, fixtures: Path, redis_url: str, code_copy: Path) -> Iterator[Server]:
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)
    namespace = None
    if config.kind == "bare":
        server = start_bare(logs)
    elif config.kind.startswith("prism"):
        server = start_prism(logs, quiet=config.kind == "prism-quiet")
    else:
        if config.store == "sqlite":
            store = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:8]}.sqlite3'}"
        elif config.store == "redis":
            namespace = f"bench-{uuid.uuid4().hex[:12]}"
            store = f"{redis_url}?namespace={namespace}"
        else:
            store = "memory://"
        try:
            server = start_mock(store, config.workers, fixtures, logs, code_copy, quiet=config.quiet)
        except ServerFailed:
            if namespace:
                _drop_namespace(redis_url, namespace)
            raise
    try:
        yield server
    finally:
        server.stop()
        if namespace:
            _drop_namespace(redis_url, namespace)


def _redis_missing(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis configurations skipped: no Redis answering at {url} ({exc})"
    return None


def _drop_namespace(url: str, namespace: str) -> None:
    """Delete every key of the bench's namespace (and nothing else)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=10)
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{namespace}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.delete(*batch)
            batch.clear()
    if batch:
        client.delete(*batch)


def _meta(load: Load, args: argparse.Namespace, started: float, code: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": wrk_version(),
        "load": {
            "threads": load.threads,
            "connections": load.connections,
            "seconds": load.seconds,
            "warmup_seconds": load.warmup_seconds,
            "start_warmup_seconds": load.start_warmup_seconds,
        },
        "exceptions": args.exceptions,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "command": " ".join(["python -m bench", *(sys.argv[1:])]),
        # Every mock of the run imported a copy of mock_server/ taken at the start: this commit (and changes).
        "code": code,
    }


if __name__ == "__main__":
    sys.exit(main())
