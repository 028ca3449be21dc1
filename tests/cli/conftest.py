"""Helpers for driving the real gopherctl app in-process."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from gopher_cli.app import app

Run = Callable[..., Result]


@pytest.fixture
def gopherctl() -> Run:
    """Run gopherctl with arguments (and optional stdin `input`); returns the Click result
    with `.exit_code`, `.stdout` and `.stderr` kept apart."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def dead_address() -> str:
    """host:port where nothing listens: a port the OS just handed out and took back."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"
