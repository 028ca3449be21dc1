"""A taken port refuses the broker's start in one line, before it reports serving."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from gopher_server.embedded_redis import free_port

# Which flag each listening port is changed with, as the refusal must name it.
PORT_FLAGS = {"--port": "gRPC", "--http-port": "HTTP"}


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 held by another listener for the whole test."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize("flag", sorted(PORT_FLAGS))
def test_taken_port_is_a_one_line_refusal(redis_url: str, taken_port: int, flag: str) -> None:
    ports = {"--port": "0", "--http-port": str(free_port()), flag: str(taken_port)}
    argv = [sys.executable, "-m", "gopher_server.main", "--redis-url", redis_url]
    result = _run([*argv, *(x for pair in ports.items() for x in pair)])
    assert result.returncode == 1, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert lines == [
        f"gopher-server: {PORT_FLAGS[flag]} port 127.0.0.1:{taken_port} is already in use; "
        f"choose another with {flag} (or GOPHER_{flag[2:].upper().replace('-', '_')})"
    ]


@pytest.mark.parametrize("flag", sorted(PORT_FLAGS))
def test_dev_stack_reports_a_taken_broker_port(redis_url: str, taken_port: int, flag: str) -> None:
    ports = {"--port": str(free_port()), "--http-port": str(free_port()), flag: str(taken_port)}
    argv = [sys.executable, "-m", "gopher_cli", "dev", "--redis-url", redis_url]
    result = _run([*argv, *(x for pair in ports.items() for x in pair)])
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"port 127.0.0.1:{taken_port} is already in use; choose another with {flag}" in output
    assert "Traceback" not in output
    assert "serving" not in output
    assert "Gopher is running" not in output
    assert "error: broker exited with code 1" in output
