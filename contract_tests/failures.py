"""What can go wrong in a contract run.

ContractKitError                        every error of this package
├── ConfigurationError(ValueError)      bad options, unreachable server, rejected token: exit 2
│   └── FactoryError                    the exception factory did not provide an exception
└── ContractViolation(AssertionError)   a check found the contract broken: exit 1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callback_kit.contract_tests.client import Exchange
    from callback_kit.contract_tests.divergences import Divergence


class ContractKitError(Exception):
    """Root of the contract suite's errors."""


class ConfigurationError(ContractKitError, ValueError):
    """The run cannot start: the message says which option or environment variable to fix."""


class FactoryError(ConfigurationError):
    """The exception factory failed; the message carries what it printed."""


class ContractViolation(ContractKitError, AssertionError):
    """A check failed: a title, what the contract expects, what the server did, and how to reproduce it."""

    def __init__(
        self,
        title: str,
        *,
        expected: str,
        received: str,
        exchange: Exchange | None = None,
        divergence: Divergence | None = None,
        note: str | None = None,
    ) -> None:
        self.title = title
        self.expected = expected
        self.received = received
        self.exchange = exchange
        self.divergence = divergence
        self.note = note
        super().__init__(self.render())

    def render(self) -> str:
        lines = [self.title, "", f"Expected: {self.expected}", f"Received: {self.received}"]
        if self.divergence is not None:
            lines += ["", f"This is {self.divergence}."]
        if self.note:
            lines += ["", self.note]
        if self.exchange is not None:
            lines += ["", "Reproduce with:", "", *(f"    {line}" for line in self.exchange.curl().splitlines())]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()
