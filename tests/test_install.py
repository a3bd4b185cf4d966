"""The base install, `pip install callback-contract-kit`, in a fresh virtual environment: the mock, `lint`, `spec`,
`proxy` and `report` work, and a subcommand that needs the `[contract]` extra (`contract`; `fuzz` and `replay` when
they use it) says in one line how to install it, exit 2, no traceback."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from callback_kit.cli import CONTRACT_EXTRA
from tests.installs import build_wheel, clean_env, fresh_venv, required_distributions, run, shown
from tests.live import free_port

pytestmark = pytest.mark.slow

EXTRA_HINT = "pip install 'callback-contract-kit[contract]'"
TOKEN = "acme-integration-token"
DEV_TOOLS = ("mypy", "ruff", "matplotlib", "check_jsonschema")


@pytest.fixture(scope="module")
def base_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin/` of a new virtual environment holding the kit's wheel and only what its base install requires."""
    tmp = tmp_path_factory.mktemp("base")
    return fresh_venv(tmp, build_wheel(tmp), required_distributions()).parent


def base_run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A program of the base environment, in a folder of its own so that nothing of this checkout is importable."""
    cwd.mkdir(exist_ok=True)
    return run([str(bin_dir / args[0]), *args[1:]], cwd, clean_env(), timeout=120)


def test_base_install_leaves_out_the_extras(base_bin: Path, tmp_path: Path) -> None:
    """Neither the contract extra's packages nor the project's own tools can be imported in the base install."""
    names = sorted(CONTRACT_EXTRA) + list(DEV_TOOLS)
    code = f"import importlib.util as u; print([n for n in {names!r} if u.find_spec(n)])"
    result = base_run(base_bin, tmp_path / "cwd", "python", "-c", code)
    assert result.returncode == 0, shown(result)
    assert result.stdout.strip() == "[]"


def test_base_install_lints_the_spec(base_bin: Path, tmp_path: Path) -> None:
    """`callback-kit lint` checks the kit's own spec and finds it usable."""
    result = base_run(base_bin, tmp_path / "cwd", "callback-kit", "lint")
    assert result.returncode == 0, shown(result)


def test_base_install_has_the_proxy(base_bin: Path, tmp_path: Path) -> None:
    """`callback-kit proxy --help` works without the contract extra: the proxy is part of the base install."""
    result = base_run(base_bin, tmp_path / "cwd", "callback-kit", "proxy", "--help")
    assert result.returncode == 0, shown(result)
    assert "--upstream" in result.stdout


def test_base_install_prints_the_matcher_spec(base_bin: Path, tmp_path: Path) -> None:
    """`callback-kit spec --profile matcher` prints the derived OpenAPI document."""
    result = base_run(base_bin, tmp_path / "cwd", "callback-kit", "spec", "--profile", "matcher")
    assert result.returncode == 0, shown(result)
    assert yaml.safe_load(result.stdout)["openapi"].startswith("3.")


@contextlib.contextmanager
def serving(bin_dir: Path, cwd: Path) -> Iterator[str]:
    """`callback-kit serve` of the base install on a free port, stopped with SIGTERM as a user's Ctrl-C would."""
    cwd.mkdir(exist_ok=True)
    url = f"http://127.0.0.1:{free_port()}"
    command = [str(bin_dir / "callback-kit"), "serve", "--port", url.rsplit(":", 1)[1], "--store", "memory://"]
    log = cwd / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=clean_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _healthy(url):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no answer within 30 s: {log.read_text()}"
            time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_mock/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_base_install_serves_the_mock_and_its_report(base_bin: Path, tmp_path: Path) -> None:
    """The mock answers a callback, and `callback-kit report` grades the client that sent it."""
    with serving(base_bin, tmp_path / "serve") as url:
        answer = httpx.post(
            f"{url}/v1/exceptions/1a010000-0000-4000-8000-000100000001/callback",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Idempotency-Key": "base-install-1"},
            json={"externalSystem": "jira", "externalIssueId": "RECON-1", "status": "RESOLVED"},
        )
        report = base_run(base_bin, tmp_path / "cwd", "callback-kit", "report", "--base-url", url)
    assert answer.status_code == 200, answer.text
    assert report.returncode == 0, shown(report)
    assert "acme-jira" in report.stdout


def assert_names_the_extra(command: str, result: subprocess.CompletedProcess[str]) -> None:
    """One line on stderr naming the extra, exit 2, nothing on stdout and no traceback."""
    assert result.returncode == 2, shown(result)
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, shown(result)
    assert result.stderr.startswith(f"callback-kit {command}: ")
    assert EXTRA_HINT in result.stderr


def test_contract_names_the_extra(base_bin: Path, tmp_path: Path) -> None:
    """`callback-kit contract` needs the extra: it says so in one line and exits 2, before parsing its options."""
    result = base_run(base_bin, tmp_path / "cwd", "callback-kit", "contract", "--base-url", "http://127.0.0.1:9")
    assert_names_the_extra("contract", result)


def test_fuzz_writes_cases_or_names_the_extra(base_bin: Path, tmp_path: Path) -> None:
    """`callback-kit fuzz` writes its cases where the base install has what it uses, else names the extra."""
    out = tmp_path / "cases"
    result = base_run(
        base_bin, tmp_path / "cwd", "callback-kit", "fuzz", "--count", "10", "--seed", "7", "--out", str(out)
    )
    if result.returncode == 2:
        assert_names_the_extra("fuzz", result)
    else:
        assert result.returncode == 0, shown(result)
        assert len((out / "cases.jsonl").read_text(encoding="utf-8").splitlines()) == 10


def test_replay_judges_the_mock_or_names_the_extra(base_bin: Path, tmp_path: Path) -> None:
    """`callback-kit replay` judges the mock's answers to fuzz cases, or names the extra it lacks."""
    out = tmp_path / "cases"
    made = run(
        [sys.executable, "-m", "callback_kit", "fuzz", "--count", "10", "--out", str(out)], tmp_path, clean_env()
    )
    assert made.returncode == 0, shown(made)
    with serving(base_bin, tmp_path / "serve") as url:
        command = ["callback-kit", "replay", str(out / "cases.jsonl"), "--base-url", url, "--token", TOKEN]
        result = base_run(base_bin, tmp_path / "cwd", *command)
    if result.returncode == 2:
        assert_names_the_extra("replay", result)
    else:
        assert result.returncode == 0, shown(result)
