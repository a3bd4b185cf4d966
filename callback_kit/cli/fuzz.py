"""`callback-kit fuzz`: write reproducible fuzz cases (cases.jsonl, cases.sh, cases.har) from openapi.yaml.

    callback-kit fuzz --count 300 --seed 20261128 --kind all --out build/fuzz

The same options give byte-identical files; another seed gives other values. Exit 0 on success, 2 on a
usage error or a spec the generator cannot use.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from callback_kit.contract_tests.fuzz.cases import Case, write_jsonl
from callback_kit.contract_tests.fuzz.errors import FuzzError
from callback_kit.contract_tests.fuzz.generate import KINDS, FuzzSettings, MiB, generate
from callback_kit.contract_tests.fuzz.har import write_har
from callback_kit.contract_tests.fuzz.shell import write_script
from callback_kit.contract_tests.fuzz.spec import Operation

FILES = ("cases.jsonl", "cases.sh", "cases.har")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=300, help="how many cases to write")
    parser.add_argument("--seed", type=int, default=0, help="the seed; the same seed gives the same files")
    parser.add_argument("--kind", choices=KINDS, default="all", help="positive, negative or all (2 in 5 positive)")
    parser.add_argument("--out", type=Path, required=True, help=f"folder to write {', '.join(FILES)} into")
    parser.add_argument("--spec", type=Path, default=None, help="the OpenAPI spec (default: the kit's)")
    parser.add_argument(
        "--exception-ids",
        default=None,
        help="comma-separated exception ids for the cases (default: the fixtures' exceptions of tenant acme)",
    )
    parser.add_argument(
        "--max-body-bytes", type=int, default=MiB, help="the server's body limit, which oversize cases exceed"
    )


def run(args: argparse.Namespace) -> int:
    if args.count < 1 or args.max_body_bytes < 1:
        print("callback-kit fuzz: --count and --max-body-bytes must be at least 1, e.g. --count 300", file=sys.stderr)
        return 2
    settings = FuzzSettings(
        count=args.count,
        seed=args.seed,
        kind=args.kind,
        exception_ids=tuple(i.strip() for i in (args.exception_ids or "").split(",") if i.strip()),
        max_body_bytes=args.max_body_bytes,
        spec_path=args.spec,
    )
    started = time.perf_counter()
    try:
        cases = generate(settings)
        write_files(cases, settings, args.out)
    except (FuzzError, OSError) as exc:
        print(f"callback-kit fuzz: {exc}", file=sys.stderr)
        return 2
    positives = sum(case.kind == "positive" for case in cases)
    print(
        f"callback-kit fuzz: {len(cases)} cases ({positives} positive, {len(cases) - positives} negative) "
        f"in {time.perf_counter() - started:.2f} s -> {args.out}/{{{','.join(FILES)}}}",
        file=sys.stderr,
    )
    return 0


def write_files(cases: list[Case], settings: FuzzSettings, out: Path) -> None:
    """Write the three files of `cases` into `out` (created if needed)."""
    op = Operation.load(settings.spec_path)
    out.mkdir(parents=True, exist_ok=True)
    origin = (
        f"{len(cases)} fuzz cases of POST {op.path} from the spec, written by\n"
        f"callback-kit fuzz --count {settings.count} --seed {settings.seed} --kind {settings.kind}"
        + (f" --max-body-bytes {settings.max_body_bytes}" if settings.max_body_bytes != MiB else "")
        + (f" --exception-ids {','.join(settings.exception_ids)}" if settings.exception_ids else "")
        + (f" --spec {settings.spec_path}" if settings.spec_path else "")
    )
    write_jsonl(cases, out / FILES[0])
    write_script(cases, out / FILES[1], key_headers=op.keys.headers, header=origin)
    write_har(cases, out / FILES[2], server_url=op.server_url, comment=origin)
