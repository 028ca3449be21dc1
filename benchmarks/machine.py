"""Facts about the machine a run happened on, recorded with every result."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
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


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


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


def load_now() -> list[float]:
    """Current 1/5/15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]
