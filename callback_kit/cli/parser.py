"""The argument parser of every subcommand: options default to `CALLBACK_KIT_<DEST>` environment variables."""

from __future__ import annotations

import argparse
import os
from typing import Any

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
