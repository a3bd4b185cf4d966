"""The callback contract kit: a stateful mock, contract tests and fuzz cases for Matcher's exception-callback
endpoint, `POST /v1/exceptions/{exceptionId}/callback`.

    callback_kit.contract        the contract as data: openapi.yaml, its x-idempotency block, lint
    callback_kit.mock_server     the mock (the repository's mock_server/ folder)
    callback_kit.contract_tests  the contract suite, fuzz cases and replay (the contract_tests/ folder)
    callback_kit.cli             the console script, `callback-kit`

The suite never imports the mock: both stand on `callback_kit.contract`.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("callback-contract-kit")
except metadata.PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
