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


class OptionError(ValueError):
    """An option of the mock has a value it cannot take; the message names the option and the accepted values."""


@dataclass(frozen=True)
class MockOptions:
    """How the mock behaves: `callback-kit serve --profile/--auth/--rate-limit`, for a test."""

    profile: Profile = "published"
    """`published` follows the contract; `matcher` reproduces Matcher 2.1, quirks included."""
    auth: bool | None = None
    """Check bearer tokens; None: the profile's default (on for published, off for matcher)."""
    rate_limit: int | None = None
    """Callbacks per minute per tenant and external system; 0: off; None: the profile's default."""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise OptionError(f"profile must be 'published' or 'matcher' (got {self.profile!r})")
        if self.auth is not None and not isinstance(self.auth, bool):
            raise OptionError(f"auth must be True, False or None for the profile's default (got {self.auth!r})")
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
            auth=self.auth,
            rate_limit_per_minute=self.rate_limit,
            admin_token=ADMIN_TOKEN,
        )
