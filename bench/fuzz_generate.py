"""How long `callback-kit fuzz` takes for 10,000 cases (goal: under a minute). Not a test.

    .venv/bin/python bench/fuzz_generate.py [--count 10000] [--seed 0]

Prints the time to generate the cases in memory, then the time to write cases.jsonl, cases.sh and
cases.har (into a temporary folder, removed afterwards) and their sizes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from callback_kit.cli.fuzz import FILES, write_files
from callback_kit.contract_tests.fuzz.generate import FuzzSettings, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = FuzzSettings(count=args.count, seed=args.seed)
    started = time.perf_counter()
    cases = generate(settings)
    generated = time.perf_counter() - started
    print(f"generate: {len(cases)} cases in {generated:.2f} s ({generated / len(cases) * 1e6:.0f} µs a case)")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        write_files(cases, settings, Path(folder))
        written = time.perf_counter() - started
        sizes = ", ".join(f"{name} {(Path(folder) / name).stat().st_size / 1e6:.1f} MB" for name in FILES)
    print(f"write:    {written:.2f} s ({sizes})")
    print(f"total:    {generated + written:.2f} s for {len(cases)} cases (goal: under 60 s)")


if __name__ == "__main__":
    main()
