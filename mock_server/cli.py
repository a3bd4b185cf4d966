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

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mock_server.settings import Settings

# Subcommands whose code lives outside this module: name -> module with add_arguments(parser) and run(args).
EXTERNAL = {
    "contract": ("contract_tests.cli", "judge a running implementation against openapi.yaml"),
    "fuzz": ("contract_tests.fuzz.cli", "write reproducible fuzz cases from openapi.yaml"),
    "replay": ("contract_tests.fuzz.replay_cli", "send fuzz cases to a server and judge the answers"),
    "report": ("mock_server.report_cli", "the retry report of a running mock: how each client retried"),
}


_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


class EnvDefaults(argparse.ArgumentParser):
    """An argument parser whose options default to `CALLBACK_KIT_<DEST>` environment variables.

    A value from the environment is checked like one from the command line (type and choices), when the
    subcommand it belongs to is the one being run: a bad value is a usage error (exit 2), never a traceback.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._env_problems: list[str] = []

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        if action.option_strings and action.dest != "help":
            env = f"CALLBACK_KIT_{action.dest.upper()}"
            raw = os.environ.get(env, "")
            if raw and action.nargs == 0:  # a flag: --json, --check-headers
                flag = raw.strip().lower()
                if flag not in _BOOLEANS:
                    self._env_problems.append(f"{env}={raw!r} is not one of {', '.join(_BOOLEANS)}")
                elif _BOOLEANS[flag] == isinstance(action, argparse._StoreTrueAction):
                    action.default = action.const
            elif raw:  # an empty variable counts as unset (CI systems export empty ones)
                if action.choices is not None and raw not in action.choices:
                    self._env_problems.append(f"{env}={raw!r} is not one of {', '.join(map(str, action.choices))}")
                action.default = raw  # argparse converts a string default with the option's type
                action.required = False
            action.help = f"{action.help or ''} [env {env}]".strip()
        return action

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        if self._env_problems:
            self.error("; ".join(self._env_problems))
        return super().parse_known_args(*args, **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = EnvDefaults(prog="callback-kit", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=EnvDefaults)
    serve = commands.add_parser("serve", help="run the mock server")
    _serve_arguments(serve)
    lint = commands.add_parser("lint", help="check a spec")
    lint.add_argument("spec", nargs="?", type=Path, help="the spec to check (default: the kit's openapi.yaml)")
    spec = commands.add_parser("spec", help="print the spec a profile serves (derived from openapi.yaml)")
    spec.add_argument("--profile", choices=["published", "matcher"], default="published", help="behaviour profile")
    spec.add_argument("--auth", choices=["on", "off"], default=None, help="as for serve (default: the profile's)")
    spec.add_argument("--format", choices=["yaml", "json"], default="yaml", help="output format")
    # Only the subcommand being run imports its module (the contract suite's imports take a second).
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((word for word in argv if not word.startswith("-")), None)
    loaded = {}
    for name, (module_name, help_text) in EXTERNAL.items():
        sub = commands.add_parser(name, help=help_text)
        if name == chosen:
            loaded[name] = importlib.import_module(module_name)
            loaded[name].add_arguments(sub)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "spec":
        return _print_spec(args)
    if args.command == "lint":
        from mock_server.lint import lint_main

        return lint_main(args.spec)
    return int(loaded[args.command].run(args))


def _print_spec(args: argparse.Namespace) -> int:
    import json

    import yaml

    from mock_server.contract import load_spec
    from mock_server.profiles import PROFILES, derive_spec

    profile = PROFILES[args.profile]
    auth = profile.auth_by_default if args.auth is None else args.auth == "on"
    derived = derive_spec(load_spec(), profile, auth=auth)
    if args.format == "json":
        print(json.dumps(derived, indent=2))
    else:
        print(yaml.safe_dump(derived, sort_keys=False, allow_unicode=True), end="")
    return 0


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument("--host", default=defaults.host, help="interface to listen on")
    parser.add_argument("--port", type=int, default=defaults.port, help="port (0 picks a free one)")
    parser.add_argument(
        "--workers", dest="serve_workers", metavar="N", type=int, default=1, help="uvicorn worker processes"
    )
    parser.add_argument(
        "--store",
        default=None,
        help="state store URL: sqlite:///path (default: ./var/mock.sqlite3), redis://host:port/db, memory://",
    )
    parser.add_argument("--fixtures", type=Path, default=None, help="fixtures folder (exceptions.json, tokens.json)")
    parser.add_argument("--spec", type=Path, default=None, help="the OpenAPI spec to serve (default: the kit's)")
    parser.add_argument("--profile", choices=["published", "matcher"], default="published", help="behaviour profile")
    parser.add_argument(
        "--auth",
        choices=["on", "off"],
        default=None,
        help="check bearer tokens (default: on; off for --profile matcher)",
    )
    parser.add_argument("--tokens", type=Path, default=None, help="token file (default: the fixtures' tokens.json)")
    parser.add_argument("--jwt-secret", default=None, help="HS256 secret for JWT bearer tokens")
    parser.add_argument("--admin-token", default=None, help="token of the admin API under /_mock/")
    parser.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes, help="body size limit")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        help="callbacks per minute per tenant and external system (default: off; 60 for --profile matcher; 0: off)",
    )
    parser.add_argument("--log-level", default=defaults.log_level, help="uvicorn log level")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mock_server.auth import TokenTable
    from mock_server.lint import SpecProblem, check_spec
    from mock_server.stores import StoreURLError, open_store

    store_url = args.store or f"sqlite:///{Path.cwd() / 'var' / 'mock.sqlite3'}"
    if store_url.startswith("sqlite:///"):
        Path(store_url[len("sqlite://") :]).parent.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        store_url=store_url,
        profile=args.profile,
        host=args.host,
        port=args.port,
        workers=args.serve_workers,
        max_body_bytes=args.max_body_bytes,
        rate_limit_per_minute=args.rate_limit,
        auth=None if args.auth is None else args.auth == "on",
        tokens_file=args.tokens,
        jwt_secret=args.jwt_secret,
        admin_token=args.admin_token,
        log_level=args.log_level,
        **({"fixtures_path": args.fixtures} if args.fixtures else {}),
        **({"spec_path": args.spec} if args.spec else {}),
    )
    try:
        open_store(settings.store_url)
        TokenTable.load(
            settings.tokens_file or settings.fixtures_path / "tokens.json",
            jwt_secret=settings.jwt_secret,
            admin_token=settings.admin_token,
        )
        problems = check_spec(settings.spec_path)
    except (StoreURLError, SpecProblem, OSError, ValueError) as exc:
        print(f"callback-kit serve: {exc}", file=sys.stderr)
        return 2
    if problems:
        print(f"callback-kit serve: {settings.spec_path} is not a usable spec:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    os.environ["CALLBACK_KIT_SETTINGS"] = settings.to_env()
    print(
        f"callback-kit: mock on http://{settings.host}:{settings.port} (store {settings.store_url}, "
        f"{settings.workers} worker(s)); Swagger UI at /ui/, admin API at /_mock/docs/",
        file=sys.stderr,
    )
    uvicorn.run(
        "mock_server.asgi:app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
