"""`callback-kit replay`: send fuzz cases to a server and judge the answers.

    callback-kit replay fixtures/fuzz-corpus.jsonl --base-url http://127.0.0.1:8080 --token acme-integration-token

Progress goes to stderr (a bar with rate and ETA on a terminal, a line every tenth of the run elsewhere);
the summary table, each unexpected answer (with a curl command) and the reports written to stdout. Exit 0
when every answer is as expected, 1 on any unexpected answer, 2 on a usage error (a missing or malformed
cases file, a base URL that does not answer).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callback_kit.cli.parser import number_in
from callback_kit.contract_tests.config import MAX_TIMEOUT
from callback_kit.contract_tests.fuzz.cases import read_jsonl
from callback_kit.contract_tests.fuzz.errors import FuzzError
from callback_kit.contract_tests.fuzz.replay import ReplaySettings, replay
from callback_kit.contract_tests.fuzz.report import summary, unexpected_listing, write_junit
from callback_kit.reporting.paths import UnwritablePath, writable_file
from callback_kit.reporting.progress import Progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cases", type=Path, metavar="PATH", help="a cases.jsonl written by callback-kit fuzz")
    parser.add_argument("--base-url", required=True, metavar="URL", help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, metavar="TOKEN", help="a bearer token that may process callbacks")
    parser.add_argument("--junit", type=Path, default=None, metavar="PATH", help="also write a JUnit XML report here")
    parser.add_argument(
        "--timeout",
        type=number_in(float, 0, MAX_TIMEOUT, above_low=True, unit=" seconds"),
        default=30.0,
        metavar="SECONDS",
        help="seconds to wait for each answer",
    )
    parser.add_argument(
        "--check-headers",
        action="store_true",
        default=False,
        help="also require the response headers the spec marks required (e.g. X-Request-Id)",
    )
    parser.add_argument("--spec", type=Path, default=None, metavar="PATH", help="the OpenAPI spec (default: the kit's)")


def run(args: argparse.Namespace) -> int:
    settings = ReplaySettings(
        base_url=args.base_url,
        token=args.token,
        timeout=args.timeout,
        check_headers=args.check_headers in (True, "1", "true", "yes"),
        spec_path=args.spec,
    )
    try:
        if args.junit is not None:
            writable_file("--junit", args.junit)  # before any case is sent, as `contract` checks its reports
        cases = read_jsonl(args.cases)
        if not cases:
            raise FuzzError(f"{args.cases} holds no cases")
        with Progress("replay", len(cases), verb="sent") as progress:
            verdicts = replay(cases, settings, lambda _done, _total, odd: progress.advance(note=f", {odd} unexpected"))
        if args.junit is not None:
            write_junit(verdicts, args.junit)
    except (FuzzError, UnwritablePath, OSError) as exc:
        print(f"callback-kit replay: {exc}", file=sys.stderr)
        return 2
    print(summary(verdicts))
    listing = unexpected_listing(verdicts)
    if listing:
        print()
        print(listing)
    if args.junit is not None:
        print(f"\nJUnit report: {args.junit}")
    return 1 if listing else 0
