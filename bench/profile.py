"""Where a request's time goes: `python -m bench.profile {ablate,breakdown}` (numbers for bench/PROFILE.md).

    ablate     the cost per request of the app in-process (`bench.inproc`) of the app as built
               (variant `full`; the prototypes once measured here are gone, their numbers kept in PROFILE.md):
                 --meter instructions  CPU instructions counted by valgrind's callgrind (slow, ~1 min a
                                       variant, but the same count whatever else runs on the machine)
                 --meter cpu           CPU µs from time.process_time() (fast, but it moves with the load of
                                       a shared machine), rounds interleaved, the minimum kept
    breakdown  py-spy samples of the in-process app on one path, folded into components (the table below)

Both drive the app without a socket, so they measure the app alone; the HTTP server's share is what the main
bench's `server CPU µs/request` adds on top (compare the bare app in-process and under wrk).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.servers import ACME, ROOT, code_state, snapshot_code, write_fixtures

OUT = Path(__file__).resolve().parent / "results"
REDIS_URL = "redis://127.0.0.1:6379/0"

# (component, regex on a py-spy frame "function (file:line)"); a sample goes to the innermost frame that matches.
# Shared helpers (json, re, uuid, dataclasses, inspect, jsonschema, ConnexionRequest, and the kit's own helpers
# in TRANSPARENT) have no rule, so their time goes to the component that called them.
COMPONENTS: list[tuple[str, str]] = [
    ("store: settings reads (clock offset, fault rules)", r"\bget_setting \(mock_server/stores/"),
    ("store: claim / apply / complete / journal append", r"\(mock_server/stores/"),
    ("clock (Clock.now, iso)", r"\(mock_server/clock\.py"),
    ("kit: callback endpoint, handler + state machine", r"\(mock_server/(handlers|callbacks)\.py"),
    ("kit: moment (one settings read per callback)", r"\(mock_server/moment\.py"),
    ("kit: idempotency middleware", r"\(mock_server/idempotency\.py"),
    ("kit: journal middleware", r"\(mock_server/journal\.py"),
    ("kit: fault middleware + DropConnection", r"\(mock_server/faults\.py"),
    ("kit: RequestId middleware", r"\(mock_server/request_id\.py"),
    ("kit: BodyLimit middleware", r"\(mock_server/body_limit\.py"),
    ("kit: error rendering", r"\(mock_server/(errors|app)\.py"),
    ("kit: security token lookup", r"\(mock_server/auth\.py"),
    # The kit's validator classes are subclassed per app (`type("BodyValidator", ...)` in validator_map).
    ("kit: MediaType middleware", r"^MediaTypeMiddleware\.\S+ \(mock_server/"),
    ("validation: body checks (kit validator + jsonschema)", r"^(Callback)?BodyValidator\.\S+ \(mock_server/"),
    ("validation: path + header checks (kit validator + jsonschema)", r"\(mock_server/validation\.py"),
    (
        "validation: Connexion per-request setup",
        r"\((connexion/middleware/request_validation|connexion/validators/"
        r"|connexion/uri_parsing|connexion/operations/)",
    ),
    (
        "Connexion: handler decorators (parameters, response, body re-parse)",
        r"\((connexion/decorators/|connexion/apps/asynchronous|connexion/frameworks/)",
    ),
    ("Connexion: context middleware", r"\(connexion/(middleware/context|context)\.py"),
    ("Connexion: security", r"\(connexion/(middleware/security|security)\.py"),
    (
        "routing (Connexion + Starlette routers, Swagger UI mount)",
        r"\((connexion/middleware/(routing|swagger_ui)|starlette/routing)\.py",
    ),
    (
        "Starlette/Connexion error & exception middlewares",
        r"\((starlette/middleware/(errors|exceptions)|starlette/_exception_handler|connexion/middleware/exceptions)\.py",
    ),
    ("Starlette Response", r"\(starlette/responses\.py"),
    (
        "Connexion app plumbing (main, lifespan, RoutedMiddleware)",
        r"\(connexion/(middleware/(main|abstract|lifespan)|apps/abstract)\.py",
    ),
    ("bench driver", r"\(bench/"),
]


# What `ablate` measures: the app as built (ablations and prototypes were monkeypatches, now retired).
VARIANTS = {"full": "the app as mock_server.asgi builds it"}

TRANSPARENT = re.compile(
    r"^(fingerprint|principal_of|claim_of|fault_of|request_id|exception_id|buffer_body|iso|sanitise) \(mock_server/"
)


@contextlib.contextmanager
def _frozen_code() -> Any:
    """(code state, environment for child processes) with `mock_server/` copied now, so that every variant of
    one run measures the same code even if a commit lands meanwhile."""
    with tempfile.TemporaryDirectory(prefix="callback-kit-code-") as tmp:
        state = code_state()
        copy = snapshot_code(Path(tmp))
        # Children run from the copy's folder: `python -m` puts the working directory first on sys.path.
        yield state, {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy), str(ROOT)]), "BENCH_CODE": str(copy)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    variant = commands.add_parser("variant", help="(internal) measure one variant in this process")
    variant.add_argument("name")
    variant.add_argument("--meter", choices=["cpu", "instructions"], default="cpu")
    for sub in (
        variant,
        commands.add_parser("ablate", help="every variant, interleaved rounds"),
        commands.add_parser("breakdown", help="py-spy samples folded into components"),
    ):
        sub.add_argument("--store", default="memory", choices=["memory", "sqlite", "redis"])
        sub.add_argument("--path", default="first", choices=["first", "hot", "replay", "reject"])
        sub.add_argument("--n", type=int, default=1500, help="requests per timed round")
        sub.add_argument("--warmup", type=int, default=500)
        sub.add_argument(
            "--journal",
            type=int,
            default=10_000,
            help="journal entries in the store before the warm-up (10000: full, its steady state)",
        )
    commands.choices["ablate"].add_argument("--meter", choices=["cpu", "instructions"], default="instructions")
    commands.choices["ablate"].add_argument("--rounds", type=int, default=3, help="interleaved rounds (cpu meter)")
    commands.choices["ablate"].add_argument("--jobs", type=int, default=2, help="variants at once (instructions)")
    commands.choices["ablate"].add_argument("--only", default=None, help="comma-separated variant names")
    commands.choices["ablate"].add_argument("--out", type=Path, default=None)
    commands.choices["breakdown"].add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "variant":
        measure = _variant_counted if args.meter == "instructions" else _variant
        if args.name not in VARIANTS:
            result = {"obsolete": f"{args.name}: no such variant (the prototypes are measured in PROFILE.md)"}
        else:
            result = measure(args.name, args.store, args.path, args.n, args.warmup, args.journal)
        print(json.dumps(result))
        return 0
    with _frozen_code() as (args.code, args.env):
        if args.command == "ablate":
            return _ablate_instructions(args) if args.meter == "instructions" else _ablate(args)
        return _breakdown(args)


@contextlib.contextmanager
def _store(kind: str) -> Any:
    """A fresh store URL of one backend, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="callback-kit-profile-") as tmp:
        if kind == "memory":
            yield "memory://", Path(tmp)
        elif kind == "sqlite":
            yield f"sqlite:///{tmp}/profile.sqlite3", Path(tmp)
        else:
            namespace = f"bench-profile-{uuid.uuid4().hex[:10]}"
            try:
                yield f"{REDIS_URL}?namespace={namespace}", Path(tmp)
            finally:
                from bench.run import _drop_namespace

                _drop_namespace(REDIS_URL, namespace)


