"""`callback-kit serve`: run the mock (uvicorn), its settings built from the options."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from callback_kit.mock_server.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from callback_kit.contract.lint import SpecProblem, check_spec
    from callback_kit.mock_server.auth import TokenTable
    from callback_kit.mock_server.stores import StoreURLError, open_store

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
        "callback_kit.mock_server.asgi:app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0
