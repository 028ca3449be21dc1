"""Long-running gopherctl commands stop on SIGINT even when started with it ignored.

A shell starts background jobs (`cmd &`, nohup, some CI runners) with SIGINT ignored,
and a Python program keeps an inherited SIG_IGN: without a handler of its own, such a
command would never stop on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

import pytest

from gopher_client import Client
from gopher_server.embedded_redis import free_port
from tests.cli.test_e2e_dash import sigint_ignored
from tests.support import wait_until

GOPHERCTL = [sys.executable, "-m", "gopher_cli"]


class Background:
    """A gopherctl process started with SIGINT ignored; its merged output is collected."""

    def __init__(self, args: list[str]) -> None:
        self.popen = subprocess.Popen(
            sigint_ignored([*GOPHERCTL, *args]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.output: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.output.append(line)

    def printed(self, text: str) -> bool:
        return any(text in line for line in list(self.output))

    def interrupt_and_wait(self) -> int:
        """SIGINT, then the exit code; fail if it keeps running."""
        self.popen.send_signal(signal.SIGINT)
        try:
            return self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 30 s after SIGINT; output:\n{''.join(self.output)}")
        finally:
            self.close()

    def close(self) -> None:
        """Kill the process if it still runs and release its pipe."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=15)
        self._pump_thread.join(timeout=15)
        assert self.popen.stdout is not None
        self.popen.stdout.close()


@pytest.mark.parametrize("command", ["job watch", "submit --wait"])
def test_following_a_job_stops_on_sigint(broker: Any, client: Client, command: str) -> None:
    # No worker serves this type, so the job stays queued and the command keeps following.
    if command == "job watch":
        args = ["job", "watch", client.submit_job("never-served")]
    else:
        args = ["submit", "never-served", "--wait"]
    follower = Background([*args, "-s", broker.address])
    try:
        wait_until(lambda: follower.printed("queued"), timeout_s=30, what="the first watch line")
    except AssertionError:
        follower.close()
        raise AssertionError(f"no watch line; output: {''.join(follower.output)!r}") from None
    follower.interrupt_and_wait()
    assert not any("Traceback" in line for line in follower.output), "".join(follower.output)


def test_rest_shim_stops_on_sigint(broker: Any) -> None:
    port = free_port()
    shim = Background(["rest", "-s", broker.address, "--port", str(port)])

    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(listening, timeout_s=30, what="the REST shim to listen")
    assert shim.interrupt_and_wait() == 0


def test_broker_stops_on_sigint(redis_url: str) -> None:
    broker = Background(["server", "--redis-url", redis_url, "--port", "0"])
    wait_until(lambda: broker.printed("gopher-server ready"), timeout_s=30, what="broker")
    assert broker.interrupt_and_wait() == 0
