"""Shell words and curl commands: a request sent again, byte for byte, with its secrets read from variables.

`word` quotes literal text and leaves `${NAME}` placeholders for the shell to expand (the tokens of a
report, `${BASE_URL}`, `${TOKEN}` and `${RUN}` of `cases.sh`); `printf_bytes` prints exact bytes, with octal
escapes for what is not printable text. `exchange_curl` renders a recorded `Exchange`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache

from callback_kit.contract.exchange import Exchange
from callback_kit.reporting.redact import Secrets, redact

_PRINTABLE = frozenset(range(0x20, 0x7F)) - {ord("'")}
_SPECIAL = {ord("%"): "%%", ord("\\"): "\\\\"}
# Headers a client library adds by itself; a reproduction does not need them.
_IMPLICIT = frozenset({"host", "content-length", "user-agent", "accept-encoding", "connection", "accept"})


def quote(text: str) -> str:
    """`text` as one single-quoted POSIX shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


@cache
def _placeholders(names: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"\$\{(" + "|".join(sorted(map(re.escape, names))) + r")\}")


def word(template: str, names: Collection[str]) -> str:
    """A shell word for `template`: literal text quoted, each `${NAME}` of `names` expanded by the shell."""
    if not names:
        return quote(template)
    parts, position = [], 0
    for match in _placeholders(frozenset(names)).finditer(template):
        if match.start() > position:
            parts.append(quote(template[position : match.start()]))
        parts.append(f'"${{{match.group(1)}}}"')
        position = match.end()
    if position < len(template) or not parts:
        parts.append(quote(template[position:]))
    return "".join(parts)


def printf_bytes(raw: bytes) -> str:
    """A `printf` command that prints exactly `raw`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return f"printf '%s' {quote(text)}"
    # printf's format string understands \ooo: every byte that is not plain printable ASCII goes that way.
    escaped = "".join(_SPECIAL.get(b) or (chr(b) if b in _PRINTABLE else f"\\{b:03o}") for b in raw)
    return f"printf {quote(escaped)}"


def exchange_curl(exchange: Exchange, secrets: Secrets) -> str:
    """A curl command that sends `exchange`'s request again; secrets are read from their variables."""
    names = set(secrets.values())
    args = ["curl", "-i", "-X", exchange.method, word(redact(exchange.url, secrets), names)]
    for name, value in exchange.request_headers:
        if name.lower() not in _IMPLICIT:
            args += ["-H", word(redact(f"{name}: {value}", secrets), names)]
    if not exchange.request_body:
        return " ".join(args)
    if exchange.request_header("content-type") is None:
        args += ["-H", quote("Content-Type:")]  # else curl sends application/x-www-form-urlencoded
    try:
        text = exchange.request_body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        return f"{printf_bytes(exchange.request_body)} | {' '.join(args)} --data-binary @-"
    return " ".join([*args, "--data-raw", word(redact(text, secrets), names)])
