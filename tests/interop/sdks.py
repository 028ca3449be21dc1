"""Both worker SDKs behind one interface, for tests written once against the broker.

`start_worker("python" | "node", server, log_path, ...)` starts a worker process of that
SDK running the conformance handlers (tests/interop/conformance_handlers.py and
sdk/typescript/test/conformance-worker.ts); `events(log_path)` reads what they noted.
The Node programs are built once per test session by `build_node_sdk()`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.processes import Proc, _spawn

ROOT = Path(__file__).resolve().parents[2]
NODE_SDK = ROOT / "sdk" / "typescript"
NODE_BUILD = NODE_SDK / "build"
SDKS = ["python", "node"]


def node_or_skip() -> str:
    """The `node` binary; skips the test without node/npm, but fails under CI=true,
    where the interop tests are part of the gate."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node
    missing = "node" if not node else "npm"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing} is not on PATH; CI needs Node 20 and npm for the interop tests")
    pytest.skip(f"{missing} is not on PATH: the Node SDK interop tests need Node 20 and npm")


def build_node_sdk() -> None:
    """Install the SDK's npm dependencies if missing, then compile the SDK and its test
    programs (incremental, so a second build is quick)."""
    npm = shutil.which("npm")
    assert npm is not None
    if not (NODE_SDK / "node_modules" / ".bin" / "tsc").exists():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_SDK,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    done = subprocess.run(
        [npm, "run", "--silent", "build:dev"],
        cwd=NODE_SDK,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"the Node SDK does not build:\n{done.stdout}\n{done.stderr}"


def node_program(name: str) -> str:
    """Path of a compiled program under sdk/typescript/build/ (e.g. "test/client-scenario")."""
    return str(NODE_BUILD / f"{name}.js")


def start_worker(
    sdk: str,
    server: str,
    log_path: Path,
    *,
    worker_id: str,
    concurrency: int = 4,
    prefetch: int = 1,
    grace_s: float = 30.0,
    token: str | None = None,
    tls_ca: Path | None = None,
    breaker: tuple[int, float] | None = None,
) -> Proc:
    """A worker process of `sdk` running the conformance handlers; returns once it has
    printed its ready line (the test then waits for its stream). `breaker` is (failures,
    cool-down s) for the Node worker's circuit breaker; the Python conformance worker
    runs with the breaker's defaults."""
    flags = [
        "--server",
        server,
        "--worker-id",
        worker_id,
        "--concurrency",
        str(concurrency),
        "--prefetch",
        str(prefetch),
        "--grace",
        str(grace_s),
    ]
    if token:
        flags += ["--token", token]
    if tls_ca:
        flags += ["--tls-ca", str(tls_ca)]
    if breaker is not None:
        if sdk != "node":
            raise ValueError("only the Node conformance worker takes a breaker policy")
        flags += ["--breaker-failures", str(breaker[0]), "--breaker-cooldown", str(breaker[1])]
    env = {"GOPHER_CONFORMANCE_LOG": str(log_path), "GOPHER_LOG_LEVEL": "INFO"}
    if sdk == "python":
        argv = [
            sys.executable,
            "-m",
            "gopher_worker.main",
            "tests.interop.conformance_handlers:registry",
            *flags,
        ]
        proc = _spawn(f"python-worker:{worker_id}", argv, "gopher-worker", env)
    elif sdk == "node":
        argv = [node_or_skip(), node_program("test/conformance-worker"), *flags]
        proc = _spawn(f"node-worker:{worker_id}", argv, "gopher-worker-node", env)
    else:
        raise ValueError(f"unknown SDK {sdk}")
    proc.wait_ready()
    return proc


def events(
    log_path: Path, event: str | None = None, job_id: str | None = None
) -> list[dict[str, Any]]:
    """The handler events noted so far, optionally only one kind or one job's."""
    if not log_path.exists():
        return []
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    return [
        e
        for e in lines
        if (event is None or e["event"] == event) and (job_id is None or e["job"] == job_id)
    ]
