"""Small numeric helpers shared by the scenarios."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Metrics = dict[str, Any]


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of `values`; NaN for none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p99/max in milliseconds and the sample count."""
    return {
        "latency_p50_ms": round(percentile(samples_s, 50) * 1000, 3),
        "latency_p99_ms": round(percentile(samples_s, 99) * 1000, 3),
        "latency_max_ms": round(max(samples_s, default=math.nan) * 1000, 3),
        "latency_samples": len(samples_s),
    }


def payload_of_size(size_bytes: int) -> dict[str, str]:
    """A JSON object whose compact encoding is exactly `size_bytes` long."""
    overhead = len('{"pad":""}')
    return {"pad": "x" * max(0, size_bytes - overhead)}


# Pause before each used_memory reading of the memory scenario: Redis grows its key
# table incrementally, keeping the old table (8 bytes per slot) until its background
# rehash ends; reading mid-way counted up to ~13 bytes per job that are freed 0.1-0.3 s
# later.
MEMORY_SETTLE_S = 0.5


def memory_per_job(used_memory: Sequence[int], n: int) -> Metrics:
    """Redis used_memory per queued job, the same way for Gopher and every peer, from
    three readings (each MEMORY_SETTLE_S after the last write): before anything was
    queued, after `n` jobs, after `n` more.
    `bytes_per_job` is what the second `n` cost each: the marginal cost of one more
    queued job. The first `n` also pay for structures whose size is bounded whatever
    the backlog (Gopher's events feed stops growing at its cap of 10,000 entries), so
    `bytes_per_job_first_batch` (the first `n`, from an empty Redis) is kept beside it."""
    start, middle, end = used_memory
    return {
        "bytes_per_job": round((end - middle) / n),
        "bytes_per_job_first_batch": round((middle - start) / n),
        "memory_jobs": n,
        "memory_method": f"used_memory delta over a second batch of {n} queued jobs; "
        f"first_batch: over the first {n}, from an empty Redis",
    }


def paced_summary(samples_s: Sequence[float], offered_per_s: float, jobs: int) -> Metrics:
    """p50/p99/max of the paced-latency scenario, in milliseconds."""
    return {
        "paced_p50_ms": round(percentile(samples_s, 50) * 1000, 3),
        "paced_p99_ms": round(percentile(samples_s, 99) * 1000, 3),
        "paced_max_ms": round(max(samples_s, default=math.nan) * 1000, 3),
        "paced_offered_per_s": round(offered_per_s, 1),
        "paced_samples": len(samples_s),
        "paced_lost": jobs - len(samples_s),
    }
