"""Real broker and worker processes for fault tests (SIGKILL, SIGTERM, restarts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from gopher_server.embedded_redis import free_port


@dataclass
class Proc:
    """A child process whose output is collected for debugging failed tests."""

    name: str
    popen: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        """Block until the process printed its ready line."""
        if not self.ready.wait(timeout_s):
            raise AssertionError(f"{self.name} not ready; output:\n{self.output()}")

    def output(self) -> str:
        """Everything the process printed so far."""
        return "".join(self.lines)

    def signal(self, sig: int) -> None:
        """Send a signal if the process still runs."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL and reap."""
        self.signal(signal.SIGKILL)
        self.popen.wait(10)
        self._close()

    def _close(self) -> None:
        if self.popen.stdout is not None and self.popen.poll() is not None:
            self.popen.stdout.close()

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, wait (SIGKILL after the timeout); return the exit code."""
        self.signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9
        self._close()
        return code


def _spawn(name: str, argv: list[str], ready_text: str, env: dict[str, str] | None = None) -> Proc:
    popen = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    proc = Proc(name, popen)

    def pump() -> None:
        assert popen.stdout is not None
        for line in popen.stdout:
            proc.lines.append(line)
            if ready_text in line:
                proc.ready.set()

    threading.Thread(target=pump, daemon=True).start()
    return proc


def start_broker(redis_url: str, port: int | None = None, *args: str) -> tuple[Proc, str]:
    """A broker process on `port` (default: free); returns it and its address."""
    port = port or free_port()
    argv = [
        sys.executable,
        "-m",
        "gopher_server.main",
        "--redis-url",
        redis_url,
        "--port",
        str(port),
        "--log-level",
        "WARNING",
        *args,
    ]
    proc = _spawn(f"broker:{port}", argv, "gopher-server ready")
    proc.wait_ready()
    return proc, f"127.0.0.1:{port}"


def start_worker(server: str, record_url: str, *args: str, concurrency: int = 4) -> Proc:
    """A worker process running tests.lifecycle.handlers, recording into `record_url`."""
    argv = [
        sys.executable,
        "-m",
        "gopher_worker.main",
        "tests.lifecycle.handlers:registry",
        "--server",
        server,
        "--concurrency",
        str(concurrency),
        "--log-level",
        "WARNING",
        *args,
    ]
    proc = _spawn("worker", argv, "gopher-worker", {"GOPHER_TEST_RECORD_URL": record_url})
    proc.wait_ready()
    return proc


def wait_exit(proc: Proc, timeout_s: float) -> int:
    """Wait for a process to exit by itself; fail after the timeout."""
    deadline = time.monotonic() + timeout_s
    while proc.popen.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{proc.name} did not exit; output:\n{proc.output()}")
        time.sleep(0.02)
    return proc.popen.returncode
