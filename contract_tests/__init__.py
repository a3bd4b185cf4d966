"""Contract tests of the exception-callback endpoint, for any implementation: `callback-kit contract` or
`pytest contract_tests` with the same options."""

from contract_tests.config import Settings
from contract_tests.failures import ConfigurationError, ContractViolation

__all__ = ["ConfigurationError", "ContractViolation", "Settings"]
