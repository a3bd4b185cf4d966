"""Fuzz cases QA can keep, review, share and replay: generated from openapi.yaml, reproducibly.

    callback-kit fuzz --count N --seed S [--kind positive|negative|all] --out DIR [--formats jsonl,sh,har]
        writes DIR/cases.jsonl (one case a line), DIR/cases.sh (one curl command a case) and
        DIR/cases.har (HAR 1.2), or those --formats names; the same options give byte-identical files.
    callback-kit replay CASES.jsonl --base-url URL --token TOKEN [--junit PATH]
        sends every case, judges each answer against its expected class, prints a summary;
        exit 1 on any unexpected answer, 2 on a usage error.

The committed corpus `fixtures/fuzz-corpus.jsonl` is `cases.jsonl` of

    callback-kit fuzz --count 300 --seed 20261128 --kind all --out DIR

Modules: `spec` (the operation as data), `values` (seeded JSON values), `draft` (a request being built, and
the negative categories), `body_mutations`, `transport_mutations` and `envelope_mutations` (the categories),
`generate`, `cases` (the case and cases.jsonl), `shell` (cases.sh), `har` (cases.har), `judge`, `replay` and
`report`; curl words, HAR and JUnit writing and progress come from `callback_kit.reporting`, the commands
from `callback_kit.cli.fuzz` and `callback_kit.cli.replay`.
"""

from callback_kit.contract_tests.fuzz.cases import Body, Case, Expect, Violation, read_jsonl, write_jsonl
from callback_kit.contract_tests.fuzz.generate import FuzzSettings, generate

CORPUS_SEED = 20261128
CORPUS_COUNT = 300

__all__ = [
    "CORPUS_COUNT",
    "CORPUS_SEED",
    "Body",
    "Case",
    "Expect",
    "FuzzSettings",
    "Violation",
    "generate",
    "read_jsonl",
    "write_jsonl",
]
