"""The fuzz commands' errors: each one is a usage or input problem, reported with exit status 2.

    FuzzError                          every failure of `callback-kit fuzz` and `callback-kit replay`
    ├── SpecUnsupported(ValueError)    the spec asks for something the generator cannot build
    ├── CaseFileError(ValueError)      a cases file that cannot be read (the path and line are named)
    └── Unreachable(ConnectionError)   the server under test does not answer at all

A server that answers badly is not an error of the kit: that verdict is `judge.UnexpectedOutcome`.
"""

from __future__ import annotations


class FuzzError(Exception):
    """A failure of the fuzz commands; the message names the offending value and the expected form."""


class SpecUnsupported(FuzzError, ValueError):
    """The spec uses a construct the case generator cannot honour."""


class CaseFileError(FuzzError, ValueError):
    """A cases file that is missing or not in the `cases.jsonl` format."""


class Unreachable(FuzzError, ConnectionError):
    """No HTTP answer at all from the base URL."""
