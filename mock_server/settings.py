"""The mock's settings, declared once.

Each field of the frozen `Settings` carries an `Option` in its metadata: its flag, help, metavar, the range of
its values and its environment variable. `callback-kit serve` builds its parser from these declarations and its
`Settings` with `from_options`; everything below the edge (`run`, `create_app`) receives the values. Closed
choices are `Literal` types, and a value out of its range is refused here whoever builds the settings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from callback_kit.contract import default_spec_path
from callback_kit.mock_server.stores import default_store_url
from callback_kit.resources import fixtures_dir

Profile = Literal["published", "matcher"]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]
LogFormat = Literal["text", "json"]
ENV_PREFIX = "CALLBACK_KIT_"
ENV_SETTINGS = "CALLBACK_KIT_SETTINGS"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Option:
    """How one field of `Settings` appears on the command line and in the environment."""

    flag: str
    help: str
    metavar: str | None = None
    env: str | None = None  # default: CALLBACK_KIT_<FLAG>
    minimum: float | None = None
    maximum: float | None = None
    bounds: str = ""  # the valid values in words, for messages: "1..65535, or 0 for any free port"
    words: Mapping[str, Any] | None = None  # a closed set of words and the values they stand for (on/off)
    default_text: str | None = None  # the default in words, for a default computed where it is used
    cli_default: Callable[[], Any] | None = None  # the command line's default, where it differs from the field's

    @property
    def env_name(self) -> str:
        return self.env or ENV_PREFIX + self.flag.removeprefix("--").replace("-", "_").upper()

    def check(self, value: Any) -> None:
        """Raise `ValueError` naming the valid range when `value` lies outside it."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValueError(f"must be {self.bounds}, got {value}")


def option(flag: str, **declared: Any) -> dict[str, Option]:
    """The metadata of a `Settings` field: how the command line and the environment give it."""
    return {"option": Option(flag, **declared)}


