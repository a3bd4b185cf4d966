"""`callback-kit report`: the retry report of a running mock or proxy, for people (or as JSON, for scripts).

It reads `GET /_mock/report` and prints the contract violations a proxy saw (the server's answers, then the
clients' requests), then, per client, each finding with the request ids it cites. Exit codes: 0 all clean,
1 findings or violations (the server's or a client's), 2 a usage or connection error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

import httpx

DEFAULT_ADMIN_TOKEN = "kit-admin-token"
SLOW_MS = 100  # an answer this slow is worth showing: the client may have given up on it
# The report's violations, each party under its heading: the server's answers first, then the clients' requests.
SIDES = (
    ("violations", "Answers that break the contract (the server's)"),
    ("clientViolations", "Requests that break the contract (the clients')"),
)
SHOWN_CHARS = 200  # of a body that is no report (another server's HTML page): enough to recognise it


class ReportUnavailable(RuntimeError):
    """The mock could not be reached, refused the token, or did not answer with a report."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", required=True, help="the mock, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--admin-token",
        default=DEFAULT_ADMIN_TOKEN,
        help="token of the admin API (default: the fixtures' kit-admin-token)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    try:
        report = fetch(args.base_url, args.admin_token)
    except ReportUnavailable as exc:
        print(f"callback-kit report: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        render(report, sys.stdout)
    clean = report["findings"] == 0 and not report.get("violations") and not report.get("clientViolations")
    return 0 if clean else 1


def fetch(base_url: str, admin_token: str, timeout: float = 10.0) -> dict[str, Any]:
    """The report from the mock at `base_url`; raises `ReportUnavailable` saying what went wrong."""
    if not base_url.startswith(("http://", "https://")):
        raise ReportUnavailable(f"--base-url {base_url!r} must be an http(s) URL, e.g. http://127.0.0.1:8080")
    url = base_url.rstrip("/") + "/_mock/report"
    try:
        answer = httpx.get(url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ReportUnavailable(f"cannot reach {url}: {_one_line(str(exc)) or type(exc).__name__}") from exc
    if answer.status_code == 401:
        raise ReportUnavailable(f"{url} refused the admin token (401): pass the mock's --admin-token")
    if answer.status_code == 404:
        raise ReportUnavailable(
            f"{url} answered 404, no report there (is it callback-kit's mock or proxy?): {_shown(answer)}"
        )
    if answer.status_code != 200:
        raise ReportUnavailable(f"{url} answered {answer.status_code}: {_shown(answer)}")
    try:
        report = answer.json()
    except ValueError:
        raise ReportUnavailable(f"{url} did not answer JSON: {_shown(answer)}") from None
    if not isinstance(report, dict) or not isinstance(report.get("findings"), int):
        raise ReportUnavailable(f"{url} did not answer a retry report (no findings count)")
    return report


def _shown(answer: httpx.Response) -> str:
    """A body that is no report, as one line of at most `SHOWN_CHARS` characters."""
    return _one_line(answer.text)


def _one_line(text: str) -> str:
    squashed = " ".join(text.split())
    return squashed if len(squashed) <= SHOWN_CHARS else squashed[: SHOWN_CHARS - 1] + "…"


def render(report: dict[str, Any], out: TextIO) -> None:
    """The report as text: a headline, then each client with its counts and findings."""
    span = f" ({report['from']} .. {report['to']})" if report.get("from") else ""
    entries = f"{report['entries']} journal {'entry' if report['entries'] == 1 else 'entries'}"
    out.write(f"Retry report of {entries}{span}: {report['verdict']}\n")
    for field, heading in SIDES:
        violations = report.get(field) or []
        if violations:
            out.write(f"\n{heading} ({len(violations)}):\n")
        for found in violations:
            out.write(f"  [{found['check']}] {found['message']}\n")
            out.write(f"      {found['at']}  {found['requestId']}  {_outcome(found)}\n")
    for client in report["clients"]:
        counts = client["counts"]
        out.write(
            f"\n{client_name(client)}: {_many(counts['requests'], 'request')}, "
            f"{_many(counts['replays'], 'replay')}, {_many(counts['errors'], 'error')}, "
            f"{_many(counts['lostResponses'], 'answer')} lost -- {client['verdict']}\n"
        )
        for finding in client["findings"]:
            out.write(f"  [{finding['pattern']}] {finding['summary']}\n")
            for cited in finding["evidence"]:  # in the order they started, each at its start time
                out.write(f"      {cited.get('startedAt') or cited['at']}  {cited['requestId']}  {_outcome(cited)}\n")
            if finding.get("omitted"):
                out.write(f"      ... and {finding['omitted']} more\n")
            out.write(f"    advice: {finding['advice']}\n")


def client_name(client: dict[str, Any]) -> str:
    """A client as people read it: its principal and tenant, or the credential a refused caller kept sending."""
    if client.get("principal"):
        return f"{client['principal']} (tenant {client['tenant']})" if client.get("tenant") else client["principal"]
    if client.get("credential"):
        return f"refused caller (credential {client['credential']}, never authenticated)"
    return "refused caller (no credential sent)"


def _outcome(cited: dict[str, Any]) -> str:
    parts = [str(cited["status"])]
    if (cited.get("latencyMs") or 0) >= SLOW_MS:
        parts.append(f"took {cited['latencyMs']:.0f} ms")
    if cited.get("code"):
        parts.append(cited["code"])
    if cited.get("replayed"):
        parts.append("replayed")
    if cited.get("fault") == "lost_response" and cited["status"] < 400:
        parts.append("answer lost")
    elif cited.get("fault"):
        parts.append(f"fault {cited['fault']}")
    if cited.get("retryAfter") is not None:
        parts.append(f"Retry-After {cited['retryAfter']}")
    key = cited.get("idempotencyKey")
    parts.append(f"key {key}" if key else "no key")
    return ", ".join(parts)


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
