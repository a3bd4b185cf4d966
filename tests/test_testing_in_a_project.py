"""`callback_kit.testing` as an integrator meets it: pytest run in a project of its own, in a subprocess.

The example project (`examples/pytest-client/`) passes as the README shows it, and the same tests fail, citing
the finding, when its client retries a lost answer under a new key. Projects written here check how the plugin
is enabled (on request only), how its fixtures keep or reset state, and that it leaves nothing running.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pytest-client"
README_SECTION = "## Test a Python client with the pytest fixture"
README_REFERENCE = "### What the fixture gives a test"  # the walkthrough ends here; the reference follows
PROJECT_INI = """\
[tool.pytest.ini_options]
addopts = ["--strict-markers", "--strict-config"]
filterwarnings = ["error"]
"""
A_TEST = """\
def test_resolve(callback_mock):
    import httpx
    exception_id = callback_mock.create_exception("OPEN")
    body = {"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOLVED"}
    answer = httpx.post(callback_mock.callback_url(exception_id), json=body, headers=callback_mock.acme.authorization)
    assert answer.status_code == 200
"""


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -X dev -m pytest ARGS` in `project` (dev mode: unclosed sockets and the like are reported too)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    command = [sys.executable, "-X", "dev", "-m", "pytest", "-q", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=180, check=False)


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    """A project of its own in `tmp_path`: a pytest configuration with warnings as errors, and `files`."""
    (tmp_path / "pyproject.toml").write_text(PROJECT_INI, encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def example_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "pytest-client", ignore=shutil.ignore_patterns("__pycache__")))


def test_the_example_project_passes(tmp_path: Path) -> None:
    """The example's tests pass against the mock, with warnings as errors, and leave no warning."""
    result = pytest_in(example_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^\d+ passed in ", result.stdout, re.MULTILINE), result.stdout


def test_a_client_that_retries_under_a_new_key_fails_with_the_finding(tmp_path: Path) -> None:
    """The example's client changed to send each attempt under a new key fails `assert_no_findings`, cited."""
    copy = example_copy(tmp_path)
    client = copy / "ticket_sync.py"
    good = "self._post(exception_id, body, key)"
    assert client.read_text(encoding="utf-8").count(good) == 1
    bad = "self._post(exception_id, body, str(uuid.uuid4()))"
    client.write_text(client.read_text(encoding="utf-8").replace(good, bad), encoding="utf-8")
    result = pytest_in(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    for line in [
        "FAILED test_ticket_sync.py::test_a_lost_answer_is_retried_with_the_same_key",
        ">       callback_mock.assert_no_findings()",
        "ClientMisbehaved: the client's retries lose or duplicate work:",
        "[new-key-after-lost-response] exception ",
        "it was applied 2 times",
        "200, answer lost, key ",
        "advice: Retry a callback whose answer was lost with the SAME key",
    ]:
        assert line in result.stdout, result.stdout
    assert "1 failed" in result.stdout, result.stdout


def test_the_readme_shows_the_example_project() -> None:
    """Every Python block of the README's walkthrough of the fixture is, verbatim, part of the example project."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    walkthrough = readme.split(README_SECTION, 1)[1].split(README_REFERENCE, 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", walkthrough, re.DOTALL)
    sources = "\n".join(path.read_text(encoding="utf-8") for path in sorted(EXAMPLE.glob("*.py")))
    assert len(blocks) == 3
    for block in blocks:
        assert block in sources, f"README block not in examples/pytest-client:\n{block}"


def test_installing_the_kit_enables_nothing(tmp_path: Path) -> None:
    """Without `-p` or `pytest_plugins`, a project sees neither the fixture nor the marker."""
    root = project(tmp_path, {"test_x.py": A_TEST})
    result = pytest_in(root)
    assert result.returncode == 1
    assert "fixture 'callback_mock' not found" in result.stdout, result.stdout
    markers = pytest_in(root, "--markers")
    assert "callback_mock" not in markers.stdout


def test_dash_p_enables_the_plugin(tmp_path: Path) -> None:
    """`pytest -p callback_kit.testing` gives a project without a conftest the fixture."""
    root = project(tmp_path, {"test_x.py": A_TEST})
    result = pytest_in(root, "-p", "callback_kit.testing")
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_scope_keeps_state_as_promised_and_nothing_is_left_running(tmp_path: Path) -> None:
    """`callback_mock` is reset per test; the session fixture and a module's `running_mock` keep their state;
    at the end of the session no mock thread is alive and no mock port accepts a connection."""
    conftest = """\
        import json, socket, threading
        from pathlib import Path

        pytest_plugins = ["callback_kit.testing"]

        def pytest_sessionfinish(session):
            urls = Path("urls.txt").read_text().split()
            listening = []
            for url in urls:
                try:
                    socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5).close()
                    listening.append(url)
                except ConnectionRefusedError:
                    pass
            threads = [t.name for t in threading.enumerate() if t.name.startswith("callback-kit-mock")]
            Path("left.json").write_text(json.dumps({"urls": urls, "listening": listening, "threads": threads}))
    """
    tests = """\
        from pathlib import Path
        import pytest
        from callback_kit.testing import running_mock

        @pytest.fixture(scope="module")
        def module_mock():
            with running_mock() as mock:
                yield mock

        def test_first(callback_mock, callback_mock_session, module_mock):
            for mock in (callback_mock, callback_mock_session, module_mock):
                mock.faults.latency(1)
            Path("urls.txt").write_text(" ".join(m.url for m in (callback_mock, callback_mock_session, module_mock)))

        def test_second(callback_mock, callback_mock_session, module_mock):
            assert callback_mock.faults.active() == []
            assert len(callback_mock_session.faults.active()) == 1
            assert len(module_mock.faults.active()) == 1
    """
    root = project(tmp_path, {"conftest.py": conftest, "test_scopes.py": tests})
    result = pytest_in(root)
    assert result.returncode == 0, result.stdout + result.stderr
    left = json.loads((root / "left.json").read_text(encoding="utf-8"))
    assert len(set(left["urls"])) == 3
    assert (left["listening"], left["threads"]) == ([], [])


def test_a_bad_marker_option_fails_the_test_in_one_line(tmp_path: Path) -> None:
    """A misspelt marker option fails its test with the option named, and no traceback into the plugin."""
    tests = """\
        import pytest

        @pytest.mark.callback_mock(profle="matcher")
        def test_x(callback_mock):
            pass
    """
    result = pytest_in(project(tmp_path, {"test_x.py": tests}), "-p", "callback_kit.testing")
    assert result.returncode == 1
    assert "@pytest.mark.callback_mock: unknown option 'profle': the mock takes profile, auth, rate_limit" in (
        result.stdout
    )
    assert "callback_kit/testing" not in result.stdout


def test_the_plugin_needs_no_contract_extra(tmp_path: Path) -> None:
    """With the `[contract]` extra's packages (but pytest) unimportable, the fixture's mock still runs and grades."""
    script = """\
        import sys

        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"schemathesis", "hypothesis", "rich", "harfile"}:
                    raise ImportError(f"{name} is not installed (the [contract] extra)")
                return None

        sys.meta_path.insert(0, Refuse())
        import httpx
        from callback_kit.testing import running_mock

        with running_mock() as mock:
            exception_id = mock.create_exception("OPEN")
            body = {"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOLVED"}
            headers = {**mock.acme.authorization, "X-Idempotency-Key": "k-1"}
            assert httpx.post(mock.callback_url(exception_id), json=body, headers=headers).status_code == 200
            mock.assert_no_findings()
        print("ran without the contract extra")
    """
    (tmp_path / "check.py").write_text(textwrap.dedent(script), encoding="utf-8")
    command = [sys.executable, "-X", "dev", "-W", "error", "check.py"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ran without the contract extra" in result.stdout
