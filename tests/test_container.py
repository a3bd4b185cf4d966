"""The container image (`Dockerfile`) and its examples (`examples/docker-compose.yml`, the GitHub service job).

First what needs no engine: hadolint, and the settings the files pass being options the image reads. Then the
image itself, built with podman (or a docker whose daemon answers) and run on free loopback ports: the README's
curl session, the health check, state kept on the volume over a restart, a fast stop on SIGTERM, two replicas
sharing Redis as the compose example runs them. Where no engine can be had these are skipped with the reason,
and fail when `CI=true`. Every container and volume made here is removed; the builder stage is kept under one
tag (`BUILDER`) as the layer cache of the next run, replacing the one before.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from callback_kit.cli import serve
from callback_kit.cli.parser import KitParser
from tests.installs import NO_NETWORK, ROOT, clean_env, run, shown, tool
from tests.live import free_port

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "examples" / "docker-compose.yml"
SERVICE_JOB = ROOT / "examples" / "github" / "mock-service.yml"
BUILDER = "localhost/callback-contract-kit-test:builder"
ACME_OPEN = "1a010000-0000-4000-8000-000100000001"
TOKEN = {"Authorization": "Bearer acme-integration-token"}
ADMIN = {"Authorization": "Bearer kit-admin-token"}


def serve_variables() -> set[str]:
    """The environment variables `callback-kit serve` reads, from its own parser."""
    parser = KitParser(prog="serve")
    serve.add_arguments(parser)
    return set(re.findall(r"CALLBACK_KIT_[A-Z_]+", parser.format_help()))


# Linters -----------------------------------------------------------------------------------------------------------


def test_setup_scripts_pass_shellcheck() -> None:
    """`./kit` and the container set-up it runs (`scripts/container-setup.sh`) have no shellcheck finding."""
    result = run([tool("shellcheck"), "kit", "scripts/container-setup.sh"], ROOT, clean_env())
    assert result.returncode == 0, shown(result)


def hadolint(*files: Path) -> tuple[int, str]:
    result = run([tool("hadolint"), "--no-color", *map(str, files)], ROOT, clean_env())
    return result.returncode, result.stdout + result.stderr


def test_dockerfiles_pass_hadolint() -> None:
    """The Dockerfile and the local base's Containerfile have no finding, info-level ones included."""
    code, output = hadolint(DOCKERFILE, ROOT / "scripts" / "local-base.Containerfile")
    assert code == 0, output


def test_hadolint_reports_a_user_given_by_name(tmp_path: Path) -> None:
    """The lint above is live: a non-numeric `USER` is reported (DL3066), so the image's user stays a number."""
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER callback-kit"))
    code, output = hadolint(broken)
    assert code == 1
    assert "DL3066" in output


# What the files configure ------------------------------------------------------------------------------------------


def test_dockerfile_sets_only_options_that_serve_reads() -> None:
    """Every `CALLBACK_KIT_*` the Dockerfile sets is a `callback-kit serve` option, the host among them."""
    names = set(re.findall(r"CALLBACK_KIT_[A-Z_]+", DOCKERFILE.read_text()))
    assert {"CALLBACK_KIT_HOST", "CALLBACK_KIT_STORE"} <= names
    assert names <= serve_variables()


def mock_services() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return {name: service for name, service in services.items() if name != "redis"}


def test_compose_example_runs_two_replicas_of_the_image_on_one_redis() -> None:
    """Both mock services build this Dockerfile, publish its port and read one Redis store, by serve's variables."""
    services = mock_services()
    assert len(services) == 2
    stores = set()
    for service in services.values():
        build, env = service["build"], service["environment"]
        assert isinstance(build, dict)
        assert isinstance(env, dict)
        assert (COMPOSE.parent / build["context"] / "Dockerfile").resolve() == DOCKERFILE
        assert set(env) <= serve_variables()
        stores.add(env["CALLBACK_KIT_STORE"])
        assert [str(port).rsplit(":", 1)[1] for port in service["ports"]] == ["8080"]  # type: ignore[attr-defined]
    (store,) = stores
    assert store.startswith("redis://redis:")


def test_compose_example_matches_the_compose_spec(tmp_path: Path) -> None:
    """The compose file validates against the Compose specification bundled with check-jsonschema, offline."""
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]
    result = run(command, tmp_path, clean_env(**NO_NETWORK, XDG_CACHE_HOME=str(tmp_path)))
    assert result.returncode == 0, shown(result)
    broken = tmp_path / "compose.yml"
    broken.write_text(COMPOSE.read_text().replace("service_healthy", "service_ready"))
    refused = run([*command[:-1], str(broken)], tmp_path, clean_env(**NO_NETWORK, XDG_CACHE_HOME=str(tmp_path)))
    assert refused.returncode == 1, shown(refused)