def _variant(name: str, store: str, path: str, n: int, warmup: int, journal: int) -> dict[str, Any]:
    import callback_kit.mock_server.quiet  # noqa: F401  (first, as in callback_kit.mock_server.asgi)
    from bench.inproc import Driver, build, cpu_per_request
    from callback_kit.mock_server.profiles import DEFAULT_TENANT

    options: dict[str, Any] = {}
    gc_seconds = [0.0]
    started: list[float] = []

    def on_gc(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.process_time())
        elif started:
            gc_seconds[0] += time.process_time() - started.pop()

    with _store(store) as (url, tmp):
        # With auth off every caller is the default tenant: the exceptions must be its own.
        fixtures = write_fixtures(tmp / "fixtures", 1000, DEFAULT_TENANT if options.get("auth") is False else ACME)
        driver = Driver(build(url, fixtures, **options))
        gc.callbacks.append(on_gc)

        def reset_gc() -> None:
            gc_seconds[0] = 0.0

        result = cpu_per_request(driver, path, n=n, warmup=warmup, rounds=3, journal=journal, between=reset_gc)
        gc.callbacks.remove(on_gc)
    result["gc_us_last_round"] = round(gc_seconds[0] / n * 1e6, 1)
    return result


def _variant_counted(name: str, store: str, path: str, n: int, warmup: int, journal: int) -> dict[str, Any]:
    """Run under callgrind started with `--instr-atstart=no`: count instructions of the `n` requests only."""
    import callback_kit.mock_server.quiet  # noqa: F401  (first, as in callback_kit.mock_server.asgi)
    from bench.inproc import Driver, _loop_run, build
    from callback_kit.mock_server.profiles import DEFAULT_TENANT

    options: dict[str, Any] = {}

    def instrument(on: bool) -> None:
        subprocess.run(
            ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], capture_output=True, check=False
        )

    with _store(store) as (url, tmp):
        fixtures = write_fixtures(tmp / "fixtures", 1000, DEFAULT_TENANT if options.get("auth") is False else ACME)
        driver = Driver(build(url, fixtures, **options))

        async def run() -> None:
            await driver.start()
            await driver.prefill_journal(journal)
            if path == "replay":
                await driver.call(*driver.request("replay"))
            await driver.run(path, warmup)
            driver.statuses.clear()
            instrument(True)
            await driver.run(path, n)
            instrument(False)
            await driver.stop()

        _loop_run(run())
    return {"n": n, "statuses": dict(sorted(driver.statuses.items()))}


