"""What can go wrong in a contract run, and how a check stops early.

ContractKitError                        every error of this package
├── ConfigurationError(ValueError)      bad options, unreachable server, refused token, unwritable report: exit 2
│   ├── FactoryError                    the exception factory did not provide an exception
│   └── ReaderError                     the exception reader did not read an exception
└── CheckFailed(AssertionError)         a named check found the contract broken (its `Violation`): exit 1
SkipCheck                               the check cannot be made here; its reason goes into the summary
Interrupted(BaseException)              SIGINT or SIGTERM: every check stops at its next request
"""

from __future__ import annotations

from callback_kit.contract.checks import Violation


class ContractKitError(Exception):
    """Root of the contract suite's errors."""


class ConfigurationError(ContractKitError, ValueError):
    """The run cannot start: the message says which option or environment variable to fix."""


class FactoryError(ConfigurationError):
    """The exception factory failed; the message carries what it printed."""


class ReaderError(ConfigurationError):
    """The exception reader failed; the message carries what it printed."""


class CheckFailed(ContractKitError, AssertionError):
    """A check found a clause broken; carries the `Violation`."""

    def __init__(self, violation: Violation) -> None:
        self.violation = violation
        super().__init__(violation.title)


class SkipCheck(Exception):
    """The check cannot be made against this server or with these options; the message says why."""


class Interrupted(BaseException):
    """The run was interrupted: not an `Exception`, so that no library treats it as a test failure."""