def test_service_job_runs_the_image_with_serve_options() -> None:
    """The GitHub job's service publishes the mock's port, sets serve's variables and tunes the health check."""
    job = yaml.safe_load(SERVICE_JOB.read_text())["jobs"]["tests"]
    (service,) = job["services"].values()
    assert set(service["env"]) <= serve_variables()
    assert [port.rsplit(":", 1)[1] for port in service["ports"]] == ["8080"]
    assert "--health-interval" in service["options"]


# The image, built and run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """A container engine's command line: podman, or docker with a daemon."""

    path: str

    @property
    def podman(self) -> bool:
        return Path(self.path).name == "podman"

    def __call__(self, *args: str, timeout: float = 120) -> str:
        result = run([self.path, *args], ROOT, clean_env(), timeout=timeout)
        assert result.returncode == 0, shown(result)
        return result.stdout.strip()

    def quietly(self, *args: str) -> None:
        run([self.path, *args], ROOT, clean_env(), timeout=120)


@pytest.fixture(scope="module")
def engine() -> Engine:
    """podman, or docker whose daemon answers; skipped with the reason without either, failed when `CI=true`."""
    reasons = []
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path is None:
            reasons.append(f"{name} is not installed")
            continue
        info = run([path, "info"], ROOT, clean_env(), timeout=60)
        if info.returncode == 0:
            return Engine(path)
        reasons.append(f"`{name} info` failed: {(info.stderr.strip().splitlines() or ['?'])[-1]}")
    message = f"no container engine ({'; '.join(reasons)}); ./kit test installs podman where it runs as root on Debian"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def image(engine: Engine) -> Iterator[str]:
    """The image built from this checkout; removed afterwards, its builder stage kept as the next run's cache."""
    tag = f"localhost/callback-contract-kit-test:{uuid.uuid4().hex[:12]}"
    # podman's default OCI format has no HEALTHCHECK: the Docker format keeps it.
    fmt = ["--format", "docker"] if engine.podman else []
    previous = run([engine.path, "image", "inspect", "--format", "{{.Id}}", BUILDER], ROOT, clean_env()).stdout.strip()
    engine("build", *fmt, "--target", "builder", "--tag", BUILDER, str(ROOT), timeout=900)
    engine("build", *fmt, "--tag", tag, str(ROOT), timeout=900)
    if previous and previous != engine("image", "inspect", "--format", "{{.Id}}", BUILDER):
        engine.quietly("rmi", previous)
    yield tag
    engine.quietly("rmi", "--force", tag)


@dataclass
class Container:
    """One running container of the image, published on a free loopback port, with its state volume."""

    engine: Engine
    name: str
    url: str

    def wait_healthy(self) -> None:
        """Until `/_mock/health` answers 200 (at most 60 s); a container that exits fails with its log."""
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/_mock/health", timeout=2).status_code == 200:
                    return
            state = self.engine("inspect", "--format", "{{.State.Status}}", self.name)
            assert state in ("created", "running"), f"{state}: {self.engine('logs', self.name)}"
            assert time.monotonic() < deadline, f"not healthy within 60 s: {self.engine('logs', self.name)}"
            time.sleep(0.2)


@contextlib.contextmanager
def running(
    engine: Engine, image: str, *options: str, host_network: bool = False, wait: bool = True
) -> Iterator[Container]:
    """A container of `image` on a free loopback port (healthy, if `wait`), removed afterwards with what it made.

    By default the port is published and /data is a new volume; on the host's network (to reach this machine's
    Redis) the mock listens on loopback itself and keeps nothing.
    """
    name = f"callback-kit-test-{uuid.uuid4().hex[:12]}"
    port = free_port()
    if host_network:
        where = ["--network", "host", "--env", "CALLBACK_KIT_HOST=127.0.0.1", "--env", f"CALLBACK_KIT_PORT={port}"]
    else:
        where = ["--publish", f"127.0.0.1:{port}:8080", "--volume", f"{name}:/data"]
    try:
        engine("run", "--detach", "--name", name, *where, *options, image)
        container = Container(engine, name, f"http://127.0.0.1:{port}")
        if wait:
            container.wait_healthy()
        yield container
    finally:
        engine.quietly("rm", "--force", "--volumes", name)
        if not host_network:
            engine.quietly("volume", "rm", "--force", name)


@pytest.fixture
def container(engine: Engine, image: str) -> Iterator[Container]:
    with running(engine, image) as started:
        yield started


