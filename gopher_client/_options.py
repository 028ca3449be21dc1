"""Command-line options whose default comes from a GOPHER_* environment variable.

`gopher-server` and `gopher-worker` declare every option through `add_option`, so each
one's --help names its default and the variable that sets it, and the variable really
does set it (a test reads --help and checks both against the parser).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any


def add_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str,
    env: str,
    default: Any,
    help: str,
    *,
    type: Callable[[str], Any] = str,
    secret: bool = False,
    **kwargs: Any,
) -> None:
    """Add `flag`, defaulting to $`env` when set, else `default`; its help ends with
    "(default: X) [env]". A `secret` option never shows its value. A bool `default`
    makes a switch that $`env`=1 turns on."""
    raw = os.environ.get(env)
    if isinstance(default, bool):
        value: Any = default if raw is None else raw.lower() in ("1", "true", "yes")
        shown = "on" if value else "off"
        parser.add_argument(
            flag, action="store_true", default=value, help=_help(help, shown, f"{env}=1")
        )
        return
    value = default if raw is None else type(raw)
    shown = "none" if value is None or value == "" else "set, hidden" if secret else str(value)
    parser.add_argument(flag, type=type, default=value, help=_help(help, shown, env), **kwargs)


def _help(text: str, shown: str, env: str) -> str:
    # argparse %-formats help strings; a default such as "3:2:1" needs no escaping but
    # one holding "%" would.
    return f"{text} (default: {shown}) [{env}]".replace("%", "%%")
