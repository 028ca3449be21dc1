"""`--profile`: where Gopher's processes spend their time, sampled with py-spy.

Two phases, each with a fresh broker: the broker and one worker while the workers drain
a queue of no-op jobs (e2e), and the broker while one client submits jobs one by one.
py-spy samples the processes from outside (`record --gil --format raw`: only while a
thread holds the GIL, so the shares are of the process's Python CPU time, not of time
spent waiting in epoll); the summary lists the functions with the most samples, on
their own (self) and with what they call (inclusive). Raw stacks are kept in
benchmarks/results/logs/ for flame graphs.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks import procs
from benchmarks.config import Sizes
from benchmarks.gopher_core import Metrics, submit_bulk, submit_single
from benchmarks.gopher_stack import LOG_DIR, GopherStack, StackSettings
from benchmarks.procs import RedisServer

RATE_HZ = 200
TOP = 15


def py_spy() -> str | None:
    """The py-spy executable: on PATH, next to this interpreter, or in the peer venv."""
    here = Path(sys.executable).with_name("py-spy")
    peer = Path(__file__).resolve().parent / ".peers-venv" / "bin" / "py-spy"
    for candidate in (shutil.which("py-spy"), here, peer):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def _frame(raw: str) -> str:
    # "handle (gopher_server/services/workers.py:120)" -> "handle (services/workers.py:120)"
    name, _, where = raw.partition(" (")
    path = where.rstrip(")")
    short = "/".join(path.split("/")[-2:])
    return f"{name} ({short})" if path else name


def summarize(raw_file: Path) -> dict[str, Any]:
    """Top functions by self and inclusive samples, in percent of all samples."""
    self_count: Counter[str] = Counter()
    incl_count: Counter[str] = Counter()
    total = 0
    for line in raw_file.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        self_count[frames[-1]] += n
        for frame in set(frames):
            incl_count[frame] += n

    def top(counter: Counter[str]) -> list[list[Any]]:
        return [[f, round(100 * c / total, 1)] for f, c in counter.most_common(TOP)]

    return {"samples": total, "self_pct": top(self_count), "inclusive_pct": top(incl_count)}


def _record(exe: str, pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    args = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(RATE_HZ),
        "--gil",
        "--format",
        "raw",
        "--output",
        str(out),
    ]
    return procs.spawn(args, log=out.with_suffix(".log"))


def _sampled(exe: str, targets: dict[str, int], seconds: float, tag: str) -> dict[str, Any]:
    files = {role: LOG_DIR / f"profile-{tag}-{role}.txt" for role in targets}
    spies = [_record(exe, pid, seconds, files[role]) for role, pid in targets.items()]
    for spy in spies:
        spy.wait(seconds + 30)
    return {
        role: summarize(f) if f.exists() else {"error": "py-spy wrote nothing"}
        for role, f in files.items()
    }


def profile(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """Profiles of the e2e drain (broker, worker0) and of 1-by-1 submits (broker)."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy not found: pip install py-spy (or run setup_venv.sh)")
    seconds = 6.0
    out: Metrics = {}
    redis.flush()
    with GopherStack(redis.url, settings, "profile-e2e") as stack:
        asyncio.run(submit_bulk(stack.address, 200_000, {}, sizes))
        stack.start_workers()
        out["e2e"] = _sampled(
            exe, {"broker": stack.pids["broker"], "worker0": stack.pids["worker0"]}, seconds, "e2e"
        )
    redis.flush()
    with GopherStack(redis.url, settings, "profile-submit") as stack:
        result: dict[str, Any] = {}
        spy = threading.Thread(
            target=lambda: result.update(
                _sampled(exe, {"broker": stack.pids["broker"]}, seconds, "submit")
            )
        )
        spy.start()
        asyncio.run(submit_single(stack.address, 20_000, sizes.enqueue_concurrency))
        spy.join()
        out["submit_single"] = result
    return {"profile": out}
