"""`callback-kit contract`: judge a running implementation against the spec, for CI.

It builds the settings, probes the server (exit 2 when it cannot be tested), then runs the very suite that
`pytest contract_tests` runs, in-process, with the probed environment, and turns the per-check results into
the exit code: 0 the contract is kept, 1 it is broken, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from callback_kit.contract_tests.config import OPTIONS, Settings
from callback_kit.contract_tests.environment import Environment, open_environment
from callback_kit.contract_tests.failures import ConfigurationError
from callback_kit.contract_tests.plugin import RESULTS, preset
from callback_kit.contract_tests.report import CheckResult, Finding, Results, write_junit

# The suite's folder as the package sees it (not resolved: in a checkout it is reached through callback_kit/).
PACKAGE = Path(str(resources.files("callback_kit.contract_tests")))
MODULES = ("test_schemathesis.py", "test_idempotency.py", "test_state_machine.py")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's options (a `callback-kit` parser also reads each from `CALLBACK_KIT_<DEST>`).

    Values stay text here: `Settings.from_options` converts and checks them, with the same message whether
    a value came from the command line or from the environment.
    """
    for option in OPTIONS:
        extra: dict[str, Any] = {"required": True} if option.required else {}
        parser.add_argument(
            option.flag, dest=option.dest, default=option.default, metavar=option.metavar, help=option.help, **extra
        )


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_options(vars(args))
    except ConfigurationError as exc:
        print(f"callback-kit contract: {exc}", file=sys.stderr)
        return 2
    print(_banner(settings), flush=True)
    try:
        environment = open_environment(settings)
    except ConfigurationError as exc:
        print(f"callback-kit contract: {exc}", file=sys.stderr)
        if settings.junit is not None:
            # CI reads the report even when the run could not start: say why there.
            results = Results()
            results.add(CheckResult("setup", "probe", "error", findings=[Finding("the run could not start", str(exc))]))
            write_junit(results, settings.junit, {"base_url": settings.base_url})
        return 2
    try:
        return run_suite(environment)
    finally:
        environment.close()


def run_suite(environment: Environment) -> int:
    """Run the suite in-process against a probed environment; the exit code of the verdict."""
    collected = _Collected()
    with tempfile.TemporaryDirectory(prefix="callback-kit-") as scratch:
        # An empty ini of our own: the project around the current directory must not change the run.
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        status = pytest.main(
            [
                *(str(PACKAGE / module) for module in MODULES),
                *("-c", str(ini), "--rootdir", str(PACKAGE.parent), "--confcutdir", str(PACKAGE)),
                *("-p", "callback_kit.contract_tests.plugin", "-p", "no:cacheprovider", "-p", "no:randomly"),
                *("-p", "no:warnings"),
                *("-q", "--no-header", "--tb=no", "-rN"),
            ],
            plugins=[preset(environment), collected],
        )
    verdict = collected.results.exit_code() if collected.results is not None else 2
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return 2
    return max(verdict, 1 if status == pytest.ExitCode.TESTS_FAILED else 0)


class _Collected:
    """Keeps the run's results once pytest is done with them."""

    results: Results | None = None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.results = config.stash.get(RESULTS, None)


def _banner(settings: Settings) -> str:
    return (
        f"callback-kit contract: {settings.base_url} (seed {settings.seed}, max-examples {settings.max_examples}, "
        f"workers {settings.workers}; exception factory: {settings.factory_kind or 'none'}; "
        f"other tenant: {'yes' if settings.other_tenant_token else 'no'})"
    )
