"""`gopher-server --help` and `gopher-worker --help` name each option's default and the
environment variable that sets it; both are checked against the parsers and configs."""

from __future__ import annotations

import argparse
import inspect
import os
import re
import subprocess
import sys
from collections.abc import Callable

import pytest

from gopher_client import DEFAULT_SERVER
from gopher_server.main import build_parser as server_parser
from gopher_worker._worker import Worker
from gopher_worker.main import build_parser as worker_parser
from gopher_worker.main import prefetch_arg

# One option's help entry: its flag, then "(default: X) [VARIABLE]" at the end.
ENTRY = re.compile(
    r"^  (--[a-z-]+)(?:.(?!\n  -))*?\(default: ([^)]*)\)\s+\[([A-Z_]+)(=1)?\]", re.S | re.M
)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GOPHER_")}


def _help_entries(module: str) -> dict[str, tuple[str, str]]:
    """flag -> (default shown, variable named), read from `python -m module --help`."""
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_clean_env(), "COLUMNS": "100"},
    )
    assert result.returncode == 0, result.stderr
    text = re.sub(r"\n\s{20,}", " ", result.stdout)  # join wrapped help lines
    return {m.group(1): (m.group(2), m.group(3)) for m in ENTRY.finditer(text)}


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.dest != "help"]


def _sample(action: argparse.Action) -> tuple[str, object]:
    """A value for the option's variable, and what the option must become with it."""
    if isinstance(action, argparse._StoreTrueAction):
        return "1", True
    if action.choices:
        choice = list(action.choices)[-1]
        return str(choice), choice
    if action.type in (int, float, prefetch_arg):
        return "7", action.type("7")
    return "sample-value", "sample-value"


def _shown(action: argparse.Action) -> str:
    if isinstance(action, argparse._StoreTrueAction):
        return "on" if action.default else "off"
    return "none" if action.default in (None, "") else str(action.default)


@pytest.mark.parametrize(
    ("module", "build"),
    [("gopher_server.main", server_parser), ("gopher_worker.main", worker_parser)],
)
def test_help_names_every_default_and_the_variable_that_sets_it(
    module: str, build: Callable[[], argparse.ArgumentParser], monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = _help_entries(module)
    for name in [k for k in os.environ if k.startswith("GOPHER_")]:
        monkeypatch.delenv(name)
    options = _options(build())
    assert {a.option_strings[-1] for a in options} == set(entries)
    for action in options:
        flag = action.option_strings[-1]
        shown, variable = entries[flag]
        assert shown == (_shown(action) if flag != "--token" else "none"), flag
        # The variable named really sets the option.
        raw, expected = _sample(action)
        with monkeypatch.context() as env:
            env.setenv(variable, raw)
            changed = next(a for a in _options(build()) if a.dest == action.dest)
        assert changed.default == expected, f"{variable} does not set {flag}"


def test_server_defaults_are_the_config_defaults() -> None:
    # In a process of its own: parse_args configures the root logger.
    check = (
        "from gopher_server.config import ServerConfig\n"
        "from gopher_server.main import parse_args\n"
        "config, d = parse_args([]), ServerConfig()\n"
        "diff = {k: (v, getattr(d, k)) for k, v in vars(config).items() if v != getattr(d, k)}\n"
        "assert diff == {}, diff\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, env=_clean_env()
    )
    assert result.returncode == 0, result.stderr


def test_worker_defaults_are_the_worker_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("GOPHER_")]:
        monkeypatch.delenv(name)
    parameters = inspect.signature(Worker).parameters
    options = {a.dest: a for a in _options(worker_parser())}
    assert options.pop("server").default == DEFAULT_SERVER  # Worker's None means this one
    checked = 0
    for action in options.values():
        for name in (action.dest, f"{action.dest}_s"):
            if name in parameters and parameters[name].default is not inspect.Parameter.empty:
                default = action.default
                if isinstance(default, str) and callable(action.type):
                    default = action.type(default)  # as argparse converts a text default
                assert default == parameters[name].default, action.dest
                checked += 1
    assert checked >= 5  # concurrency, prefetch, worker_id, grace_s, token, metrics_port
