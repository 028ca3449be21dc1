"""The throughput-vs-masters model of the cluster benchmark (design/scale-out.md §11),
pure arithmetic so it can be unit-tested: slot placement of the partition tags, the
balance it gives S masters, the per-script cost fit, and the extrapolation.

Redis time of one script call with b items is modelled as `c_call + c_item·b`
(µs, INFO commandstats usec), fitted by least squares on micro-benchmarks. A job's
Redis cost on a cluster of S masters is then

    c(S) = rho · (Σ c_item + c̄_call · k(P)) · (1 + o(S))

with k(P) the script calls per job, measured in the e2e runs (standalone, and the
clusters' extra calls per partition); rho the node's CPU per µs
of script time (everything else: commands outside scripts, network, parsing, the event
loop), measured on the standalone e2e run; o(S) the cluster overhead, fitted on the
measured S = 1..3 as o(S) = o₁ + g·(S - 1) and extrapolated linearly (bus fan-out
grows with S). Capacity is T(S) = S · η_bal / c(S) jobs/s per core per shard, with
η_bal = mean/max partitions per master.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.crc import key_slot

SLOTS = 16384


def design_tags(partitions: int) -> list[str]:
    """Balanced partition tags (design §4.3): tag k is `gopher:p<k>:<n>` with the
    smallest n whose slot falls in k's own 1/P of the slot range."""
    tags = []
    for k in range(partitions):
        lo, hi = k * SLOTS // partitions, (k + 1) * SLOTS // partitions
        n = 0
        while not lo <= key_slot(f"gopher:p{k}:{n}".encode()) < hi:
            n += 1
        tags.append(f"gopher:p{k}:{n}")
    return tags


def tag_slot(tag: str) -> int:
    """The slot of every key `{tag}...`."""
    return int(key_slot(tag.encode()))


