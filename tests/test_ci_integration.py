"""CI integration: the GitHub Action, its example workflows and the GitLab template are valid and do what they
say; a freshly installed kit works beside popular neighbours, and runs the contract suite as a pytest plugin on
request.

First the static checks (check-jsonschema with the schemas bundled in the package, network closed; actionlint),
then runs against live mocks (the action's steps under a small stand-in for the runner, the GitLab jobs' scripts),
last the slow tests that install the kit into a fresh virtual environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import httpx
import pytest
import yaml

from tests.installs import BIN, NO_NETWORK, build_wheel, clean_env, fresh_venv, run, shown, tool
from tests.live import free_port, running_mock

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / "examples" / "github").glob("*.yml"))
GITLAB = ROOT / "examples" / "gitlab" / "contract.gitlab-ci.yml"
TOKEN, OTHER_TOKEN, ADMIN_TOKEN = "acme-integration-token", "globex-integration-token", "kit-admin-token"


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A script the way GitHub runs `shell: bash` (and GitLab its bash jobs): errexit and pipefail."""
    path = cwd / f".script-{time.monotonic_ns()}.sh"
    path.write_text(script, encoding="utf-8")
    return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], cwd, env, timeout=300)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


# check-jsonschema ----------------------------------------------------------------------------------------------

SCHEMAS = [("vendor.github-actions", ACTION), *(("vendor.github-workflows", w) for w in WORKFLOWS)]
SCHEMAS.append(("vendor.gitlab-ci", GITLAB))


