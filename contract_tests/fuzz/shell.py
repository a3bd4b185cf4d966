"""Cases as curl commands: `cases.sh`, and the reproduction command printed for an unexpected answer.

Each command feeds curl the exact body bytes on stdin (`printf`, with octal escapes for bytes that are not
printable UTF-8; `head -c N /dev/zero | tr` for oversize fill), removes the headers curl would otherwise
add (`Content-Type` with a body), and expands `${BASE_URL}`, `${TOKEN}` and `${RUN}` from the environment.
`${RUN}` prefixes the idempotency keys of cases that are not about keys, so that each run sends fresh ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from callback_kit.contract_tests.fuzz.cases import Body, Case
from callback_kit.reporting.curl import printf_bytes, quote
from callback_kit.reporting.curl import word as shell_word

PLACEHOLDERS = ("BASE_URL", "TOKEN", "RUN")


def word(template: str) -> str:
    """A shell word for `template`: literal text quoted, `${BASE_URL}`, `${TOKEN}` and `${RUN}` expanded."""
    return shell_word(template, PLACEHOLDERS)


def command(
    case: Case, url: str, headers: Mapping[str, str], *, status_line: bool = True, body: Body | None = None
) -> str:
    """The curl command sending `case` to `url` (a template) with `headers` (templates, in order).

    With `status_line`, curl prints `<status> <case id> expect <statuses>` and drops the body (for
    `cases.sh`); without, it prints the whole answer (`-i`, to reproduce one case).
    """
    body = body if body is not None else case.body
    args = ["curl", "-sS", "--max-time", "60"]
    if status_line:
        args += ["-o", "/dev/null", "-w", quote(f"%{{http_code}} {case.id} expect {case.expect.label()}\\n")]
    else:
        args.append("-i")
    args += ["-X", case.method, word(url)]
    for name, value in headers.items():
        args += ["-H", quote(f"{name};") if value == "" else word(f"{name}: {value}")]
    producer = _producer(body)
    if producer is not None:
        if not any(name.lower() == "content-type" for name in headers):
            args += ["-H", quote("Content-Type:")]  # else curl sends application/x-www-form-urlencoded
        if body.encoding == "fill":
            args += ["-H", quote("Expect:")]  # no 100-continue round trip before a large body
        args += ["--data-binary", "@-"]
        return f"{producer} | {' '.join(args)}"
    return " ".join(args)


def write_script(cases: Iterable[Case], path: Path, *, key_headers: Iterable[str], header: str) -> None:
    """Write `cases.sh`: a POSIX shell script with one curl command per case."""
    keys = {name.lower() for name in key_headers}
    lines = [
        "#!/bin/sh",
        *(f"# {line}" if line else "#" for line in header.splitlines()),
        "# Run: BASE_URL=http://127.0.0.1:8080 TOKEN=<bearer token> sh cases.sh",
        '# Each case prints "<status> <case id> expect <statuses>".',
        ': "${BASE_URL:?set BASE_URL to the server, e.g. http://127.0.0.1:8080}"',
        ': "${TOKEN:?set TOKEN to a bearer token that may process callbacks}"',
        "# Prefix of the idempotency keys, so that every run of this script sends fresh ones.",
        'RUN="${RUN:-$(date +%s)-}"',
        "",
    ]
    for case in cases:
        headers = {
            name: ("${RUN}" + value if case.fresh_keys and name.lower() in keys else value)
            for name, value in case.headers.items()
        }
        lines.append(f"# {case.id}: {case.violation.note if case.violation else 'a valid callback'}")
        lines.append(command(case, "${BASE_URL}" + case.path, headers))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    path.chmod(0o755)


def _producer(body: Body) -> str | None:
    """A shell pipeline stage printing the body's exact bytes, or None for no body."""
    if body.encoding == "fill":
        fill = body.value
        if len(fill["fill"].encode()) != 1:
            raise ValueError(f"a fill body repeats one byte, got {fill['fill']!r}")
        repeat = f"head -c {int(fill['count'])} /dev/zero | tr '\\000' {quote(fill['fill'])}"
        return f"{{ {printf_bytes(fill['prefix'].encode())}; {repeat}; {printf_bytes(fill['suffix'].encode())}; }}"
    raw = body.to_bytes()
    return None if raw is None else printf_bytes(raw)
