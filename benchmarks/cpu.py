"""Where the CPU goes: CPU seconds per process role (broker, workers, Redis, the
harness's own client) between two moments, per job and as cores busy."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from benchmarks.procs import cpu_seconds


@dataclass
class Snapshot:
    """CPU seconds by role at one moment, with the jobs counted by then."""

    t: float
    jobs: int
    cpu_s: dict[str, float]


class CpuMeter:
    """Reads /proc for a fixed set of processes. `roles` maps a role to its pids;
    "client" means this process (the harness's load generator)."""

    def __init__(self, roles: dict[str, list[int]]) -> None:
        self.roles = roles

    def snapshot(self, jobs: int = 0) -> Snapshot:
        """CPU seconds of every role now."""
        cpu = {role: sum(cpu_seconds(pid) for pid in pids) for role, pids in self.roles.items()}
        return Snapshot(time.monotonic(), jobs, cpu)

    @staticmethod
    def client_roles() -> dict[str, list[int]]:
        """This process as the "client" role."""
        return {"client": [os.getpid()]}


def summary(a: Snapshot, b: Snapshot, jobs: int | None = None) -> dict[str, dict[str, float]]:
    """CPU microseconds per job and cores busy, per role, between `a` and `b`. `jobs`
    overrides the job counts of the snapshots."""
    n = jobs if jobs is not None else b.jobs - a.jobs
    span = b.t - a.t
    used = {role: b.cpu_s[role] - a.cpu_s[role] for role in a.cpu_s}
    return {
        "cpu_us_per_job": {r: round(v / n * 1e6, 1) if n else 0.0 for r, v in used.items()},
        "cpu_cores": {r: round(v / span, 2) if span > 0 else 0.0 for r, v in used.items()},
    }


def window(snaps: list[Snapshot], lo: int, hi: int) -> dict[str, dict[str, float]]:
    """`summary` between the first snapshots that reached `lo` and `hi` jobs."""
    a = next((s for s in snaps if s.jobs >= lo), snaps[0])
    b = next((s for s in snaps if s.jobs >= hi), snaps[-1])
    return summary(a, b) if b.jobs > a.jobs else {}
