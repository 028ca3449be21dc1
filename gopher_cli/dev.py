"""`gopherctl dev`: the whole stack on one machine with nothing else installed.

Starts, as child processes: an embedded Redis (unless --redis-url is given), the broker
(gRPC + HTTP), and a worker running the example handlers. Their logs are shown with a
prefix per part. Ctrl-C stops them in reverse order (worker drains first, then the
broker, then Redis) and waits for each, so no process is left behind.

With --cluster the embedded Redis is a local Redis Cluster of --masters masters
(gopher_server/embedded_cluster.py, the same server binary, nothing else to install)
and the broker runs on it with --redis-cluster: one command to try the scale-out mode
and watch its balance with `gopherctl cluster status`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Annotated

import typer

from gopher_cli.common import usage_error

# Seconds each part gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 15.0
COLORS = {"redis": "\033[31m", "broker": "\033[36m", "worker": "\033[32m"}
RESET = "\033[0m"


class Part:
    """One child process whose output is echoed with a prefix."""

    def __init__(self, name: str, argv: list[str], ready_text: str) -> None:
        self.name = name
        self.ready = threading.Event()
        self.ready_line = ""
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches only us; we stop children in order
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._ready_text = ready_text
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        color = COLORS.get(self.name, "") if sys.stdout.isatty() else ""
        for line in self.process.stdout:
            if self._ready_text in line and not self.ready.is_set():
                self.ready_line = line
                self.ready.set()
            sys.stdout.write(f"{color}{self.name:>6} |{RESET if color else ''} {line}")
            sys.stdout.flush()

    def wait_ready(self, timeout_s: float) -> None:
        """Block until the part printed its ready line; raise if it died or timed out."""
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(0.05):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not ready after {timeout_s:.0f}s")

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL if it will not go."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Whatever the part started and left behind (a Redis server whose wrapper was
        # killed) is still in the part's own process group: end it too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def dev(
    port: Annotated[int, typer.Option(help="Broker gRPC port.")] = 50051,
    http_port: Annotated[int, typer.Option(help="Broker HTTP port (REST, /metrics, docs).")] = 8080,
    redis_port: Annotated[
        int | None, typer.Option(help="Port of the embedded Redis (default: a free port).")
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(envvar="GOPHER_REDIS_URL", help="Use this Redis instead of the embedded one."),
    ] = None,
    registry: Annotated[str, typer.Option(help="Handlers the worker runs, module:attribute.")] = (
        "gopher_worker.examples:registry"
    ),
    concurrency: Annotated[int, typer.Option(help="Worker concurrency.")] = 8,
    data_dir: Annotated[
        str | None, typer.Option(help="Embedded Redis data directory (default: a temp dir).")
    ] = None,
    cluster: Annotated[
        bool,
        typer.Option(
            "--cluster",
            help="Run on a Redis Cluster: a local one of --masters masters, or --redis-url's.",
        ),
    ] = False,
    masters: Annotated[
        int, typer.Option(min=1, max=16, help="Masters of the local cluster (with --cluster).")
    ] = 3,
) -> None:
    """Run Redis (embedded), the broker and an example worker; Ctrl-C stops them all.

    Example:  gopherctl dev   then, in another terminal:
              gopherctl submit email --payload '{"to": "a@b.c"}' --wait

    Example:  gopherctl dev --cluster   (3 local masters)   then:  gopherctl cluster status
    """
    if cluster and (redis_port is not None or data_dir is not None):
        usage_error("--redis-port and --data-dir are for one embedded Redis, not --cluster")
    py = sys.executable
    parts: list[Part] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C too, explicitly: a shell may start background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if redis_url is None and cluster:
            redis_url = _start_cluster(parts, masters)
        elif redis_url is None:
            directory = data_dir or tempfile.mkdtemp(prefix="gopher-dev-")
            # The embedded Redis refuses a taken port and checks that the server
            # answering is its own child, so the stack never writes into another Redis.
            port_args = ["--port", str(redis_port)] if redis_port is not None else []
            redis = Part(
                "redis",
                [
                    py,
                    "-m",
                    "gopher_server.embedded_redis",
                    *port_args,
                    "--port-flag=--redis-port",
                    "--dir",
                    directory,
                    "--appendonly",
                ],
                "embedded redis ready",
            )
            parts.append(redis)
            redis.wait_ready(20)
            redis_url = redis.ready_line.split(" at ", 1)[1].split()[0]
        broker = Part(
            "broker",
            [
                py,
                "-m",
                "gopher_server.main",
                "--redis-url",
                redis_url,
                "--port",
                str(port),
                "--http-port",
                str(http_port),
                *(["--redis-cluster"] if cluster else []),
            ],
            "gopher-server ready",
        )
        parts.append(broker)
        broker.wait_ready(30)
        worker = Part(
            "worker",
            [
                py,
                "-m",
                "gopher_worker.main",
                registry,
                "--server",
                f"127.0.0.1:{port}",
                "--concurrency",
                str(concurrency),
                "--grace",
                "10",
            ],
            "gopher-worker",
        )
        parts.append(worker)
        worker.wait_ready(30)
        base = f"http://127.0.0.1:{http_port}"
        print(
            "\nGopher is running.",
            f"  gRPC     127.0.0.1:{port}",
            f"  web UI   {base}/ui/",
            f"  REST     {base}/api/jobs",
            f"  API docs {base}/api/docs",
            f"  metrics  {base}/metrics",
            f"  redis    {redis_url}",
            *(
                [
                    "  cluster  Redis Cluster (seed URL above); the broker spreads the jobs",
                    "           over its masters. See how: gopherctl cluster status",
                ]
                if cluster
                else []
            ),
            """Try: gopherctl submit email --payload '{"to": "a@b.c"}' --wait""",
            "Press Ctrl-C to stop.\n",
            sep="\n",
            flush=True,
        )
        while not stop.is_set():
            for part in parts:
                if part.process.poll() is not None:
                    raise RuntimeError(f"{part.name} exited with code {part.process.returncode}")
            stop.wait(0.2)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        print("\nstopping...", flush=True)
        for part in reversed(parts):
            part.stop()
        print("all parts stopped", flush=True)


def _start_cluster(parts: list[Part], masters: int) -> str:
    """Start a local Redis Cluster as a part; return its seed URL once it is stable.
    Its nodes take free loopback ports of their own and stop (SIGKILL by PID) when the
    part is stopped."""
    command = [sys.executable, "-m", "gopher_server.embedded_cluster", "--masters", str(masters)]
    part = Part("redis", [*command, "--appendonly"], "embedded cluster ready at")
    parts.append(part)
    part.wait_ready(60)
    return part.ready_line.split(" at ", 1)[1].split()[0]
