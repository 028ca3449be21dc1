"""`gopherctl dash` in a real pseudo-terminal: it draws, refreshes, and quits on q or Ctrl-C."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gopher_client import Client

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


def sigint_ignored(argv: list[str]) -> list[str]:
    """`argv` (a Python command) started with SIGINT ignored, as `cmd &` in a script
    does: a small Python sets SIG_IGN, which exec keeps, then execs `argv`. No
    preexec_fn: running Python between fork and exec in a process whose gRPC threads
    are busy can hang the child before it ever execs."""
    assert argv[0] == sys.executable
    ignore_then_exec = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    return [sys.executable, "-c", ignore_then_exec, *argv[1:]]


class Terminal:
    """gopherctl dash running with a pty as its terminal."""

    def __init__(self, address: str, ignore_sigint: bool = False) -> None:
        self.master, slave = os.openpty()
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"}
        argv = [sys.executable, "-m", "gopher_cli", "dash", "-s", address, "--interval", "100ms"]
        self.process = subprocess.Popen(
            sigint_ignored(argv) if ignore_sigint else argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,  # the pty becomes its controlling terminal
        )
        os.close(slave)
        self.screen = b""

    def wait_for(self, text: str, timeout_s: float = 30.0) -> None:
        """Read the screen until `text` has been drawn; fail with what was drawn."""
        deadline = time.monotonic() + timeout_s
        while text.encode() not in self.screen:
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                pytest.fail(f"{text!r} never drawn; screen so far:\n{self.screen[-3000:]!r}")
            ready, _, _ = select.select([self.master], [], [], remaining_s)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    pytest.fail(f"dash exited before drawing {text!r}")

    def press(self, key: bytes) -> None:
        """Type a key on the terminal."""
        os.write(self.master, key)

    def exit_code(self) -> int:
        """Wait for the dash to exit, draining its output so it never blocks."""
        deadline = time.monotonic() + 15
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    os.read(self.master, 65536)
                except OSError:
                    break
        return self.process.wait(timeout=15)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)
        os.close(self.master)


@pytest.fixture
def terminal(broker: Any) -> Iterator[Terminal]:
    """A dash on the test broker, in its own pty."""
    term = Terminal(broker.address)
    yield term
    term.close()


def test_dash_draws_and_quits_on_q(terminal: Terminal, client: Client) -> None:
    client.submit_job("shown-in-dash", priority="high")
    terminal.wait_for("press q to quit")
    terminal.wait_for("shown-in-dash=1")
    terminal.wait_for("/s")  # after a second snapshot the rates are measured
    terminal.press(b"q")
    assert terminal.exit_code() == 0


def test_dash_refreshes_and_stops_on_ctrl_c(terminal: Terminal, client: Client) -> None:
    terminal.wait_for("press q to quit")
    client.submit_job("arrived-later")
    terminal.wait_for("arrived-later=1")  # a later refresh picked it up
    os.killpg(terminal.process.pid, signal.SIGINT)
    assert terminal.exit_code() == 0


def test_dash_stops_on_ctrl_c_when_started_with_sigint_ignored(broker: Any, client: Client) -> None:
    terminal = Terminal(broker.address, ignore_sigint=True)
    try:
        terminal.wait_for("press q to quit")
        os.killpg(terminal.process.pid, signal.SIGINT)
        assert terminal.exit_code() == 0
    finally:
        terminal.close()
