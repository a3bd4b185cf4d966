"""Running the kit's tools and installing the kit, for the tests that do either: a dev tool's path, an
environment without the kit's variables, and a fresh virtual environment with the kit installed from a wheel.

A fresh environment downloads nothing: its dependencies are this environment's, offered through a folder of
links and checked by pip's resolver with `--no-index`. Offering only the distributions the base install needs
gives the environment `pip install callback-contract-kit` makes; offering all of them, one with every extra.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from importlib.metadata import Distribution, PackageNotFoundError, distribution, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KIT = "callback-contract-kit"
# Every proxy points at a closed loopback port: a tool that tried to download anything would fail.
CLOSED = "http://127.0.0.1:9"
PROXIES = {"HTTP_PROXY": CLOSED, "HTTPS_PROXY": CLOSED, "ALL_PROXY": CLOSED, "NO_PROXY": ""}
NO_NETWORK = PROXIES | {name.lower(): value for name, value in PROXIES.items()}
# What of this environment's site-packages a fresh one must not see: the kit itself and its editable hook.
OWN = ("callback_contract_kit", "__editable__", "callback_kit", "__pycache__")


def tool(name: str) -> str:
    """The path of a dev tool; missing, the test is skipped on a laptop and fails in CI."""
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed (pip install -e '.[dev]' brings it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(found)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the kit's or pytest's variables, the test's venv first on PATH, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLBACK_KIT_", "PYTEST_", "GITHUB_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env | extra


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def shown(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"


def build_wheel(tmp: Path) -> Path:
    """The kit's wheel, built from this checkout into `tmp/wheels`."""
    wheels = tmp / "wheels"
    build = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", *_offline_build(), "-w", str(wheels), str(ROOT)],
        tmp,
        clean_env(),
        timeout=300,
    )
    assert build.returncode == 0, shown(build)
    (wheel,) = wheels.glob("callback_contract_kit-*.whl")
    return wheel


def fresh_venv(tmp: Path, wheel: Path, offered: Iterable[str] | None = None) -> Path:
    """The Python of a new virtual environment in `tmp/venv` with `wheel` installed, downloading nothing.

    `offered` names the distributions of this environment the new one may see (all but the kit when None).
    """
    venv = tmp / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, clean_env())
    assert made.returncode == 0, shown(made)
    python = venv / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, clean_env())
    deps = tmp / "deps"
    deps.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    entries = site.iterdir() if offered is None else _top_level_entries(site, offered)
    for entry in entries:
        if not entry.name.startswith(OWN) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    Path(purelib.stdout.strip(), "dependencies.pth").write_text(f"{deps}\n")
    install = run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--quiet", str(wheel)],
        tmp,
        clean_env(**NO_NETWORK),
        timeout=300,
    )
    assert install.returncode == 0, shown(install)
    return python


def required_distributions(name: str = KIT, extras: frozenset[str] = frozenset()) -> set[str]:
    """The installed distributions `name[extras]` needs, directly or not (canonical names, itself left out)."""
    # One distribution can be asked for with different extras (uvicorn, and uvicorn[standard]): follow each.
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = _requirements(distribution(name), extras)
    while pending:
        requirement = pending.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key not in seen:
            seen.add(key)
            pending += _requirements(distribution(requirement.name), key[1])
    return {name for name, _ in seen}


def _requirements(dist: Distribution, extras: frozenset[str]) -> list[Requirement]:
    """The requirements of `dist` that apply on this platform with `extras` asked for."""
    wanted = [Requirement(line) for line in dist.requires or []]
    return [r for r in wanted if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in {"", *extras})]


def _top_level_entries(site: Path, names: Iterable[str]) -> set[Path]:
    """The entries of `site` that the distributions `names` installed: packages, modules, their .dist-info."""
    entries: set[Path] = set()
    for name in names:
        for file in distribution(name).files or []:
            top = file.parts[0]
            if top not in ("..", "__pycache__") and (site / top).exists():
                entries.add(site / top)
    return entries


def _offline_build() -> list[str]:
    """Build with this environment's setuptools when it makes wheels by itself (70.1 and later); else pip fetches it."""
    try:
        return ["--no-build-isolation"] if Version(version("setuptools")) >= Version("70.1") else []
    except PackageNotFoundError:
        return []