def check_jsonschema(schema: str, path: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    transform = ["--data-transform", "gitlab-ci"] if schema == "vendor.gitlab-ci" else []
    command = [tool("check-jsonschema"), "--builtin-schema", schema, *transform, str(path)]
    return run(command, tmp, clean_env(**NO_NETWORK, XDG_CACHE_HOME=str(tmp / "cache")))


@pytest.mark.parametrize(("schema", "path"), SCHEMAS, ids=[p.relative_to(ROOT).as_posix() for _, p in SCHEMAS])
def test_file_matches_its_bundled_schema(schema: str, path: Path, tmp_path: Path) -> None:
    """The action, each example workflow and the GitLab template validate against check-jsonschema's own schema."""
    result = check_jsonschema(schema, path, tmp_path)
    assert result.returncode == 0, shown(result)


def test_schema_downloads_fail_where_the_schemas_are_checked(tmp_path: Path) -> None:
    """The validations above ran with the network closed: a schema that needs downloading cannot be had there."""
    command = [tool("check-jsonschema"), "--schemafile", "https://json.schemastore.org/github-action.json", str(ACTION)]
    result = run(command, tmp_path, clean_env(**NO_NETWORK, XDG_CACHE_HOME=str(tmp_path / "cache")))
    assert result.returncode != 0
    assert "Connection refused" in result.stdout + result.stderr, shown(result)


@pytest.mark.parametrize(
    ("schema", "path", "valid", "broken"),
    [
        ("vendor.github-actions", ACTION, "      shell: bash\n", "\n"),
        ("vendor.github-workflows", WORKFLOWS[0], "    runs-on: ubuntu-latest\n", "\n"),
        ("vendor.gitlab-ci", GITLAB, "    when: always\n", "    when: sometimes\n"),
    ],
    ids=["action", "workflow", "gitlab"],
)
def test_schema_check_rejects_a_broken_file(schema: str, path: Path, valid: str, broken: str, tmp_path: Path) -> None:
    """A run step without a shell, a job without a runner, an unknown `artifacts:when` are each refused."""
    text = path.read_text(encoding="utf-8")
    assert valid in text
    copy = tmp_path / path.name
    copy.write_text(text.replace(valid, broken, 1), encoding="utf-8")
    assert check_jsonschema(schema, copy, tmp_path).returncode != 0


# actionlint ----------------------------------------------------------------------------------------------------


@pytest.fixture
def lint_project(tmp_path: Path) -> Path:
    """A repository holding the action at ./kit and the example workflows, which use it from there.

    actionlint reads a local action's metadata and checks every `with:` against its inputs; a repository is
    a folder with `.git`.
    """
    (tmp_path / ".git").mkdir()
    (tmp_path / "kit").mkdir()
    shutil.copy(ACTION, tmp_path / "kit" / "action.yml")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for workflow in WORKFLOWS:
        text = re.sub(r"uses: [\w.-]+/callback-contract-kit@\S+", "uses: ./kit", workflow.read_text(encoding="utf-8"))
        (workflows / workflow.name).write_text(text, encoding="utf-8")
    return tmp_path


def actionlint(project: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    """actionlint with shellcheck on every `run:` script when shellcheck is installed, and nothing else external."""
    shellcheck = BIN / "shellcheck" if (BIN / "shellcheck").exists() else shutil.which("shellcheck")
    command = [tool("actionlint"), "-no-color", "-oneline", f"-shellcheck={shellcheck or ''}", "-pyflakes="]
    return run([*command, *map(str, files)], project, clean_env(**NO_NETWORK))


def action_as_workflow(project: Path, action: dict[str, Any] | None = None) -> Path:
    """The action's steps as the one job of a reusable workflow with the same inputs, for actionlint to check.

    actionlint does not lint action metadata by itself; a `workflow_call` job gives its steps the same
    contexts (`inputs`, `steps`, `github.action_path`, `runner`) and so gets them type-checked and shellchecked.
    """
    action = action or yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    inputs = {
        name: {
            "type": "string",
            "required": bool(spec.get("required")),
            **({"default": spec["default"]} if "default" in spec else {}),
        }
        for name, spec in action["inputs"].items()
    }
    workflow = {
        "name": "the action's steps",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    path = project / ".github" / "workflows" / "action-steps.yml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_example_workflows_pass_actionlint(lint_project: Path) -> None:
    """Both example workflows lint clean, with the inputs they pass checked against action.yml."""
    result = actionlint(lint_project, *sorted((lint_project / ".github" / "workflows").glob("*.yml")))
    assert result.returncode == 0, shown(result)


def test_action_steps_pass_actionlint(lint_project: Path) -> None:
    """The action's steps lint clean: expressions, step ids, outputs and (with shellcheck) every script."""
    result = actionlint(lint_project, action_as_workflow(lint_project))
    assert result.returncode == 0, shown(result)


def test_actionlint_checks_the_inputs_given_to_the_action(lint_project: Path) -> None:
    """An input the action does not declare is reported, so the example workflows are checked against it."""
    workflow = lint_project / ".github" / "workflows" / "contract.yml"
    text = workflow.read_text(encoding="utf-8")
    workflow.write_text(text.replace("          seed:", "          sead:", 1), encoding="utf-8")
    result = actionlint(lint_project, workflow)
    assert result.returncode == 1
    assert 'input "sead" is not defined in action' in result.stdout, shown(result)


def test_actionlint_runs_shellcheck_on_the_scripts(lint_project: Path) -> None:
    """shellcheck is active in the lint above: an unquoted expansion in a script is reported."""
    tool("shellcheck")
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    step = next(step for step in action["runs"]["steps"] if step["id"] == "contract")
    assert 'mkdir -p "$REPORTS"' in step["run"]
    step["run"] = step["run"].replace('mkdir -p "$REPORTS"', "mkdir -p $REPORTS")
    result = actionlint(lint_project, action_as_workflow(lint_project, action))
    assert "SC2086" in result.stdout, shown(result)


def test_scripts_take_inputs_and_secrets_only_through_env() -> None:
    """No `run:` script of the action or the examples holds a `${{ }}` expression: values arrive as variables."""
    documents = [ACTION, *WORKFLOWS]
    scripts = []
    for path in documents:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        jobs = [loaded["runs"]] if "runs" in loaded else list(loaded["jobs"].values())
        scripts += [(path.name, step["run"]) for job in jobs for step in job["steps"] if "run" in step]
    assert scripts
    assert [(name, script) for name, script in scripts if "${{" in script] == []


def test_ci_section_documents_every_input_and_output() -> None:
    """The README's "Use it in CI" section (or its draft under examples/) names each input and output of the action."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if "## Use it in CI" in readme:
        section = readme.split("## Use it in CI", 1)[1].split("\n## ", 1)[0]
    else:
        section = (ROOT / "examples" / "README-ci-section.md").read_text(encoding="utf-8")
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert [name for name in [*action["inputs"], *action["outputs"]] if f"`{name}`" not in section] == []


# The action's steps under a stand-in for the runner ------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STATUS = {"always()", "success()", "failure()", "cancelled()"}


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """The part of GitHub's expression language the action uses: paths, 'strings', ||, &&, ==, != and status calls."""
    assert "(" not in re.sub(r"\w+\(\)", "", expression), f"not supported here: {expression}"
    for operator in ("||", "&&"):
        if operator in expression:
            values = [evaluate(part, context) for part in expression.split(operator)]
            wanted = operator == "||"
            return next((value for value in values if bool(value) == wanted), values[-1])
    for operator in ("!=", "=="):
        if operator in expression:
            left, right = (evaluate(part, context) for part in expression.split(operator))
            return (left == right) == (operator == "==")
    term = expression.strip()
    if term in STATUS:
        return {"always()": True, "success()": not context["failed"], "failure()": context["failed"]}.get(term, False)
    if term.startswith("'"):
        return term.strip("'")
    value: Any = context
    for name in term.split("."):
        value = value.get(name, "") if isinstance(value, dict) else ""
    return value


def render(text: str, context: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda match: str(evaluate(match.group(1), context)), text)


@dataclass
class StepRun:
    id: str
    outcome: str
    env: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    returncode: int | None = None
    log: str = ""


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    summary: str
    uploads: list[dict[str, str]]

    def step(self, step_id: str) -> StepRun:
        return next(step for step in self.steps if step.id == step_id)


def run_action(inputs: dict[str, str], workspace: Path) -> ActionRun:
    """Run action.yml's steps in order as the runner would, against the kit installed in this venv.

    The `uses:` steps are stood in for (setup-python answers with this interpreter, upload-artifact records what
    it was given) and so is the install step: its environment is rendered, its outputs point at this venv.
    """
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert set(inputs) <= set(action["inputs"]), "an input the action does not declare"
    given = {name: inputs.get(name, spec.get("default", "")) for name, spec in action["inputs"].items()}
    temp = workspace / "runner-temp"
    temp.mkdir(parents=True)
    summary = temp / "step-summary.md"
    summary.touch()
    context: dict[str, Any] = {
        "inputs": given,
        "github": {"action_path": str(ROOT)},
        "runner": {"temp": str(temp)},
        "steps": {},
        "failed": False,
    }
    steps, uploads = [], []
    for step in action["runs"]["steps"]:
        condition = step.get("if", "success()")
        if not any(call in condition for call in STATUS):
            condition = f"success() && {condition}"
        if not evaluate(condition, context):
            steps.append(StepRun(step["id"], "skipped"))
            continue
        env = {name: render(str(value), context) for name, value in step.get("env", {}).items()}
        with_ = {name: render(str(value), context) for name, value in step.get("with", {}).items()}
        outputs: dict[str, str] = {}
        returncode, log = 0, ""
        if step.get("uses", "").startswith("actions/setup-python@"):
            outputs = {"python-path": sys.executable}
        elif step.get("uses", "").startswith("actions/upload-artifact@"):
            uploads.append(with_)
        elif step["id"] == "install":
            outputs = {"callback-kit": str(BIN / "callback-kit"), "python": sys.executable}
        else:
            output = temp / f"{step['id']}.output"
            output.touch()
            files = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(temp)}
            result = bash(step["run"], workspace, clean_env(**env, **files))
            returncode, log = result.returncode, result.stdout + result.stderr
            outputs = dict(
                line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line
            )
        steps.append(StepRun(step["id"], "success" if returncode == 0 else "failure", env, outputs, returncode, log))
        context["steps"][step["id"]] = {"outputs": outputs, "outcome": steps[-1].outcome}
        context["failed"] = context["failed"] or returncode != 0
    action_outputs = {name: render(spec["value"], context) for name, spec in action["outputs"].items()}
    return ActionRun(steps, action_outputs, summary.read_text(encoding="utf-8"), uploads)


def test_action_installs_its_own_checkout_unless_given_a_package(tmp_path: Path) -> None:
    """`pip install` gets the action's own checkout (`github.action_path`), or the `kit-package` requirement."""
    own = run_action({"base-url": f"http://127.0.0.1:{free_port()}", "token": TOKEN}, tmp_path / "own")
    assert own.step("install").env["KIT_SOURCE"] == str(ROOT)
    package = "callback-contract-kit==0.1.0"
    given = {"base-url": f"http://127.0.0.1:{free_port()}", "token": TOKEN, "kit-package": package}
    pinned = run_action(given, tmp_path / "pinned")
    assert pinned.step("install").env["KIT_SOURCE"] == package


JUDGED = [
    pytest.param(
        (),
        {
            "other-tenant-token": OTHER_TOKEN,
            "exception-factory": "mock",
            "exception-reader": "mock",
            "admin-token": ADMIN_TOKEN,
            "seed": "7",
        },
        "0",
        "kept",
        id="kept",
    ),
    pytest.param(("--profile", "matcher", "--rate-limit", "0"), {}, "1", "broken", id="broken"),
    pytest.param(
        ("--profile", "matcher", "--rate-limit", "0"),
        {
            "other-tenant-token": OTHER_TOKEN,
            "exception-factory": "mock",
            "exception-reader": "mock",
            "admin-token": ADMIN_TOKEN,
            "seed": "7",
            "accept-divergences": "all",
        },
        "0",
        "kept",
        id="known-divergences-accepted",
    ),
    pytest.param(None, {}, "2", "not judged", id="not-judged"),
]


@pytest.mark.parametrize(("mock_options", "inputs", "code", "title"), JUDGED)
def test_action_reports_then_fails_with_the_verdict(
    mock_options: tuple[str, ...] | None, inputs: dict[str, str], code: str, title: str, tmp_path: Path
) -> None:
    """Summary and upload come first, whatever the verdict; the last step then exits with the kit's exit code.

    Kept: the published mock. Broken: the matcher profile, which keeps the reference implementation's
    divergences. Not judged: nothing listens at the base URL.
    """
    with contextlib.ExitStack() as stack:
        if mock_options is None:
            base_url = f"http://127.0.0.1:{free_port()}"
        else:
            base_url = stack.enter_context(running_mock("memory://", tmp_path, extra=mock_options)).url
        given = {"base-url": base_url, "token": TOKEN, "max-examples": "5", **inputs}
        result = run_action(given, tmp_path / "workspace")

    log = "\n\n".join(f"## {step.id}: {step.outcome}\n{step.log[-4000:]}" for step in result.steps)
    outcomes = {step.id: step.outcome for step in result.steps}
    assert outcomes == {
        "python": "success",
        "install": "success",
        "contract": "success",
        "summary": "success",
        "upload": "success",
        "verdict": "success" if code == "0" else "failure",
    }, log
    assert [step.id for step in result.steps][-3:] == ["summary", "upload", "verdict"]
    assert result.step("verdict").returncode == int(code)
    assert result.outputs["exit-code"] == code
    assert f"## Callback contract: {title}" in result.summary

    reports = tmp_path / "workspace" / "callback-contract-reports"
    assert result.uploads == [
        {"name": "callback-contract-reports", "path": "callback-contract-reports", "if-no-files-found": "ignore"}
    ]
    written = {path.name: path.read_text(encoding="utf-8") for path in reports.iterdir()}
    for text in [*written.values(), result.summary]:
        assert not [token for token in (TOKEN, OTHER_TOKEN, ADMIN_TOKEN) if token in text], "a token was written out"

    rows = [line for line in result.summary.splitlines() if line.startswith("| ") and not line.startswith("| check ")]
    banner = written["contract.log"].splitlines()[0]
    if code == "0":
        assert "seed 7, max-examples 5" in banner
        assert "exception factory: mock; other tenant: yes" in banner
        assert rows
        assert all(any(word in row for word in ("PASS", "SKIP", "KNOWN")) for row in rows), result.summary
        assert any("KNOWN" in row for row in rows) == bool(inputs.get("accept-divergences")), result.summary
        assert len(rows) == written["junit.xml"].count("<testcase ")
    elif code == "1":
        # Empty inputs are not given at all: the kit's default seed, no second tenant.
        assert "seed 42," in banner
        assert "other tenant: no" in banner
        assert any("FAIL" in row for row in rows)
        assert "<details>" in result.summary
        assert "curl " in result.summary
    else:
        assert not any("PASS" in row for row in rows)
        assert "cannot reach" in result.summary


# The GitLab template's jobs -------------------------------------------------------------------------------------


def gitlab_job(name: str) -> dict[str, Any]:
    """A job of the template, its `extends:` chain merged as GitLab merges it (hashes deep, the rest replaced)."""
    template = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    job = dict(template[name])
    parent = job.pop("extends", None)
    return job if parent is None else _merge(gitlab_job(parent), job)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        both_hashes = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merge(base[key], value) if both_hashes else value
    return merged


def gitlab_variables(job: dict[str, Any], project: dict[str, str]) -> dict[str, str]:
    """The job's variables as GitLab expands them; `project` (CI/CD and predefined variables) wins over the file."""
    template = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    values = dict(project)
    for name, value in {**template.get("variables", {}), **job.get("variables", {})}.items():
        if name not in project:
            values[name] = Template(str(value)).safe_substitute(values)
    return values


def without_installs(lines: list[str]) -> list[str]:
    """The script lines this test runs: an install line is left out, this venv already has the kit."""
    kept = [line for line in lines if "pip install" not in line]
    assert not any("venv" in line for line in kept), "a line that makes a virtual environment would run"
    return kept


def test_gitlab_contract_job_judges_a_live_mock(tmp_path: Path) -> None:
    """`callback-contract` passes against the mock and leaves its JUnit report where `artifacts:reports:junit` says."""
    job = gitlab_job("callback-contract")
    project = tmp_path / "project"
    project.mkdir()
    with running_mock("memory://", tmp_path) as mock:
        variables = gitlab_variables(
            job,
            {
                "CI_PROJECT_DIR": str(project),
                "CONTRACT_KIT_VENV": sys.prefix,
                "CALLBACK_KIT_BASE_URL": mock.url,
                "CALLBACK_KIT_TOKEN": TOKEN,
                "CALLBACK_KIT_OTHER_TENANT_TOKEN": OTHER_TOKEN,
                "CALLBACK_KIT_EXCEPTION_FACTORY": "mock",
                "CALLBACK_KIT_EXCEPTION_READER": "mock",
                "CALLBACK_KIT_ADMIN_TOKEN": ADMIN_TOKEN,
                "CALLBACK_KIT_MAX_EXAMPLES": "5",
            },
        )
        result = bash(
            "\n".join(without_installs(job["before_script"] + job["script"])), project, clean_env(**variables)
        )
    assert result.returncode == 0, shown(result)
    assert job["artifacts"]["when"] == "always"
    suite = ET.parse(project / job["artifacts"]["reports"]["junit"]).getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) > 0
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    assert (project / "reports" / "callback-contract.har").is_file()


INTEGRATOR_TEST = """
import os
import uuid

import httpx


def test_resolve_an_exception_through_the_mock():
    url = os.environ["MATCHER_URL"] + "/v1/exceptions/1a010000-0000-4000-8000-000100000001/callback"
    headers = {"Authorization": f"Bearer {os.environ['MATCHER_TOKEN']}", "X-Idempotency-Key": f"it-{uuid.uuid4().hex}"}
    body = {"externalSystem": "jira", "externalIssueId": "RECON-1", "status": "RESOLVED"}
    answer = httpx.post(url, headers=headers, json=body)
    assert answer.status_code == EXPECTED, answer.text
"""


@pytest.mark.parametrize(("expected", "passes"), [(200, True), (418, False)], ids=["tests-pass", "tests-fail"])
def test_gitlab_mock_job_serves_the_projects_tests_and_stops(expected: int, passes: bool, tmp_path: Path) -> None:
    """`callback-mock-tests` starts the mock, runs the project's tests against it and stops it, also after a failure."""
    job = gitlab_job("callback-mock-tests")
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_callbacks.py").write_text(INTEGRATOR_TEST.replace("EXPECTED", str(expected)))
    (project / "requirements.txt").write_text("httpx\n")
    variables = gitlab_variables(
        job,
        {
            "CI_PROJECT_DIR": str(project),
            "CONTRACT_KIT_VENV": sys.prefix,
            "MATCHER_MOCK_PORT": str(free_port()),
        },
    )
    assert variables["MATCHER_URL"] == f"http://127.0.0.1:{variables['MATCHER_MOCK_PORT']}"
    pid_file = project / ".callback-mock.pid"
    try:
        result = bash(
            "\n".join(without_installs(job["before_script"] + job["script"])), project, clean_env(**variables)
        )
        assert "callback mock ready at" in result.stdout, shown(result)
        pid = int(pid_file.read_text())
        assert alive(pid), "the mock stopped before after_script"
        after = bash("\n".join(job["after_script"]), project, clean_env(**variables))
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid), "after_script left the mock running"
    finally:
        # A safety net for this test only: stopping the mock is after_script's job, checked above.
        if pid_file.exists() and alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert (result.returncode == 0) == passes, shown(result)
    assert after.returncode == 0, shown(after)
    junit = ET.parse(project / job["artifacts"]["reports"]["junit"]).getroot()
    assert [case.get("name") for case in junit.iter("testcase")] == ["test_resolve_an_exception_through_the_mock"]


