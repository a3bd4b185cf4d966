"""Plain Schemathesis, typed as an integrator types it from a fresh clone, finds nothing and reaches 2xx."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from callback_kit.contract import load_spec
from callback_kit.mock_server.seed import load_exceptions
from callback_kit.resources import fixtures_dir
from tests.live import ADMIN, free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "acme-integration-token"


@contextlib.contextmanager
def served(log: Path) -> Iterator[str]:
    """`callback-kit serve` on a free loopback port with the memory store, stopped by its PID."""
    port = free_port()
    command = [str(BIN / "callback-kit"), "serve", "--store", "memory://", "--port", str(port), "--quiet"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/_mock/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail(f"the mock did not answer within 30 s: {log.read_text(encoding='utf-8')}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_plain_schemathesis_run_passes_and_reaches_2xx(tmp_path: Path) -> None:
    """`st run openapi.yaml --url ... -H 'Authorization: Bearer ...' --checks all` exits 0 with no failure and
    no warning, and the mock's journal shows 2xx answers. Run from the repository root as a fresh clone has it
    (no schemathesis.toml there, so only Schemathesis' defaults apply; tests/schemathesis.toml
    belongs to the in-process run and is not picked up); nothing is bounded: the whole run takes about 5 s."""
    # Schemathesis reads schemathesis.toml from the working directory up to the repository root.
    assert not (ROOT / "schemathesis.toml").exists(), "a schemathesis.toml at the root would configure the run"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    with served(tmp_path / "mock.log") as url:
        command = [str(BIN / "st"), "run", "openapi.yaml", "--url", url, "-H", f"Authorization: Bearer {TOKEN}"]
        run = subprocess.run(
            [*command, "--checks", "all"],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        journal = httpx.get(f"{url}/_mock/journal", params={"limit": 10000}, headers=ADMIN, timeout=10).json()
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "No issues found" in output, output
    assert "Missing test data" not in output, output
    answered = [entry["status"] for entry in journal]
    assert sum(200 <= status < 300 for status in answered) >= 10, sorted(set(answered))


def test_every_example_exception_id_of_the_spec_is_seeded_open_for_the_token() -> None:
    """Each `exceptionId` example openapi.yaml shows is a seeded exception of the token's tenant, in OPEN."""
    spec = load_spec()
    parameter = spec["components"]["parameters"]["ExceptionId"]
    shown = {parameter["example"]} if "example" in parameter else set()
    shown |= {example["value"] for example in parameter.get("examples", {}).values()}
    assert shown
    tenant = json.loads((fixtures_dir() / "tokens.json").read_text(encoding="utf-8"))["tokens"][TOKEN]["tenant"]
    seeded = {record.id: record for record in load_exceptions(fixtures_dir())}
    for exception_id in shown:
        assert exception_id in seeded, exception_id
        assert (seeded[exception_id].tenant, seeded[exception_id].status) == (tenant, "OPEN")
