"""Small numeric helpers shared by the scenarios."""

from __future__ import annotations

import math
from collections.abc import Sequence


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