def master_ranges(masters: int) -> list[tuple[int, int]]:
    """Inclusive slot ranges of `masters` masters given equal shares in order, as
    EmbeddedCluster assigns them (redis-cli --cluster create rounds each boundary to
    the nearest slot instead, off by at most one slot)."""
    return [(i * SLOTS // masters, (i + 1) * SLOTS // masters - 1) for i in range(masters)]


def partitions_per_master(slots: Sequence[int], ranges: Sequence[tuple[int, int]]) -> list[int]:
    """How many of the partitions (given by their slots) each master's range holds."""
    return [sum(1 for s in slots if lo <= s <= hi) for lo, hi in ranges]


def eta_bal(counts: Sequence[int]) -> float:
    """Balance efficiency: mean / max partitions per master (1.0 = even)."""
    top = max(counts) if counts else 0
    return sum(counts) / len(counts) / top if top else 0.0


def balance(tags: Sequence[str], masters: int) -> dict[str, Any]:
    """Partitions per master and η_bal for `tags` on `masters` even-ranged masters."""
    counts = partitions_per_master([tag_slot(t) for t in tags], master_ranges(masters))
    return {
        "masters": masters,
        "partitions_per_master": counts,
        "eta_bal": round(eta_bal(counts), 3),
    }


@dataclass(frozen=True)
class LinearFit:
    """usec per call = c_call + c_item · items, and how well it fits."""

    c_call: float
    c_item: float
    max_rel_error: float

    def at(self, items: float) -> float:
        return self.c_call + self.c_item * items


def fit_linear(points: Sequence[tuple[float, float]]) -> LinearFit:
    """c_call, c_item through (items per call, usec per call) points by least squares on
    the relative error (weights 1/y²): batches of 1 and of 1,000 differ 400-fold in
    cost, and a plain fit would ignore the small ones. With one distinct x, all of the
    cost is per item."""
    pts = [(x, y) for x, y in points if y > 0]
    if not pts:
        raise ValueError("no points to fit")
    w = [1.0 / (y * y) for _, y in pts]
    sw = sum(w)
    mx = sum(wi * x for wi, (x, _) in zip(w, pts, strict=True)) / sw
    my = sum(wi * y for wi, (_, y) in zip(w, pts, strict=True)) / sw
    sxx = sum(wi * (x - mx) ** 2 for wi, (x, _) in zip(w, pts, strict=True))
    if sxx == 0:
        slope, intercept = (my / mx if mx else 0.0), 0.0
    else:
        sxy = sum(wi * (x - mx) * (y - my) for wi, (x, y) in zip(w, pts, strict=True))
        slope = sxy / sxx
        intercept = my - slope * mx
    errors = [abs(intercept + slope * x - y) / y for x, y in pts]
    return LinearFit(round(intercept, 3), round(slope, 4), round(max(errors), 3))


@dataclass(frozen=True)
class Calibration:
    """Everything the extrapolation needs, each measured (see the module docstring)."""

    item_us: float  # Σ c_item over submit, dispatch and ack: one item of each per job
    call_us: float  # c̄_call, the mean per-call cost of the three scripts
    calls_standalone: float  # script calls per job, e2e on one server (P = 1)
    calls_per_partition: float  # extra script calls per job per partition (clusters)
    rho: float  # Redis CPU µs per µs of script time (e2e, standalone)
    overhead_1: float  # o(1): what the extra calls leave unexplained on 1 master
    overhead_slope: float  # g: added overhead per extra master

    def calls(self, partitions: int) -> float:
        """Script calls per job with P partitions: batches split over the partitions a
        job may land in, so the extra calls grow with P."""
        if partitions <= 1:
            return self.calls_standalone
        return self.calls_standalone + self.calls_per_partition * partitions

    def script_us(self, partitions: int = 1) -> float:
        """Predicted script time (evalsha usec) per job with P partitions."""
        return self.item_us + self.call_us * self.calls(partitions)

    def cpu_us(self, masters: int, partitions: int = 1) -> float:
        """Predicted Redis CPU µs per job, summed over the masters."""
        overhead = self.overhead_1 + self.overhead_slope * (masters - 1)
        return self.rho * self.script_us(partitions) * (1 + max(0.0, overhead))

    def capacity(self, masters: int, eta: float, partitions: int = 1) -> float:
        """T(S): jobs/s when the busiest master is one full core."""
        return masters * eta / self.cpu_us(masters, partitions) * 1e6


def least_squares(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(intercept, slope) of the ordinary least-squares line through the points (for
    small signed values such as overheads, where relative weights make no sense)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - slope * mx, slope


def fit_overhead(points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """(o₁, g) of o(S) = o₁ + g·(S - 1) from (S, measured overhead) points; g is never
    taken below 0 (extrapolating a falling overhead would flatter the cluster)."""
    if not points:
        return 0.0, 0.0
    if len(points) == 1:
        return points[0][1], 0.0
    o1, slope = least_squares([(float(s - 1), o) for s, o in points])
    if slope < 0:
        return sum(o for _, o in points) / len(points), 0.0
    return o1, slope


def extrapolate(
    cal: Calibration,
    masters: Sequence[int],
    partitions: Sequence[int],
    tags_for: Callable[[int], list[str]] = design_tags,
    quota_cores: float = 1.0,
) -> list[dict[str, Any]]:
    """T(S) for each S and each P, with the balance of P's tags on S masters, and T(S)
    with every master limited to `quota_cores`."""
    rows: list[dict[str, Any]] = []
    for p in partitions:
        tags = tags_for(p)
        for s in masters:
            bal = balance(tags, s)
            eta = float(bal["eta_bal"])
            capacity = cal.capacity(s, eta, p)
            rows.append(
                {
                    "masters": s,
                    "partitions": p,
                    "partitions_per_master": bal["partitions_per_master"],
                    "eta_bal": eta,
                    "script_calls_per_job": round(cal.calls(p), 4),
                    "redis_us_per_job": round(cal.cpu_us(s, p), 2),
                    "jobs_per_s_per_core": round(capacity),
                    "jobs_per_s_at_quota": round(capacity * quota_cores),
                }
            )
    return rows


def assumptions(cal: Calibration, quota_cores: float, partitions: int) -> list[str]:
    """The model's assumptions, printed beside its numbers."""
    o = f"o(S) = {cal.overhead_1:+.3f} {cal.overhead_slope:+.3f}·(S-1)"
    return [
        "Redis capacity only: brokers and workers scale out beside it and are not modelled.",
        "Each job is one submit item, one dispatch item and one ack item;"
        f" Σ c_item = {cal.item_us:.2f} µs, c̄_call = {cal.call_us:.2f} µs"
        " (INFO commandstats, micro-benchmarks on one node).",
        f"Script calls per job k(P) = {cal.calls_standalone:.4f} +"
        f" {cal.calls_per_partition:.5f}·P: the standalone run's calls, plus the extra"
        f" calls measured on the clusters (P = {partitions}) taken as growing in proportion"
        " to P (batches split over more partitions); a script touches one partition, so k"
        " does not depend on S.",
        f"rho = {cal.rho:.2f} Redis CPU µs per µs of script time (commands outside scripts,"
        " I/O, parsing, event loop), measured on the standalone e2e run.",
        f"Overhead the extra calls do not explain, {o}, fitted on the measured 1-3 masters"
        " and extrapolated linearly (bus traffic and misses grow with S); a falling fit is"
        " replaced by its mean with zero slope.",
        "Masters own equal contiguous slot ranges; η_bal = mean/max partitions per master"
        " from the broker's own tags' slots (redis.crc.key_slot). With S > P some masters"
        " hold no partition and sit idle.",
        f"T(S) = S·η_bal/c(S) is per core per master; the throttled runs' quota"
        f" ({quota_cores:g} core) gives {quota_cores:g}·T(S).",
        "Not modelled: control-slot commands (measured as the control master's excess"
        " above), limited types homed on one shard, replicas, persistence, a network"
        " beyond loopback, and a throttled node's stalls (the throttled runs show them).",
    ]
