"""Contract tests of the exception-callback endpoint, for any implementation: `callback-kit contract` or
`pytest --pyargs callback_kit.contract_tests` with the same options."""

if __name__ != "callback_kit.contract_tests":
    # The repository's folder imported as a top-level package (`python -m contract_tests` in a checkout) would be
    # a second copy of the kit beside the installed one.
    raise ImportError(f"import this folder as callback_kit.contract_tests, not {__name__} (pip install -e . first)")


from callback_kit.contract_tests.config import Settings
from callback_kit.contract_tests.failures import ConfigurationError, ContractViolation

__all__ = ["ConfigurationError", "ContractViolation", "Settings"]
