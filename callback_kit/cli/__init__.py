"""The callback contract kit: a stateful mock, contract tests and fuzz cases for Matcher's callback endpoint.

`callback-kit` is its one console script; each subcommand's options live with the code that runs it.

    callback-kit serve     run the mock (uvicorn)
    callback-kit lint      check a spec: OpenAPI validity, the x-idempotency block, the examples
    callback-kit spec      print the spec a profile serves (the matcher profile's is derived)
    callback-kit proxy     a validating proxy in front of a real server: journal, faults, report, inspector
    callback-kit report    the retry report (and contract violations) of a running mock or proxy
    callback-kit contract  judge a running implementation against the spec
    callback-kit fuzz      write reproducible fuzz cases
    callback-kit replay    send fuzz cases to a server and judge the answers

Every option can also come from an environment variable `CALLBACK_KIT_<OPTION>`: `main` reads the environment
once and hands it to the parsers (`parser.KitParser`), which also give every subcommand the same help layout,
metavars and exit codes, whoever wrote it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from callback_kit.cli.parser import KitParser

# name -> (module with add_arguments(parser) and run(args), help); only the chosen one is imported.
SUBCOMMANDS = {
    "serve": ("callback_kit.cli.serve", "run the mock server"),
    "lint": ("callback_kit.cli.lint", "check a spec"),
    "spec": ("callback_kit.cli.spec", "print the spec a profile serves (derived from openapi.yaml)"),
    "proxy": (
        "callback_kit.cli.proxy",
        "a validating proxy in front of a real server: the mock's journal, faults, report and inspector",
    ),
    "report": ("callback_kit.cli.report", "the retry report of a running mock or proxy: how each client retried"),
    "contract": ("callback_kit.cli.contract", "judge a running implementation against openapi.yaml"),
    "fuzz": ("callback_kit.cli.fuzz", "write reproducible fuzz cases from openapi.yaml"),
    "replay": ("callback_kit.cli.replay", "send fuzz cases to a server and judge the answers"),
}
USAGE_ERROR = "2  a usage or configuration error: a bad option or variable, "
# What each exit code means, per subcommand: the epilog of its --help.
EXIT_CODES = {
    "serve": ("0  stopped by Ctrl-C or SIGTERM", USAGE_ERROR + "a port in use, a store that does not answer"),
    "lint": ("0  the spec is usable", "1  the spec has problems (each listed)", USAGE_ERROR + "no OpenAPI document"),
    "spec": ("0  the spec was printed", USAGE_ERROR + "a spec that cannot be read"),
    "proxy": (
        "0  stopped by Ctrl-C or SIGTERM",
        USAGE_ERROR + "no --upstream, a port in use, a store that does not answer",
    ),
    "report": (
        "0  every client retried well (and no contract violation)",
        "1  findings, or contract violations a proxy saw",
        USAGE_ERROR + "the mock unreachable or refusing",
    ),
    "contract": (
        "0  the implementation keeps the contract (passed), or kept what could be checked (partial)",
        "1  it breaks the contract (each broken check is printed), or partial with --require-all",
        USAGE_ERROR + "the server unreachable, a token refused, a report path not writable",
        "130  interrupted by Ctrl-C (SIGINT); 143  by SIGTERM: the reports say interrupted",
    ),
    "fuzz": ("0  the cases were written", USAGE_ERROR + "a spec the generator cannot use, a folder not writable"),
    "replay": ("0  every answer was as expected", "1  an unexpected answer", USAGE_ERROR + "a bad cases file"),
}
# What the `[contract]` extra installs (import names), and the subcommands that need it: such a subcommand names
# the extra in one line when one of them is missing, before it parses anything.
CONTRACT_EXTRA = ("schemathesis", "hypothesis", "pytest", "rich", "harfile", "junitparser")
NEEDS_CONTRACT_EXTRA = frozenset({"contract", "fuzz", "replay"})
DISTRIBUTION = "callback-contract-kit"
# A process killed by SIGPIPE exits 128 + 13; a reader that went away (`callback-kit spec | head`) gets the same.
BROKEN_PIPE = 141
INTERRUPTED = 130


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one subcommand; the exit code. The only place the kit's command line reads the environment."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv), os.environ if environ is None else environ)
    except KeyboardInterrupt:
        print("callback-kit: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE


class MissingExtra(Exception):
    """The chosen subcommand needs a package of the `[contract]` extra that is not installed."""


def _main(argv: list[str], environ: Mapping[str, str]) -> int:
    chosen = next((word for word in argv if not word.startswith("-")), None)
    try:
        parser, parsers, loaded = build_parsers(environ, chosen)
    except MissingExtra as exc:
        print(f"callback-kit {chosen}: {exc}", file=sys.stderr)
        return 2
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse would blame the top-level parser; the subcommand's usage is the one that helps.
        parsers[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if loaded is None:  # the command came after an option argparse took for its value
        parser.error(f"name the command first, e.g. callback-kit {args.command} --help")
    return int(loaded.run(args))


def build_parsers(
    environ: Mapping[str, str], chosen: str | None
) -> tuple[KitParser, dict[str, KitParser], ModuleType | None]:
    """The top-level parser, one sub-parser per subcommand, and the module of `chosen` (its options added)."""
    parser = KitParser(
        prog="callback-kit",
        description=__doc__.split("\n\n")[0],
        epilog="Run `callback-kit COMMAND --help` for a command's options and exit codes. Every option can also\n"
        "come from its environment variable (CALLBACK_KIT_<OPTION>); an empty variable counts as unset.",
        environ=environ,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=KitParser)
    parsers: dict[str, KitParser] = {}
    loaded = None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = parsers[name] = commands.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog="exit codes:\n" + "\n".join(f"  {line}" for line in EXIT_CODES[name]),
            environ=environ,
        )
        if name == chosen:
            loaded = _load(name, module_name)
            loaded.add_arguments(sub)
    return parser, parsers, loaded


def _load(name: str, module_name: str) -> ModuleType:
    missing = [package for package in CONTRACT_EXTRA if importlib.util.find_spec(package) is None]
    if name in NEEDS_CONTRACT_EXTRA and missing:
        raise MissingExtra(_extra_hint(missing[0]))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] not in CONTRACT_EXTRA:
            raise
        raise MissingExtra(_extra_hint(str(error.name))) from None


def _extra_hint(package: str) -> str:
    return f"needs the contract extra ({package} is not installed): pip install 'callback-contract-kit[contract]'"


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


if __name__ == "__main__":
    sys.exit(main())
