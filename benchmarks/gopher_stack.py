"""Gopher's processes for one scenario: one broker and N worker processes, each a
subprocess started through the public entry points (`gopher-server`, `gopher-worker`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from benchmarks import procs
from gopher_client import Client

# Lifecycle logs of the children go here (INFO lines are few; per-job logging is off).
LOG_DIR = Path(__file__).resolve().parent / "results" / "logs"
NODE_BENCH_WORKER = (
    Path(__file__).resolve().parent.parent / "sdk/typescript/build/bench/noop-worker.js"
)


def _entry_point(name: str, module: str) -> list[str]:
    """The console script next to this interpreter, else `python -m module`."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    found = shutil.which(name)
    return [found] if found else [sys.executable, "-m", module]


def _worker_program(worker: str) -> list[str]:
    """The no-op worker of `worker`: the Python SDK's gopher-worker, or the Node SDK's
    benchmark worker (built by `npm run build:dev` in sdk/typescript)."""
    if worker == "python":
        return [
            *_entry_point("gopher-worker", "gopher_worker.main"),
            "benchmarks.gopher_app:registry",
        ]
    if worker == "node":
        program = NODE_BENCH_WORKER
        if not program.exists():
            raise RuntimeError(
                f"{program} is missing: run `npm ci && npm run build:dev` in sdk/typescript"
            )
        return [shutil.which("node") or "node", str(program)]
    raise ValueError(f"unknown worker {worker!r}")


@dataclass
class StackSettings:
    """How many workers and how much concurrency each gets."""

    workers: int = 2
    concurrency: int = 16
    # Jobs leased per slot (gopher-worker --prefetch); 1 = no buffer, None = the
    # worker's default (adapting to the handlers' times).
    prefetch: int | None = 1
    worker: str = "python"  # "node": the TypeScript SDK's worker (sdk/typescript/bench/)
    server_flags: list[str] = field(default_factory=list)
    # Where the workers' probe (benchmarks.probe) writes; "" = the broker's Redis. A
    # cluster's seed URL is no URL for the probe's plain client.
    probe_url: str = ""


class GopherStack:
    """Broker (and optionally workers) on 127.0.0.1; `with` stops them all.

    `start_workers()` is separate so a scenario can fill the queue first and start the
    workers when it begins timing.
    """

    def __init__(self, redis_url: str, settings: StackSettings, tag: str) -> None:
        self.redis_url = redis_url
        self.settings = settings
        self.tag = tag
        self.port = procs.free_port()
        self.broker: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    @property
    def address(self) -> str:
        """gRPC address of the broker."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> GopherStack:
        args = [
            *_entry_point("gopher-server", "gopher_server.main"),
            "--redis-url",
            self.redis_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http-port",
            "-1",
            "--log-level",
            "WARNING",
            *self.settings.server_flags,
        ]
        self.broker = procs.spawn(args, log=LOG_DIR / f"{self.tag}-broker.log")
        procs.wait_port(self.port, 20, self.broker)
        with Client(self.address) as client:  # ready = answers an RPC, not just listens
            deadline = time.monotonic() + 20
            while True:
                try:
                    client.queue_stats()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        return self

    def start_workers(self, wait: bool = True) -> None:
        """Start the worker processes; with `wait`, return once all are connected."""
        base = [
            *_worker_program(self.settings.worker),
            "--server",
            self.address,
            "--concurrency",
            str(self.settings.concurrency),
            "--log-level",
            "WARNING",
            "--grace",
            "2",
        ]
        if self.settings.prefetch is not None:  # None: the worker's default (auto)
            base += ["--prefetch", str(self.settings.prefetch)]
        env = {"BENCH_REDIS_URL": self.settings.probe_url or self.redis_url}
        for i in range(self.settings.workers):
            log = LOG_DIR / f"{self.tag}-worker{i}.log"
            self.workers.append(
                procs.spawn([*base, "--worker-id", f"bench-{self.tag}-{i}"], env=env, log=log)
            )
        if wait:
            self.wait_workers_connected()

    def wait_workers_connected(self, timeout_s: float = 20) -> None:
        """Block until the broker lists every worker of this stack."""
        deadline = time.monotonic() + timeout_s
        with Client(self.address) as client:
            while True:
                seen = {w.worker_id for w in client.list_workers()}
                want = {f"bench-{self.tag}-{i}" for i in range(len(self.workers))}
                if want <= seen:
                    return
                for proc in self.workers:
                    if proc.poll() is not None:
                        raise RuntimeError(f"a worker exited with {proc.returncode}; see {LOG_DIR}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"workers {sorted(want - seen)} did not connect")
                time.sleep(0.05)

    def check_alive(self) -> None:
        """Raise, quoting its log, if the broker or a worker has exited."""
        roles = [("broker", self.broker)] if self.broker else []
        roles += [(f"worker{i}", p) for i, p in enumerate(self.workers)]
        for role, proc in roles:
            if proc is not None and proc.poll() is not None:
                log = LOG_DIR / f"{self.tag}-{role}.log"
                tail = (
                    log.read_text(errors="replace").strip().splitlines()[-1:]
                    if log.exists()
                    else []
                )
                raise RuntimeError(f"{role} exited with {proc.returncode}: {' '.join(tail)}"[:300])

    def stop_workers(self) -> None:
        """Stop the workers (SIGTERM: they drain and hand back unrun jobs)."""
        for proc in self.workers:
            procs.stop(proc, grace_s=5)
        self.workers = []

    @property
    def pids(self) -> dict[str, int]:
        """Process ids by role, for RSS sampling and profiling."""
        out = {"broker": self.broker.pid} if self.broker else {}
        out.update({f"worker{i}": p.pid for i, p in enumerate(self.workers)})
        return out

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_workers()
        if self.broker is not None:
            procs.stop(self.broker, grace_s=8)
            self.broker = None
