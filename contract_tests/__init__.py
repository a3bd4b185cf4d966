"""Contract tests of the exception-callback endpoint, for any implementation: `callback-kit contract`, or pytest
with `-p callback_kit.contract_tests.plugin` and the same options prefixed `--callback-kit-`.

    config         the options, declared once, and `Settings`
    registry       the named checks (startup, schemathesis, idempotency, state_machine) and the selection
    runner         makes the selected checks, one result per check; `session` is a whole CLI run
    probe          the start-up probe: configuration errors (exit 2) apart from broken contracts (exit 1)
    divergences/   the known divergences of Matcher 2.1: a catalogue (data) and pure readers of answers
    results        findings grouped by cause, and the verdict; `render` and `reports` show and write them
    plugin         the pytest adapter: each registered check a pytest item
    fuzz/          `callback-kit fuzz` and `replay`
"""

if __name__ != "callback_kit.contract_tests":
    # The repository's folder imported as a top-level package (`python -m contract_tests` in a checkout) would be
    # a second copy of the kit beside the installed one.
    raise ImportError(f"import this folder as callback_kit.contract_tests, not {__name__} (pip install -e . first)")


from callback_kit.contract_tests.config import Settings
from callback_kit.contract_tests.failures import CheckFailed, ConfigurationError

__all__ = ["CheckFailed", "ConfigurationError", "Settings"]
