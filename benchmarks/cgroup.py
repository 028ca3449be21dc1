"""CPU quotas for single processes, so a benchmark can make each redis-server the
bottleneck by construction (`python -m benchmarks --cluster`, the throttled runs).

`CpuQuota("gs-7001", 0.2)` makes a cgroup limited to 0.2 of a core (cfs quota 20,000 µs
per 100,000 µs period), `add(pid)` moves a whole process into it, `stat()` reads its
`cpu.stat` (periods, throttled periods, throttled time) and `close()` moves the
processes back where they were and removes the group. cgroup v1's `cpu` hierarchy is
used when it is mounted (it is on the reference machine), else cgroup v2's unified one;
`available()` says which, or why neither works. Needs root (or a delegated subtree).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

V1_ROOT = Path("/sys/fs/cgroup/cpu")
V2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
PERIOD_US = 100_000


@dataclass(frozen=True)
class CpuStat:
    """One reading of a cgroup's cpu.stat, in the same units on v1 and v2."""

    nr_periods: int
    nr_throttled: int
    throttled_us: int


def parse_cpu_stat(text: str, version: int) -> CpuStat:
    """cpu.stat's text as a CpuStat: v1 reports throttled_time in ns, v2 throttled_usec."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            fields[name] = int(value)
    if version == 1:
        throttled_us = fields.get("throttled_time", 0) // 1000
    else:
        throttled_us = fields.get("throttled_usec", 0)
    return CpuStat(fields.get("nr_periods", 0), fields.get("nr_throttled", 0), throttled_us)


def throttled_between(before: CpuStat, after: CpuStat) -> dict[str, float]:
    """What throttling happened between two readings: periods, throttled periods, the
    throttled fraction of periods, and throttled milliseconds."""
    periods = after.nr_periods - before.nr_periods
    throttled = after.nr_throttled - before.nr_throttled
    return {
        "periods": periods,
        "throttled_periods": throttled,
        "throttled_fraction": round(throttled / periods, 3) if periods else 0.0,
        "throttled_ms": round((after.throttled_us - before.throttled_us) / 1000, 1),
    }


def _v2_root() -> Path | None:
    """The unified hierarchy's root if it offers the cpu controller to children."""
    for root in V2_ROOTS:
        controllers = root / "cgroup.controllers"
        if controllers.exists() and "cpu" in controllers.read_text().split():
            return root
    return None


def available() -> tuple[int, str]:
    """(1 or 2, root) for the hierarchy `CpuQuota` will use, or (0, the reason why none
    can be used)."""
    if (V1_ROOT / "cpu.cfs_quota_us").exists():
        if os.access(V1_ROOT, os.W_OK):
            return 1, str(V1_ROOT)
        return 0, f"{V1_ROOT} is not writable (needs root)"
    root = _v2_root()
    if root is None:
        return 0, "no cgroup v1 cpu hierarchy and no cgroup v2 cpu controller"
    if not os.access(root, os.W_OK):
        return 0, f"{root} is not writable (needs root or a delegated subtree)"
    return 2, str(root)


def _cgroup_of(pid: int, version: int) -> str:
    """The cgroup path (relative to the hierarchy root) `pid` is in now."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if version == 1 and "cpu" in controllers.split(","):
            return path
        if version == 2 and controllers == "":
            return path
    return "/"


def remove_stale(prefix: str) -> list[str]:
    """Remove groups named `prefix`* that a killed run left behind, moving any process
    still in one back to the hierarchy's root; the names removed."""
    version, where = available()
    if not version:
        return []
    root = Path(where)
    removed = []
    for group in sorted(root.glob(f"{prefix}*")):
        if not group.is_dir():
            continue
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                (root / "cgroup.procs").write_text(pid)
        with contextlib.suppress(OSError):
            group.rmdir()
            removed.append(group.name)
    return removed


class CpuQuota:
    """One cgroup with a CPU quota of `cores` (0.2 = 20% of one core). A context manager;
    `close()` is safe twice and leaves no group behind."""

    def __init__(self, name: str, cores: float, period_us: int = PERIOD_US) -> None:
        version, where = available()
        if not version:
            raise RuntimeError(f"no usable cgroup: {where}")
        self.version = version
        self.root = Path(where)
        self.path = self.root / name
        self.cores = cores
        self._origins: dict[int, str] = {}
        self.path.mkdir(exist_ok=True)
        self.period_us = period_us
        quota = round(cores * period_us)
        if version == 1:
            (self.path / "cpu.cfs_period_us").write_text(str(period_us))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            subtree = self.root / "cgroup.subtree_control"
            if "cpu" not in subtree.read_text().split():
                subtree.write_text("+cpu")
            (self.path / "cpu.max").write_text(f"{quota} {period_us}")

    def add(self, pid: int) -> None:
        """Move every thread of `pid` into this group (cgroup.procs moves the whole
        process; v1's `tasks` would move one thread)."""
        self._origins[pid] = _cgroup_of(pid, self.version)
        (self.path / "cgroup.procs").write_text(str(pid))

    def members(self) -> list[int]:
        """The thread group ids in the group now."""
        text = (self.path / "cgroup.procs").read_text()
        return [int(x) for x in text.split()]

    def stat(self) -> CpuStat:
        """The group's cpu.stat now."""
        return parse_cpu_stat((self.path / "cpu.stat").read_text(), self.version)

    def close(self) -> None:
        """Move the processes back to their original groups and remove this one."""
        if not self.path.exists():
            return
        for pid in self.members():
            origin = self._origins.get(pid, "/")
            with contextlib.suppress(OSError):  # exited meanwhile
                (self.root / origin.lstrip("/") / "cgroup.procs").write_text(str(pid))
        with contextlib.suppress(OSError):
            self.path.rmdir()

    def __enter__(self) -> CpuQuota:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