# The kit in a fresh environment beside popular neighbours; the suite's pytest plugin on request (slow) -------------


# Neighbours from PyPI that collided with the kit: a top-level `fixtures` package, and a plugin with `--base-url`.
NEIGHBOURS = ("fixtures", "pytest-base-url")


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a new virtual environment with the kit installed from a wheel built from this checkout, and
    the PyPI packages `fixtures` and `pytest-base-url` beside it.

    The kit's dependencies are this environment's (`tests/installs.py`: no download); the neighbours come from PyPI.
    """
    tmp = tmp_path_factory.mktemp("fresh")
    python = fresh_venv(tmp, build_wheel(tmp))
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--disable-pip-version-check"]
    neighbours = run([*pip, *NEIGHBOURS], tmp, clean_env(), timeout=300)
    assert neighbours.returncode == 0, shown(neighbours)
    return python


def fresh_run(program: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A program of the fresh environment, run in a folder of its own so that nothing of this checkout is importable."""
    cwd.mkdir(exist_ok=True)
    return run([str(program), *args], cwd, clean_env(), timeout=300)


@contextlib.contextmanager
def fresh_mock(python: Path, tmp: Path) -> Iterator[str]:
    """`callback-kit serve` of the fresh environment on a free port, stopped by its PID."""
    port = free_port()
    log = tmp / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(python.parent / "callback-kit"), "serve", "--store", "memory://", "--port", str(port)],
            cwd=tmp, env=clean_env(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{url}/openapi.json"):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)  # readiness poll
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


BASE_URL_PROJECT = """
def test_uses_pytest_base_url(base_url):
    assert base_url == "https://shop.example"
"""


@pytest.mark.slow
def test_the_kit_registers_no_pytest_plugin(fresh_python: Path, tmp_path: Path) -> None:
    """The fresh environment holds the wheel's kit, and no `pytest11` entry point of it."""
    code = (
        "import importlib.metadata as m, callback_kit.contract_tests;"
        "print(callback_kit.contract_tests.__file__);"
        "print(sorted(e.value for e in m.entry_points(group='pytest11')))"
    )
    result = fresh_run(fresh_python, tmp_path / "cwd", "-c", code)
    assert result.returncode == 0, shown(result)
    where, plugins = result.stdout.splitlines()
    assert where.startswith(str(fresh_python.parent.parent))
    assert "callback_kit" not in plugins
    assert "pytest_base_url" in plugins


@pytest.mark.slow
def test_installed_kit_has_every_subcommand(fresh_python: Path, tmp_path: Path) -> None:
    """Every module behind a `callback-kit` subcommand is in the wheel (the CLI hides the ones that fail to import)."""
    code = (
        "import importlib\n"
        "from callback_kit.cli import SUBCOMMANDS\n"
        "for name, _ in SUBCOMMANDS.values(): importlib.import_module(name)"
    )
    result = fresh_run(fresh_python, tmp_path / "cwd", "-c", code)
    assert result.returncode == 0, shown(result)


@pytest.mark.slow
def test_the_kit_works_beside_fixtures_and_pytest_base_url(fresh_python: Path, tmp_path: Path) -> None:
    """In one environment with `fixtures` and `pytest-base-url`: lint, serve, contract and another project's pytest."""
    kit = fresh_python.parent / "callback-kit"
    lint = fresh_run(kit, tmp_path / "lint", "lint")
    assert lint.returncode == 0, shown(lint)
    with fresh_mock(fresh_python, tmp_path) as url:
        options = ("--base-url", url, "--token", TOKEN, "--max-examples", "5")
        judged = fresh_run(kit, tmp_path / "contract", "contract", *options)
    assert judged.returncode == 0, shown(judged)
    assert judged.stdout.strip().splitlines()[-1].startswith("verdict: partial"), shown(judged)
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_shop.py").write_text(BASE_URL_PROJECT)
    own = fresh_run(
        fresh_python, project, "-m", "pytest", "-p", "no:cacheprovider", "--base-url", "https://shop.example"
    )
    assert own.returncode == 0, shown(own)
    assert "1 passed" in own.stdout
    assert "callback" not in own.stdout + own.stderr
    usage = fresh_run(fresh_python, project, "-m", "pytest", "--help")
    assert "--base-url=" in " ".join(usage.stdout.split())
    assert "--callback-kit" not in usage.stdout


@pytest.mark.slow
def test_plugin_options_are_prefixed_and_listed_on_request(fresh_python: Path, tmp_path: Path) -> None:
    """With `-p callback_kit.contract_tests.plugin`, `pytest --help` lists each option as `--callback-kit-...`."""
    from callback_kit.contract_tests.config import OPTIONS

    plugin = ("-p", "callback_kit.contract_tests.plugin")
    result = fresh_run(fresh_python, tmp_path / "cwd", "-m", "pytest", *plugin, "--help")
    assert result.returncode == 0, shown(result)
    text = " ".join(result.stdout.split())
    for option in OPTIONS:
        assert f"--callback-kit-{option.flag[2:]}" in text, option.flag
        assert f"[env {option.env}]" in text, option.env


@pytest.fixture
def live_mock(tmp_path: Path) -> Iterator[str]:
    with running_mock("memory://", tmp_path) as mock:
        yield mock.url


@pytest.mark.slow
def test_plugin_runs_the_suite_beside_a_projects_own_tests(fresh_python: Path, live_mock: str, tmp_path: Path) -> None:
    """`pytest -p callback_kit.contract_tests.plugin tests/ --callback-kit-base-url ...` runs both, beside
    pytest-base-url's own `--base-url`."""
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_shop.py").write_text(BASE_URL_PROJECT)
    result = fresh_run(
        fresh_python, project, "-m", "pytest", "-p", "callback_kit.contract_tests.plugin", "tests/",
        "-p", "no:cacheprovider",
        "--base-url", "https://shop.example",
        "--callback-kit-base-url", live_mock, "--callback-kit-token", TOKEN,
        "--callback-kit-other-tenant-token", OTHER_TOKEN, "--callback-kit-exception-factory", "mock",
        "--callback-kit-exception-reader", "mock",
        "--callback-kit-admin-token", ADMIN_TOKEN, "--callback-kit-max-examples", "5",
        "--callback-kit-junit", "reports/callback-contract.xml", "--junit-xml", "reports/all.xml",
    )  # fmt: skip
    assert result.returncode == 0, shown(result)
    assert "verdict: passed: the implementation keeps the contract" in result.stdout
    names = [case.get("name") for case in ET.parse(project / "reports" / "all.xml").getroot().iter("testcase")]
    assert "test_uses_pytest_base_url" in names
    assert "idempotency/replay_returns_stored_response" in names
    assert (project / "reports" / "callback-contract.xml").is_file()
