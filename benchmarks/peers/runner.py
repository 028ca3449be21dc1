"""Runs the peer drivers from Gopher's environment: one subprocess per peer, in that
peer's virtualenv, against the run's Redis (flushed before each). A peer that cannot be
installed or fails is recorded with the reason; the run goes on."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

from benchmarks import procs
from benchmarks.config import Sizes
from benchmarks.procs import RedisServer

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
SYSTEMS = ["celery", "dramatiq", "rq", "rq-fork", "arq", "taskiq", "redis-py"]
VENV_OF = {"arq": BENCH / ".peers-venv-arq"}
DEFAULT_VENV = BENCH / ".peers-venv"
SETUP_TIMEOUT_S = 900


def venv_python(system: str) -> Path:
    """Interpreter of the virtualenv that holds `system`."""
    return VENV_OF.get(system, DEFAULT_VENV) / "bin" / "python"


def ensure_venvs() -> str | None:
    """Create the peer virtualenvs if missing (pip from PyPI); an error text or None."""
    if all(venv_python(s).exists() for s in SYSTEMS):
        return None
    print("creating peer virtualenvs (benchmarks/peers/setup_venv.sh) ...", flush=True)
    try:
        done = subprocess.run(
            ["bash", str(HERE / "setup_venv.sh")],
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"peer install timed out after {SETUP_TIMEOUT_S}s"
    if done.returncode != 0:
        return "peer install failed: " + (done.stderr or done.stdout).strip()[-300:]
    return None


def run_peer(
    system: str, redis: RedisServer, sizes: Sizes, log_dir: Path, timeout_s: float, only: list[str]
) -> dict[str, Any]:
    """Run the driver for one peer; its result, or a record of why it did not run."""
    failed: dict[str, Any] = {"system": system, "version": "", "metrics": {}, "errors": {}}
    python = venv_python(system)
    if not python.exists():
        failed["error"] = f"not installed ({python.parent.parent.name} missing)"
        return failed
    redis.flush()
    out = log_dir / f"peer-{system}.json"
    out.unlink(missing_ok=True)
    log = log_dir / f"peer-{system}.log"
    log.unlink(missing_ok=True)
    args = [
        str(python),
        "-m",
        "benchmarks.peers.driver",
        "--system",
        system,
        "--sizes",
        json.dumps(dataclasses.asdict(sizes)),
        "--out",
        str(out),
        "--only",
        ",".join(only),
    ]
    proc = procs.spawn(
        args, env={"BENCH_REDIS_URL": redis.url, "PYTHONPATH": str(procs.ROOT)}, log=log
    )
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        failed["error"] = f"timed out after {timeout_s:.0f}s (see {log.name})"
        return failed
    finally:
        procs.stop(proc)
    if not out.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        failed["error"] = f"driver exited {proc.returncode}: " + " | ".join(tail)[-300:]
        return failed
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def run_all(
    redis: RedisServer,
    sizes: Sizes,
    log_dir: Path,
    systems: list[str],
    timeout_s: float,
    only: list[str],
) -> list[dict[str, Any]]:
    """Every requested peer in turn, printing a line as each finishes."""
    problem = ensure_venvs()
    results = []
    for system in systems:
        if problem and not venv_python(system).exists():
            results.append(
                {"system": system, "version": "", "metrics": {}, "errors": {}, "error": problem}
            )
            continue
        print(f"  peer {system} ...", flush=True)
        result = run_peer(system, redis, sizes, log_dir, timeout_s, only)
        summary = result.get("error") or {
            k: v for k, v in result["metrics"].items() if k.endswith(("_per_s", "_ms", "per_job"))
        }
        print(f"    {summary}", flush=True)
        results.append(result)
    return results
