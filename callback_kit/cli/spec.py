"""`callback-kit spec`: print the spec a profile serves (the matcher profile's is derived from openapi.yaml)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=["published", "matcher"], default="published", help="behaviour profile")
    parser.add_argument("--auth", choices=["on", "off"], default=None, help="as for serve (default: the profile's)")
    parser.add_argument("--format", choices=["yaml", "json"], default="yaml", help="output format")


def run(args: argparse.Namespace) -> int:
    import json

    import yaml

    from callback_kit.contract import load_spec
    from callback_kit.mock_server.profiles import PROFILES, derive_spec

    profile = PROFILES[args.profile]
    auth = profile.auth_by_default if args.auth is None else args.auth == "on"
    derived = derive_spec(load_spec(), profile, auth=auth)
    if args.format == "json":
        print(json.dumps(derived, indent=2))
    else:
        print(yaml.safe_dump(derived, sort_keys=False, allow_unicode=True), end="")
    return 0