def readme_session(port: int) -> list[str]:
    """The commands of the README's "A first session with curl", each with the variables it uses, on `port`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### A first session with curl", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = block.replace("\\\n", " ").replace("127.0.0.1:8080", f"127.0.0.1:{port}").splitlines()
    prelude = [line for line in lines if re.match(r"[A-Z]+=", line)]
    return ["\n".join([*prelude, line]) for line in lines if line.startswith("curl ")]


def test_readme_curl_session_runs_against_the_container(container: Container) -> None:
    """The README's session, unchanged but for the port: accepted, replayed, refused, journaled, read, reset."""
    port = int(container.url.rsplit(":", 1)[1])
    outputs = [run(["bash", "-ec", command], ROOT, clean_env()).stdout for command in readme_session(port)]
    assert len(outputs) == 6
    first, again, refused = (re.split(r"\r?\n\r?\n", output, maxsplit=1) for output in outputs[:3])
    assert first[0].startswith("HTTP/1.1 200")
    assert "x-idempotency-replayed: false" in first[0].lower()
    assert again[0].startswith("HTTP/1.1 200")
    assert "x-idempotency-replayed: true" in again[0].lower()
    assert again[1] == first[1]
    assert refused[0].startswith("HTTP/1.1 409")
    assert json.loads(refused[1])["code"] == "MTCH-0507"
    journal, record, reset = (json.loads(output) for output in outputs[3:])
    assert [(entry["status"], entry["replayed"]) for entry in journal] == [(409, None), (200, True), (200, False)]
    assert record["status"] == "RESOLVED"
    assert reset["exceptions"] > 0


def test_health_endpoint_and_image_healthcheck_pass(container: Container) -> None:
    """`/_mock/health` answers without a token, and the image's own HEALTHCHECK command reports healthy."""
    assert httpx.get(f"{container.url}/_mock/health").json() == {"status": "ok"}
    if container.engine.podman:
        container.engine("healthcheck", "run", container.name)
    else:
        deadline = time.monotonic() + 60
        while container.engine("inspect", "--format", "{{.State.Health.Status}}", container.name) != "healthy":
            assert time.monotonic() < deadline, "docker did not report healthy within 60 s"
            time.sleep(1)


def test_mock_runs_as_the_numeric_user_and_keeps_its_state_on_the_volume(container: Container) -> None:
    """The process is user 10001, and the SQLite file it writes lies on the /data volume."""
    assert container.engine("exec", container.name, "id", "-u") == "10001"
    files = container.engine("exec", container.name, "ls", "/data")
    assert "mock.sqlite3" in files.split()


def test_state_survives_a_restart(container: Container) -> None:
    """A callback applied before `restart` is replayed after it from the state on the volume."""
    url = f"{container.url}/v1/exceptions/{ACME_OPEN}/callback"
    headers = {**TOKEN, "X-Idempotency-Key": "restart-1"}
    payload = {"externalSystem": "jira", "externalIssueId": "RECON-7", "status": "RESOLVED"}
    before = httpx.post(url, headers=headers, json=payload)
    assert before.headers["X-Idempotency-Replayed"] == "false", before.text
    container.engine("restart", container.name, timeout=60)
    container.wait_healthy()
    after = httpx.post(url, headers=headers, json=payload)
    assert after.headers["X-Idempotency-Replayed"] == "true"
    assert after.content == before.content
    state = httpx.get(f"{container.url}/_mock/exceptions/{ACME_OPEN}", headers=ADMIN).json()
    assert (state["status"], len(state["callbacks"])) == ("RESOLVED", 1)


def test_stop_ends_the_mock_by_sigterm(container: Container) -> None:
    """`stop` ends the mock through its SIGTERM handler (exit 0) instead of a SIGKILL after the grace time (137)."""
    container.engine("stop", "--time", "30", container.name, timeout=60)
    assert container.engine("inspect", "--format", "{{.State.ExitCode}}", container.name) == "0"


@pytest.mark.redis
def test_compose_replicas_share_state_through_redis(engine: Engine, image: str, redis_url: str) -> None:
    """Two containers with the compose example's settings (its Redis swapped for this machine's): a callback sent
    to one is replayed by the other."""
    namespace = f"test-container-{uuid.uuid4().hex[:12]}"
    env = dict(next(iter(mock_services().values()))["environment"])  # type: ignore[call-overload]
    env["CALLBACK_KIT_STORE"] = f"{redis_url}?namespace={namespace}"
    options = [f"--env={name}={value}" for name, value in env.items()]
    payload = {"externalSystem": "jira", "externalIssueId": "RECON-8", "status": "RESOLVED"}
    headers = {**TOKEN, "X-Idempotency-Key": "replicas-1"}
    try:
        with (
            running(engine, image, *options, host_network=True, wait=False) as a,
            running(engine, image, *options, host_network=True, wait=False) as b,
        ):
            a.wait_healthy()
            b.wait_healthy()
            first = httpx.post(f"{a.url}/v1/exceptions/{ACME_OPEN}/callback", headers=headers, json=payload)
            second = httpx.post(f"{b.url}/v1/exceptions/{ACME_OPEN}/callback", headers=headers, json=payload)
    finally:
        client = redis.Redis.from_url(redis_url)
        with contextlib.closing(client):
            keys = list(client.scan_iter(f"{namespace}:*"))
            if keys:
                client.delete(*keys)
    assert first.headers["X-Idempotency-Replayed"] == "false", first.text
    assert second.headers["X-Idempotency-Replayed"] == "true", second.text
    assert second.content == first.content