def _ablate_instructions(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind not found: apt-get install -y valgrind (or use --meter cpu)", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.only.split(",")] if args.only else list(VARIANTS)

    def count(name: str) -> tuple[str, dict[str, Any] | None]:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "callgrind.out"
            command = [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "bench.profile",
                "variant",
                name,
                "--meter",
                "instructions",
                "--store",
                args.store,
                "--path",
                args.path,
                "--n",
                str(args.n),
                "--warmup",
                str(args.warmup),
                "--journal",
                str(args.journal),
            ]
            done = subprocess.run(
                command, cwd=args.env["BENCH_CODE"], capture_output=True, text=True, check=False, env=args.env
            )
            totals = [
                int(line.split()[1])
                for p in Path(tmp).glob("callgrind.out*")
                for line in p.read_text(errors="replace").splitlines()
                if line.startswith("totals:")
            ]
        result = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
        if "obsolete" in result:
            print(f"{name:30s} obsolete ({result['obsolete']})", flush=True)
            return name, None
        if done.returncode != 0 or not totals:
            print(f"{name}: failed\n{done.stderr[-1500:]}", file=sys.stderr)
            return name, None
        result["instructions_per_request"] = round(sum(totals) / result["n"])
        print(
            f"{name:30s} {result['instructions_per_request'] / 1e6:7.3f} M instr/request  {result['statuses']}",
            flush=True,
        )
        return name, result

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(pool.map(count, names))
    full = (results.get("full") or {}).get("instructions_per_request")
    table = []
    for name in names:
        result = results.get(name)
        if result is None:
            continue
        value = result["instructions_per_request"]
        table.append(
            {
                "variant": name,
                "minstr": round(value / 1e6, 3),
                "delta_minstr": round((value - full) / 1e6, 3) if full else None,
                "delta_pct": round((value - full) / full * 100, 1) if full else None,
                "statuses": result["statuses"],
            }
        )
    for row in table:
        delta = f"Δ {row['delta_minstr']:+7.3f} M ({row['delta_pct']:+6.1f} %)" if full else ""
        print(f"{row['variant']:30s} {row['minstr']:7.3f} M  {delta}  {row['statuses']}")
    out = args.out or OUT / f"profile-instructions-{args.store}-{args.path}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "store": args.store,
                "path": args.path,
                "n": args.n,
                "meter": "instructions",
                "code": args.code,
                "rows": table,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


def _ablate(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.only.split(",")] if args.only else list(VARIANTS)
    samples: dict[str, list[float]] = {name: [] for name in names}
    details: dict[str, Any] = {}
    for round_ in range(args.rounds):
        for name in names:
            command = [
                sys.executable,
                "-m",
                "bench.profile",
                "variant",
                name,
                "--store",
                args.store,
                "--path",
                args.path,
                "--n",
                str(args.n),
                "--warmup",
                str(args.warmup),
                "--journal",
                str(args.journal),
            ]
            done = subprocess.run(
                command, cwd=args.env["BENCH_CODE"], capture_output=True, text=True, check=False, env=args.env
            )
            if done.returncode != 0:
                print(f"{name}: failed\n{done.stderr[-1500:]}", file=sys.stderr)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if "obsolete" in result:
                print(f"{name:30s} obsolete ({result['obsolete']})", flush=True)
                continue
            samples[name] += result["samples_us"]
            details[name] = result
            print(f"round {round_ + 1} {name:30s} {result['median_us']:7.1f} µs  {result['statuses']}", flush=True)
    full = min(samples.get("full") or [0.0])
    table = []
    for name in names:
        if not samples[name]:
            continue
        best = min(samples[name])
        table.append(
            {
                "variant": name,
                "min_us": round(best, 1),
                "median_us": round(sorted(samples[name])[len(samples[name]) // 2], 1),
                "delta_us": round(best - full, 1) if full else None,
                "delta_pct": round((best - full) / full * 100, 1) if full else None,
                "gc_us": details[name].get("gc_us_last_round"),
                "statuses": details[name]["statuses"],
            }
        )
    for row in table:
        delta = f"Δ {row['delta_us']:+7.1f} µs ({row['delta_pct']:+5.1f} %)" if full else ""
        print(
            f"{row['variant']:30s} min {row['min_us']:7.1f}  median {row['median_us']:7.1f}  {delta}  "
            f"gc {row['gc_us']} µs  {row['statuses']}"
        )
    out = args.out or OUT / f"profile-ablate-{args.store}-{args.path}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "store": args.store,
                "path": args.path,
                "n": args.n,
                "rounds": args.rounds,
                "meter": "cpu",
                "loadavg": os.getloadavg(),
                "code": args.code,
                "rows": table,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


def _breakdown(args: argparse.Namespace) -> int:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy not found: pip install py-spy", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.txt"
        n = max(args.n, 10_000)
        # Blocking sampling: py-spy pauses the process for each sample, so every stack is whole (non-blocking
        # reads of a running process give torn stacks, which land in the outer frames). Pauses slow the run
        # but do not change which code is running, so the shares hold.
        command = [
            spy,
            "record",
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--",
            sys.executable,
            "-m",
            "bench.profile",
            "variant",
            "full",
            "--store",
            args.store,
            "--path",
            args.path,
            "--n",
            str(n),
            "--warmup",
            str(args.warmup),
            "--journal",
            str(args.journal),
        ]
        subprocess.run(command, cwd=args.env["BENCH_CODE"], check=True, capture_output=True, env=args.env)
        table, total = fold(raw.read_text())
    print(f"{total} samples inside the app ({args.store}, {args.path})")
    for name, share in table:
        print(f"{share:5.1f} %  {name}")
    out = args.out or OUT / f"profile-breakdown-{args.store}-{args.path}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "store": args.store,
                "path": args.path,
                "samples": total,
                "code": args.code,
                "components": [{"component": c, "percent": p} for c, p in table],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


def fold(raw: str) -> tuple[list[tuple[str, float]], int]:
    """Fold py-spy's raw stacks ("frame;frame;... count") into `COMPONENTS`; only samples inside a request count.

    (py-spy on the live server is no better: under wrk on the same 2 CPUs its wall-clock samples pile up in
    socket writes, where the server is preempted; the bench's server CPU per request is the better measure.)
    """
    rules = [(name, re.compile(pattern)) for name, pattern in COMPONENTS]
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        inside = next((i for i, f in enumerate(frames) if f.startswith("Driver.call ")), None)
        if inside is None or not count.isdigit():
            continue
        total += int(count)
        owner = "other"
        for frame in reversed(frames[inside + 1 :]):
            if TRANSPARENT.search(frame):
                continue
            owner = next((name for name, rule in rules if rule.search(frame)), "")
            if owner:
                break
        counts[owner or "other"] += int(count)
    table = [(name, round(c / total * 100, 1)) for name, c in counts.most_common()] if total else []
    return table, total


if __name__ == "__main__":
    sys.exit(main())
