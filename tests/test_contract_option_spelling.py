"""The suite's messages name its options as the entry point spells them: `--token` on the command line,
`--callback-kit-token` under the pytest plugin (`config.flag`, the one function that spells them)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from callback_kit.contract_tests.config import Settings, Surface
from callback_kit.contract_tests.failures import ConfigurationError
from tests import broken_servers
from tests.broken_servers import TOKEN, serving
from tests.test_contract_suite import run_command

PLUGIN = (sys.executable, "-m", "pytest", "-p", "callback_kit.contract_tests.plugin", "-p", "no:cacheprovider")


def refusal(values: dict[str, Any], surface: Surface) -> str:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_options(values, surface)
    return str(raised.value)


@pytest.mark.parametrize(
    ("values", "cli", "plugin"),
    [
        ({}, "give --base-url (or CALLBACK_KIT_BASE_URL) and --token", "give --callback-kit-base-url (or"),
        (
            {"base_url": "http://x", "token": "t", "exception_factory": "mock"},
            "--exception-factory mock needs --admin-token",
            "--callback-kit-exception-factory mock needs --callback-kit-admin-token",
        ),
        ({"base_url": "http://x", "token": "t", "timeout": "0"}, "--timeout must", "--callback-kit-timeout must"),
        (
            {"base_url": "http://x", "token": "t", "accept_divergences": "99"},
            "--accept-divergences: '99'",
            "--callback-kit-accept-divergences: '99'",
        ),
    ],
)
def test_a_refused_option_is_named_as_the_entry_point_spells_it(values: dict[str, Any], cli: str, plugin: str) -> None:
    """The same refusal names `--x` from the command line and `--callback-kit-x` from the plugin."""
    assert refusal(values, "cli").startswith(cli)
    assert "--callback-kit-" not in refusal(values, "cli")
    assert refusal(values, "plugin").startswith(plugin)


def test_the_plugin_without_a_base_url_names_its_own_options(tmp_path: Path) -> None:
    """`pytest -p ...plugin` with no base URL exits 2 naming `--callback-kit-base-url` and `--callback-kit-token`."""
    run = run_command([*PLUGIN, "--rootdir", str(tmp_path), str(tmp_path)], tmp_path / "none.xml")
    assert run.code == 2, run.output
    assert "give --callback-kit-base-url (or CALLBACK_KIT_BASE_URL) and --callback-kit-token" in run.output
    assert "give --base-url" not in run.output


def test_the_plugins_skip_reasons_and_rerun_hint_name_its_own_options(tmp_path: Path) -> None:
    """A check not made says it needs `--callback-kit-exception-factory`; the verdict's rerun hint names
    `--callback-kit-seed`."""
    junit = tmp_path / "suite.xml"
    with serving(broken_servers.mock()) as url:
        options = ["--callback-kit-base-url", url, "--callback-kit-token", TOKEN, "--callback-kit-junit", str(junit)]
        options += ["--callback-kit-include-checks", "startup,key_is_optional", "-rs"]
        run = run_command([*PLUGIN, "--rootdir", str(tmp_path), *options, str(tmp_path)], junit)
    assert run.code == 0, run.output
    assert "needs --callback-kit-exception-factory (exceptions in a known status)" in run.output
    assert "(rerun with --callback-kit-seed 42)" in run.output
    assert "needs --exception-factory" not in run.output
    assert run.messages["key_is_optional"].startswith("needs --callback-kit-exception-factory")
