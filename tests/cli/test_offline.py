"""gopherctl behaviour that needs no broker: help, argument checks, an unreachable broker."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import typer

from gopher_cli.app import app
from tests.cli.conftest import Run


def all_command_paths() -> list[list[str]]:
    """Every leaf command as the words that invoke it, e.g. ["dlq", "purge"]."""
    paths: list[list[str]] = []

    def walk(command: Any, prefix: list[str]) -> None:
        # Typer vendors its own click, so groups are recognised by their subcommands.
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*prefix, name])
        else:
            paths.append(prefix)

    walk(typer.main.get_command(app), [])
    return paths


def one_error_line(stderr: str) -> str:
    """The single `error: ...` line a failing command must print."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def test_every_command_is_registered() -> None:
    names = {" ".join(path) for path in all_command_paths()}
    expected = {
        "submit", "job get", "job list", "job cancel", "job watch", "queues", "queue pause",
        "queue resume", "dlq list", "dlq show", "dlq requeue", "dlq purge", "workers list",
        "workers quiet", "workers stop", "workers resume", "schedules list", "schedules add",
        "schedules rm", "ratelimit set", "ratelimit list", "ratelimit rm", "dash", "server",
        "worker", "rest", "dev",
    }  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize("path", all_command_paths(), ids=" ".join)
def test_every_command_has_help_with_an_example(gopherctl: Run, path: list[str]) -> None:
    result = gopherctl(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    assert f"gopherctl {' '.join(path)}" in result.stdout


def test_app_help_documents_exit_codes(gopherctl: Run) -> None:
    result = gopherctl("--help")
    assert result.exit_code == 0
    assert "0 ok, 1 error" in result.stdout and "3 not found" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["queues"],
        ["job", "get", "abc"],
        ["job", "list"],
        ["submit", "email", "--payload", '{"a": 1}'],
        ["workers", "--output", "json"],
        ["dlq", "list"],
        ["schedules", "list"],
        ["ratelimit", "list"],
        ["dash", "--once"],
    ],
    ids=" ".join,
)
def test_unreachable_broker_is_one_line_exit_1(
    gopherctl: Run, dead_address: str, args: list[str]
) -> None:
    result = gopherctl(*args, "--server", dead_address)
    assert result.exit_code == 1
    assert one_error_line(result.stderr) == f"error: cannot reach broker at {dead_address}"
    assert result.stdout == ""


def test_server_address_comes_from_the_environment(
    gopherctl: Run, dead_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOPHER_SERVER", dead_address)
    result = gopherctl("queues")
    assert result.exit_code == 1
    assert dead_address in result.stderr


BAD_ARGUMENTS = [
    ("submit t --payload {bad", "--payload is not valid JSON: Expecting"),
    ("submit t --payload '[1, 2]'", "--payload must be a JSON object, not an array"),
    ("submit t --payload @/nonexistent/p.json", "--payload: cannot read"),
    ("submit t --delay 5x", "--delay: invalid duration '5x'"),
    ("submit t --at soon", "--at: invalid time 'soon'"),
    ("submit t --delay 5s --at 2030-01-01T00:00:00Z", "--delay and --at are exclusive"),
    ("submit t --wait --wait-timeout x", "--wait-timeout: invalid duration"),
    ("dlq purge", "purging deletes dead jobs for good; add --yes"),
    ("dlq purge --older-than 7x --yes", "--older-than: invalid duration"),
    ("dlq requeue", "give dead job ids, or --type T, or --all"),
    ("dlq requeue a --all", "give dead job ids, or --type T, or --all"),
    ("ratelimit set email --rate fast", "--rate: invalid rate 'fast'"),
    ("ratelimit set email", "give --rate, --max-concurrency or both"),
    ("schedules add n --cron @daily --type t --payload 1", "--payload must be a JSON object"),
    ("dash --interval soon", "--interval: invalid duration"),
]


@pytest.mark.parametrize(("command", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_refused_before_any_call(
    gopherctl: Run, dead_address: str, command: str, message: str
) -> None:
    # The address is dead: reaching the broker would be exit 1, not the usage error.
    result = gopherctl(*shlex.split(command), "--server", dead_address)
    assert result.exit_code == 2, result.stderr
    assert one_error_line(result.stderr).startswith(f"error: {message}")


def test_payload_from_stdin_is_read_before_connecting(gopherctl: Run, dead_address: str) -> None:
    result = gopherctl("submit", "t", "--payload", "-", "--server", dead_address, input="oops")
    assert result.exit_code == 2
    assert one_error_line(result.stderr).startswith("error: --payload from stdin is not valid JSON")


def test_click_usage_errors_exit_2(gopherctl: Run) -> None:
    result = gopherctl("submit", "t", "--priority", "urgent")
    assert result.exit_code == 2
    assert "urgent" in result.stderr
