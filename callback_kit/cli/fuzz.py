"""`callback-kit fuzz`: write reproducible fuzz cases (cases.jsonl, cases.sh, cases.har) from openapi.yaml.

    callback-kit fuzz --count 300 --seed 20261128 --kind all --out build/fuzz [--formats jsonl,sh]

The same options give byte-identical files; another seed gives other values. A progress bar on a terminal,
nothing but the closing line elsewhere. Exit 0 on success, 2 on a usage error or a spec the generator
cannot use.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from callback_kit.cli.parser import number_in
from callback_kit.contract_tests.config import SEEDS
from callback_kit.contract_tests.fuzz.cases import Case, write_jsonl
from callback_kit.contract_tests.fuzz.errors import FuzzError
from callback_kit.contract_tests.fuzz.generate import KINDS, FuzzSettings, MiB, iter_cases
from callback_kit.contract_tests.fuzz.har import write_har
from callback_kit.contract_tests.fuzz.shell import write_script
from callback_kit.contract_tests.fuzz.spec import Operation
from callback_kit.reporting.paths import UnwritablePath, writable_folder
from callback_kit.reporting.progress import Progress

FORMATS = {"jsonl": "cases.jsonl", "sh": "cases.sh", "har": "cases.har"}
FILES = tuple(FORMATS.values())
DEFAULT_FORMATS = ",".join(FORMATS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=300, metavar="N", help="how many cases to write")
    parser.add_argument(
        "--seed",
        type=number_in(int, *SEEDS),
        default=0,
        metavar="N",
        help="the seed; the same seed gives the same files",
    )
    parser.add_argument("--kind", choices=KINDS, default="all", help="positive, negative or all (2 in 5 positive)")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="folder to write the files into")
    parser.add_argument(
        "--formats",
        default=DEFAULT_FORMATS,
        metavar="NAME[,NAME...]",
        help="the files to write: jsonl (cases.jsonl, what replay reads), sh (cases.sh, curl), har (cases.har)",
    )
    parser.add_argument("--spec", type=Path, default=None, metavar="PATH", help="the OpenAPI spec (default: the kit's)")
    parser.add_argument(
        "--exception-ids",
        default=None,
        metavar="ID[,ID...]",
        help="comma-separated exception ids for the cases (default: the fixtures' exceptions of tenant acme)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=MiB,
        metavar="N",
        help="the server's body limit, which oversize cases exceed",
    )


def run(args: argparse.Namespace) -> int:
    formats = [name.strip() for name in str(args.formats).split(",") if name.strip()]
    unknown = [name for name in formats if name not in FORMATS]
    if args.count < 1 or args.max_body_bytes < 1:
        return _usage("--count and --max-body-bytes must be at least 1, e.g. --count 300")
    if unknown or not formats:
        return _usage(f"--formats {args.formats!r}: give some of {DEFAULT_FORMATS}, e.g. --formats jsonl,sh")
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
        writable_folder("--out", args.out)
        cases = []
        with Progress("fuzz", settings.count, verb="cases", counts=False) as progress:
            for case in iter_cases(settings):
                cases.append(case)
                progress.advance()
        write_files(cases, settings, args.out, formats)
    except (FuzzError, UnwritablePath, OSError) as exc:
        print(f"callback-kit fuzz: {exc}", file=sys.stderr)
        return 2
    positives = sum(case.kind == "positive" for case in cases)
    written = ",".join(FORMATS[name] for name in FORMATS if name in formats)
    print(
        f"callback-kit fuzz: {len(cases)} cases ({positives} positive, {len(cases) - positives} negative) "
        f"in {time.perf_counter() - started:.2f} s -> {args.out}/{{{written}}}",
        file=sys.stderr,
    )
    return 0


def write_files(cases: list[Case], settings: FuzzSettings, out: Path, formats: Sequence[str] = tuple(FORMATS)) -> None:
    """Write the files of `cases` named by `formats` (all three by default) into `out` (created if needed)."""
    op = Operation.load(settings.spec_path)
    out.mkdir(parents=True, exist_ok=True)
    origin = (
        f"{len(cases)} fuzz cases of POST {op.path} from the spec, written by\n"
        f"callback-kit fuzz --count {settings.count} --seed {settings.seed} --kind {settings.kind}"
        + (f" --max-body-bytes {settings.max_body_bytes}" if settings.max_body_bytes != MiB else "")
        + (f" --exception-ids {','.join(settings.exception_ids)}" if settings.exception_ids else "")
        + (f" --spec {settings.spec_path}" if settings.spec_path else "")
    )
    if "jsonl" in formats:
        write_jsonl(cases, out / FORMATS["jsonl"])
    if "sh" in formats:
        write_script(cases, out / FORMATS["sh"], key_headers=op.keys.headers, header=origin)
    if "har" in formats:
        write_har(cases, out / FORMATS["har"], server_url=op.server_url, comment=origin)


def _usage(message: str) -> int:
    print(f"callback-kit fuzz: {message}", file=sys.stderr)
    return 2
