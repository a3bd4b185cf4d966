"""The one reporting layer of `callback-kit contract`, `replay` and `fuzz`.

    redact    secrets replaced by the environment variable that holds them (`${CALLBACK_KIT_TOKEN}`)
    curl      shell words and curl commands that send a request again, exact bytes included
    har       HAR 1.2 logs, written entry by entry with `harfile`
    junit     JUnit XML reports, written with `junitparser`
    progress  progress of a long task: a `rich` bar with rate and ETA on a terminal, plain lines elsewhere

Only the commands of the `[contract]` extra import this package.
"""

# ruff: noqa: I001 - `rich` first: without the [contract] extra, the console script names the extra to install.
from callback_kit.reporting.progress import Progress
from callback_kit.reporting.curl import exchange_curl, quote, word
from callback_kit.reporting.junit import JUnitCase, write_junit
from callback_kit.reporting.redact import Secrets, redact

__all__ = ["JUnitCase", "Progress", "Secrets", "exchange_curl", "quote", "redact", "word", "write_junit"]
