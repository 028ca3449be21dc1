"""`gopherctl server`, `worker` and `rest` run the real parts as processes."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gopher_client import Client
from tests.cli.conftest import Run
from tests.support import wait_until

# How `gopherctl` is started as a process: the installed entry point, by module.
GOPHERCTL = [sys.executable, "-m", "gopher_cli"]


class Process:
    """A child process whose merged output is read line by line in a thread."""

    def __init__(self, argv: list[str]) -> None:
        self.popen = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def wait_for_line(self, pattern: str, timeout_s: float = 30.0) -> re.Match[str]:
        """Return the first output line matching `pattern`; fail with the output so far."""
        compiled = re.compile(pattern)
        try:
            while True:
                line = self.lines.get(timeout=timeout_s)
                self.output.append(line)
                if match := compiled.search(line):
                    return match
        except queue.Empty:
            pytest.fail(f"no line matching {pattern!r} in:\n{''.join(self.output)}")

    def stop(self) -> int:
        """SIGTERM, then wait (SIGKILL after 15 s); return the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.popen.wait(timeout=15)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Processes a test starts; each is stopped at the end."""
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()
        if process.popen.stdout is not None:
            process.popen.stdout.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_server_runs_the_broker_with_forwarded_args(
    gopherctl: Run, redis_url: str, processes: list[Process]
) -> None:
    server = Process([*GOPHERCTL, "server", "--redis-url", redis_url, "--port", "0"])
    processes.append(server)
    address = server.wait_for_line(r"gopher-server ready on (\S+)").group(1)
    submitted = gopherctl("submit", "email", "-s", address)
    assert submitted.exit_code == 0, submitted.stderr
    stats = gopherctl("queues", "-s", address, "-o", "json")
    assert '"depth": 1' in stats.stdout
    assert server.stop() == 0  # SIGTERM reached the broker itself: a clean shutdown


def test_server_reports_its_own_usage_errors() -> None:
    result = subprocess.run(
        [*GOPHERCTL, "server", "--weights", "x"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "gopher-server" in result.stderr and "--weights" in result.stderr


def test_worker_runs_real_handlers(
    gopherctl: Run, broker: Any, client: Client, processes: list[Process]
) -> None:
    argv = [*GOPHERCTL, "worker", "gopher_worker.examples:registry", "--server", broker.address]
    processes.append(Process([*argv, "--worker-id", "cli-proc", "--concurrency", "2"]))
    wait_until(lambda: client.list_workers(), timeout_s=30, what="the worker to connect")
    workers = gopherctl("workers", "-s", broker.address)
    assert "cli-proc" in workers.stdout and "email" in workers.stdout
    ok = gopherctl("submit", "email", "--payload", '{"to": "a@b.c"}', "--wait",
                   "--wait-timeout", "30s", "-s", broker.address)  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    assert '"delivered_to": "a@b.c"' in ok.stdout
    bad = gopherctl("submit", "email", "--payload", '{"to": "nobody"}', "--wait",
                    "--wait-timeout", "30s", "-s", broker.address)  # fmt: skip
    assert bad.exit_code == 4
    assert "is dead after 1 attempt(s)" in bad.stderr and "nobody" in bad.stderr


def test_rest_serves_the_api_for_a_broker(
    broker: Any, client: Client, processes: list[Process]
) -> None:
    client.submit_job("email", priority="high")
    port = free_port()
    processes.append(Process([*GOPHERCTL, "rest", "--server", broker.address, "--port", str(port)]))
    url = f"http://127.0.0.1:{port}/api/queues"

    def answered() -> httpx.Response | None:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            return None

    response = wait_until(answered, timeout_s=30, what="the REST shim to listen")
    assert response.status_code == 200
    assert response.json()["queues"][0] == {
        **response.json()["queues"][0],
        "priority": "high",
        "depth": 1,
    }


def test_rest_help_promises_only_what_the_shim_serves(
    broker: Any, gopherctl: Run, processes: list[Process]
) -> None:
    port = free_port()
    processes.append(Process([*GOPHERCTL, "rest", "--server", broker.address, "--port", str(port)]))
    base = f"http://127.0.0.1:{port}"

    def answered() -> httpx.Response | None:
        try:
            return httpx.get(f"{base}/api/queues", timeout=2)
        except httpx.TransportError:
            return None

    wait_until(answered, timeout_s=30, what="the REST shim to listen")
    summary = gopherctl("rest", "--help").stdout.split("Serve", 1)[1].split(".", 1)[0]
    # What the first sentence says the shim serves, and where each thing answers.
    promises = {"REST API": "/api/queues", "OpenAPI": "/api/openapi.json", "dashboard": "/ui/"}
    for promise, path in promises.items():
        served = httpx.get(f"{base}{path}", timeout=5).status_code == 200
        assert (promise in summary) == served, f"help {summary!r} vs {path} served={served}"
