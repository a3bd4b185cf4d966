"""`callback-kit`: the one console script. Each subcommand's options live with the code that runs it.

    callback-kit serve     run the mock (uvicorn)
    callback-kit lint      check a spec: OpenAPI validity, the x-idempotency block, the examples
    callback-kit spec      print the spec a profile serves (the matcher profile's is derived)
    callback-kit contract  judge a running implementation against the spec
    callback-kit fuzz      write reproducible fuzz cases
    callback-kit replay    send fuzz cases to a server and judge the answers

Every option can also come from an environment variable `CALLBACK_KIT_<OPTION>` (read here, at the edge).
Exit codes: 0 success, 1 a broken contract or failed check, 2 a usage or configuration error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from callback_kit.cli.parser import EnvDefaults

# name -> (module with add_arguments(parser) and run(args), help); only the chosen one is imported.
SUBCOMMANDS = {
    "serve": ("callback_kit.cli.serve", "run the mock server"),
    "lint": ("callback_kit.cli.lint", "check a spec"),
    "spec": ("callback_kit.cli.spec", "print the spec a profile serves (derived from openapi.yaml)"),
    "report": ("callback_kit.cli.report", "the retry report of a running mock: how each client retried"),
    "contract": ("callback_kit.cli.contract", "judge a running implementation against openapi.yaml"),
    "fuzz": ("callback_kit.cli.fuzz", "write reproducible fuzz cases from openapi.yaml"),
    "replay": ("callback_kit.cli.replay", "send fuzz cases to a server and judge the answers"),
}
# What the `[contract]` extra installs: a subcommand that needs one of them names the extra when it is missing.
CONTRACT_EXTRA = frozenset({"schemathesis", "hypothesis", "pytest", "rich", "harfile"})


def main(argv: Sequence[str] | None = None) -> int:
    parser = EnvDefaults(prog="callback-kit", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=EnvDefaults)
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((word for word in argv if not word.startswith("-")), None)
    loaded = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text)
        if name == chosen:
            try:
                loaded[name] = importlib.import_module(module_name)
            except ModuleNotFoundError as missing:
                if (missing.name or "").partition(".")[0] not in CONTRACT_EXTRA:
                    raise
                print(
                    f"callback-kit {name}: needs the contract extra ({missing.name} is not installed): "
                    "pip install 'callback-contract-kit[contract]'",
                    file=sys.stderr,
                )
                return 2
            loaded[name].add_arguments(sub)
    args = parser.parse_args(argv)
    return int(loaded[args.command].run(args))


if __name__ == "__main__":
    sys.exit(main())