@dataclass(frozen=True)
class Settings:
    """Everything `run` and `create_app` need; `callback-kit serve` builds it from its options."""

    host: str = field(
        default="127.0.0.1",
        metadata=option(
            "--host",
            metavar="HOST",
            help="interface to listen on; any other than loopback exposes the mock (and its published tokens)",
        ),
    )
    port: int = field(
        default=8080,
        metadata=option(
            "--port",
            metavar="N",
            minimum=0,
            maximum=65535,
            bounds="1..65535, or 0 for any free port",
            help="port to listen on: 1..65535, or 0 for any free port (the banner shows the one bound)",
        ),
    )
    workers: int = field(
        default=1,
        metadata=option(
            "--workers",
            metavar="N",
            minimum=1,
            bounds="at least 1",
            # `callback-kit contract` has a --workers of its own, read from CALLBACK_KIT_WORKERS.
            env="CALLBACK_KIT_SERVE_WORKERS",
            help="worker processes sharing the port and the store",
        ),
    )
    # In-process (tests, a library user) nothing is kept by default; `callback-kit serve` keeps ./var/mock.sqlite3.
    store_url: str = field(
        default="memory://",
        metadata=option(
            "--store",
            metavar="URL",
            cli_default=default_store_url,
            help="state store: sqlite:///ABSOLUTE/PATH (its folder must exist), redis://HOST:PORT/DB, or memory://",
        ),
    )
    wait_for_store: float = field(
        default=0.0,
        metadata=option(
            "--wait-for-store",
            metavar="SECONDS",
            minimum=0,
            bounds="0 or more seconds",
            help="wait this long for the store to answer before giving up (0: give up at once)",
        ),
    )
    fixtures_path: Path = field(
        default_factory=fixtures_dir,
        metadata=option(
            "--fixtures",
            metavar="PATH",
            default_text="the kit's fixtures",
            help="folder with exceptions.json and tokens.json",
        ),
    )
    spec_path: Path = field(
        default_factory=default_spec_path,
        metadata=option("--spec", metavar="PATH", default_text="the kit's openapi.yaml", help="the spec to serve"),
    )
    profile: Profile = field(
        default="published",
        metadata=option("--profile", help="published: the published contract; matcher: Matcher 2.1 as it runs"),
    )
    auth: bool | None = field(
        default=None,
        metadata=option(
            "--auth",
            words={"on": True, "off": False},
            default_text="on; off for --profile matcher",
            help="check bearer tokens",
        ),
    )
    tokens_file: Path | None = field(
        default=None,
        metadata=option("--tokens", metavar="PATH", default_text="tokens.json of the fixtures", help="token file"),
    )
    jwt_secret: str | None = field(
        default=None,
        repr=False,
        metadata=option(
            "--jwt-secret",
            metavar="SECRET",
            default_text="the token file's",
            help="HS256 secret of JWT bearer tokens, at least 32 bytes",
        ),
    )
    admin_token: str | None = field(
        default=None,
        repr=False,
        metadata=option(
            "--admin-token", metavar="TOKEN", default_text="the token file's", help="token of the admin API (/_mock/)"
        ),
    )
    max_body_bytes: int = field(
        default=1 * MiB,
        metadata=option(
            "--max-body-bytes", metavar="N", minimum=1, bounds="at least 1", help="largest request body accepted"
        ),
    )
    rate_limit_per_minute: int | None = field(
        default=None,
        metadata=option(
            "--rate-limit",
            metavar="N",
            minimum=0,
            bounds="0 (off) or more",
            default_text="off; 60 for --profile matcher",
            help="callbacks per minute per tenant and external system (0: off)",
        ),
    )
    log_level: LogLevel = field(
        default="warning", metadata=option("--log-level", help="level of the server's own messages")
    )
    log_format: LogFormat = field(
        default="text",
        metadata=option("--log-format", help="request log: one text line, or one JSON object, per request"),
    )
    quiet: bool = field(default=False, metadata=option("--quiet", help="no request log"))

    def __post_init__(self) -> None:
        for name, declared in options():
            try:
                declared.check(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{declared.flag} {exc}") from None

    def to_env(self) -> str:
        """Serialise for worker processes, which rebuild the settings with `from_env`."""
        data = {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}
        return json.dumps(data)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings a parent process left in `CALLBACK_KIT_SETTINGS` of `environ`, else the defaults."""
        raw = environ.get(ENV_SETTINGS)
        if not raw:
            return cls()
        data: dict[str, Any] = json.loads(raw)
        for name in _path_fields():
            if data.get(name) is not None:
                data[name] = Path(data[name])
        return cls(**data)

    @classmethod
    def from_options(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from parsed option values keyed by field name (None or absent: the field's default)."""
        return cls(**given_options(cls, values))


def given_options(of: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of settings class `of` that parsed option `values` give (None or absent: left to the default)."""
    given: dict[str, Any] = {}
    for name, declared in options(of):
        value = values.get(name)
        if value is None:
            continue
        given[name] = declared.words[value] if declared.words is not None else value
    return given


def options(of: type = Settings) -> Iterator[tuple[str, Option]]:
    """Each declared field of a settings class (`Settings` by default) with its `Option`, in declaration order."""
    for declared_field in dataclasses.fields(of):
        declared = declared_field.metadata.get("option")
        if isinstance(declared, Option):
            yield declared_field.name, declared


def value_kind(name: str, of: type = Settings) -> type | tuple[str, ...]:
    """What a field holds: its choices for a `Literal`, else its type (without `| None`)."""
    hint = _hints(of)[name]
    if get_origin(hint) is Literal:
        return tuple(get_args(hint))
    members = [arg for arg in get_args(hint) if arg is not type(None)]
    kind = members[0] if members else hint
    return kind if isinstance(kind, type) else str


def parser_for(name: str, of: type = Settings) -> Callable[[str], Any]:
    """Text to the field's value, refused with a `ValueError` naming the valid form (for flags and variables)."""
    declared = dict(options(of))[name]
    kind = value_kind(name, of)

    def parse(text: str) -> Any:
        if kind is int or kind is float:
            try:
                value = kind(text)
            except ValueError:
                number = "a whole number" if kind is int else "a number"
                raise ValueError(f"must be {number}, {declared.bounds}, got {text!r}") from None
            declared.check(value)
            return value
        return Path(text) if kind is Path else text

    parse.__name__ = name  # argparse names the type in its fallback message
    return parse


@cache
def _hints(of: type) -> dict[str, Any]:
    return get_type_hints(of)


def _path_fields() -> list[str]:
    return [name for name, _ in options() if value_kind(name) is Path]
