"""The mock's frozen settings: built once at the edge (CLI or environment), passed down as values."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from callback_kit.contract import default_spec_path
from callback_kit.resources import fixtures_dir

Profile = Literal["published", "matcher"]
ENV_SETTINGS = "CALLBACK_KIT_SETTINGS"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Everything `create_app` needs; `callback-kit serve` builds it from its options."""

    store_url: str = "memory://"
    spec_path: Path = dataclasses.field(default_factory=default_spec_path)
    fixtures_path: Path = dataclasses.field(default_factory=fixtures_dir)
    profile: Profile = "published"
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_body_bytes: int = 1 * MiB
    rate_limit_per_minute: int | None = None  # None: the profile's default; 0: off
    auth: bool | None = None  # None: the profile's default (on for published, off for matcher)
    tokens_file: Path | None = None
    jwt_secret: str | None = None
    admin_token: str | None = None
    log_level: str = "warning"

    def to_env(self) -> str:
        """Serialise for worker processes, which rebuild the settings with `from_env`."""
        data = {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}
        return json.dumps(data)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """The settings a parent process put in `CALLBACK_KIT_SETTINGS`, else the defaults."""
        raw = (environ if environ is not None else os.environ).get(ENV_SETTINGS)
        if not raw:
            return cls()
        data: dict[str, Any] = json.loads(raw)
        for name in ("spec_path", "fixtures_path", "tokens_file"):
            if data.get(name) is not None:
                data[name] = Path(data[name])
        return cls(**data)
