"""Facts about the machine a run happened on, recorded with every result."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _git_commit() -> str:
    """HEAD's short hash, marked when Gopher's sources have uncommitted changes (the
    editable install then measures the working tree, not the commit)."""
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git(
        "status",
        "--porcelain",
        "--",
        "../gopher_server",
        "../gopher_worker",
        "../gopher_client",
        "../generated",
    )
    return f"{commit}+uncommitted" if commit and dirty else commit


def gopher_version() -> str:
    """Installed gopher-queue version plus the commit measured."""
    try:
        version = metadata.version("gopher-queue")
    except metadata.PackageNotFoundError:
        version = "unknown"
    commit = _git_commit()
    return f"{version} ({commit})" if commit else version


def facts() -> dict[str, Any]:
    """Cores, load, CPU model, memory, OS, Python, date (UTC and local)."""
    load1, load5, load15 = os.getloadavg()
    now = dt.datetime.now().astimezone()
    return {
        "date": now.isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _mem_total_gib(),
        "load_average_at_start": [round(load1, 2), round(load5, 2), round(load15, 2)],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gopher": gopher_version(),
    }


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(interval_s: float = 1.0) -> float:
    """Fraction of all cores busy over the next `interval_s` (0.0 - 1.0)."""
    busy0, total0 = _cpu_ticks()
    time.sleep(interval_s)
    busy1, total1 = _cpu_ticks()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_quiet(max_wait_s: float, threshold: float = 0.15) -> float:
    """Wait until other work on the machine uses less than `threshold` of its cores
    (or `max_wait_s` passes); return the last busy fraction seen."""
    deadline = time.monotonic() + max_wait_s
    busy = cpu_busy()
    while busy >= threshold and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    return round(busy, 2)


def load_now() -> list[float]:
    """Current 1/5/15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]
