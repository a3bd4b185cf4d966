"""The options a test may ask of its mock, checked once, turned into the mock's `Settings`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from callback_kit.mock_server import Settings
from callback_kit.testing.state import ADMIN_TOKEN

Profile = Literal["published", "matcher"]
PROFILES: tuple[Profile, ...] = ("published", "matcher")
AuthWord = Literal["on", "off"]
AUTH_WORDS: dict[str, bool] = {"on": True, "off": False}  # serve's `--auth on|off`


class OptionError(ValueError):
    """An option of the mock has a value it cannot take; the message names the option and the accepted values."""


@dataclass(frozen=True)
class MockOptions:
    """How the mock behaves: `callback-kit serve --profile/--auth/--rate-limit`, for a test."""

    profile: Profile = "published"
    """`published` follows the contract; `matcher` reproduces Matcher 2.1, quirks included."""
    auth: bool | AuthWord | None = None
    """Check bearer tokens: True or "on", False or "off" (kept as True or False); None: the profile's default (on
    for published, off for matcher)."""
    rate_limit: int | None = None
    """Callbacks per minute per tenant and external system; 0: off; None: the profile's default."""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise OptionError(f"profile must be 'published' or 'matcher' (got {self.profile!r})")
        # Frozen, so set through object: "on" and True are the same options (and the same shared mock).
        object.__setattr__(self, "auth", _auth(self.auth))
        limit = self.rate_limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise OptionError(f"rate_limit must be a whole number of callbacks a minute, 0 for off (got {limit!r})")

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> MockOptions:
        """Options from keyword arguments (a marker's, a user's), an unknown name refused with the known ones."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise OptionError(f"unknown option {unknown[0]!r}: the mock takes {', '.join(known)}")
        return cls(**options)

    def settings(self) -> Settings:
        """The settings of an in-process mock with these options: memory store, loopback, a free port."""
        return Settings(
            store_url="memory://",
            host="127.0.0.1",
            port=0,
            profile=self.profile,
            auth=_auth(self.auth),
            rate_limit_per_minute=self.rate_limit,
            admin_token=ADMIN_TOKEN,
        )


def _auth(value: object) -> bool | None:
    """The `auth` option as a bool (None: the profile's default), its words as serve spells them accepted."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in AUTH_WORDS:
        return AUTH_WORDS[value]
    raise OptionError(f"auth must be True or 'on', False or 'off', or None for the profile's default (got {value!r})")
