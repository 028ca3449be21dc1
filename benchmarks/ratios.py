"""Gopher's targets as ratios to what ran beside it in the same run (absolute figures
move 2x between machines of this kind; a ratio to a floor or a peer measured minutes
apart on the same machine does not). Each target says met, or missed and by what
factor, and names the two figures it divides."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Results = dict[str, Any]
# Redis CPU per no-op job (µs, e2e at the worker's default settings: 2 workers x 16,
# prefetch 1) of Gopher before the performance work, on the reference machine (2-core
# AMD EPYC, 2026-12-03): 88.4 µs at c482ddf (load average 4-10) and 78.1 µs at 6187a87
# (load 3-10). The base the "halved" target divides by; the one target that is not a
# same-run ratio, so read it with the load the run records.
REDIS_CPU_BASELINE_US = 80.0
REDIS_CPU_BASELINE_FROM = "6187a87"
# Framework peers (redis-py is the floor, not a peer).
FLOOR = "redis-py"


def metrics(results: Results, system: str) -> dict[str, Any]:
    """The metrics of `system` in this run ({} if it did not run)."""
    for s in results.get("systems", []):
        if s["system"] == system:
            found: dict[str, Any] = s.get("metrics", {})
            return found
    return {}


def _num(value: Any) -> float | None:
    if isinstance(value, int | float) and not math.isnan(value) and value > 0:
        return float(value)
    return None


def best_peer(results: Results, key: str) -> tuple[str, float | None]:
    """The framework peer with the highest `key` in this run, and that value."""
    best: tuple[str, float | None] = ("-", None)
    for s in results.get("systems", []):
        if s["system"] in ("gopher", FLOOR):
            continue
        v = _num(s.get("metrics", {}).get(key))
        if v is not None and (best[1] is None or v > best[1]):
            best = (s["system"], v)
    return best


@dataclass(frozen=True)
class Target:
    """`numerator / denominator` against `goal` (≥ when `higher`, else ≤)."""

    what: str
    goal: float
    higher: bool
    values: Callable[[Results], tuple[float | None, float | None, str]]


def _pair(num_sys: str, num_key: str, den_sys: str, den_key: str) -> Callable[..., Any]:
    def values(r: Results) -> tuple[float | None, float | None, str]:
        n, d = metrics(r, num_sys).get(num_key), metrics(r, den_sys).get(den_key)
        return _num(n), _num(d), f"{num_sys} {num_key} / {den_sys} {den_key}"

    return values


def _vs_best_peer(key: str) -> Callable[..., Any]:
    def values(r: Results) -> tuple[float | None, float | None, str]:
        name, v = best_peer(r, key)
        return _num(metrics(r, "gopher").get(key)), v, f"gopher {key} / {name} (best peer)"

    return values


def _commands(r: Results) -> tuple[float | None, float | None, str]:
    stats = metrics(r, "gopher").get("e2e_default_redis_commands") or {}
    return _num(stats.get("commands_per_job")), 1.0, "Redis commands per no-op job"


def _redis_cpu(r: Results) -> tuple[float | None, float | None, str]:
    cpu = (metrics(r, "gopher").get("e2e_default_cpu") or {}).get("cpu_us_per_job", {})
    return (
        _num(cpu.get("redis")),
        REDIS_CPU_BASELINE_US,
        f"Redis µs per no-op job / {REDIS_CPU_BASELINE_US:g} µs at {REDIS_CPU_BASELINE_FROM}",
    )


TARGETS = [
    Target(
        "sync Client.submit_job loop vs bare grpcio bidi echo (sync)",
        0.6,
        True,
        _pair("gopher", "loop_sync_per_s", "gopher", "floor_grpc_stream_sync_per_s"),
    ),
    Target(
        "AsyncClient.submit_job one at a time vs bare grpc.aio bidi echo",
        0.6,
        True,
        _pair("gopher", "loop_async_per_s", "gopher", "floor_grpc_stream_async_per_s"),
    ),
    Target(
        "idle p50 at 200 jobs/s vs taskiq",
        1.3,
        False,
        _pair("gopher", "paced_p50_ms", "taskiq", "paced_p50_ms"),
    ),
    Target(
        "idle p99 at 200 jobs/s vs taskiq",
        2.0,
        False,
        _pair("gopher", "paced_p99_ms", "taskiq", "paced_p99_ms"),
    ),
    Target("e2e one-INCR jobs/s vs best peer", 1.5, True, _vs_best_peer("e2e_io_per_s")),
    Target(
        "e2e one-INCR jobs/s vs redis-py floor",
        1.0,
        True,
        _pair("gopher", "e2e_io_per_s", FLOOR, "e2e_io_per_s"),
    ),
    Target(
        "no-op e2e jobs/s (default settings) vs redis-py floor",
        3.0,
        True,
        _pair("gopher", "e2e_default_per_s", FLOOR, "e2e_per_s"),
    ),
    Target("Redis commands per no-op job", 12.0, False, _commands),
    Target("Redis CPU per no-op job, vs before", 0.5, False, _redis_cpu),
    Target(
        "sync Client.submit_jobs loop vs redis-py pipelined LPUSH",
        0.7,
        True,
        _pair("gopher", "loop_bulk_per_s", FLOOR, "loop_bulk_per_s"),
    ),
    Target(
        "POST /api/jobs vs SubmitJob, 16 concurrent clients",
        0.8,
        True,
        _pair("gopher", "rest_16_per_s", "gopher", "grpc_16_per_s"),
    ),
    Target(
        "POST /api/jobs vs SubmitJob, one client's p50",
        1.3,
        False,
        _pair("gopher", "rest_1_p50_ms", "gopher", "grpc_1_p50_ms"),
    ),
]


def verdicts(results: Results) -> list[dict[str, Any]]:
    """Every target with both figures, the ratio and met / missed by what factor."""
    out = []
    for t in TARGETS:
        num, den, basis = t.values(results)
        entry: dict[str, Any] = {
            "what": t.what,
            "goal": t.goal,
            "higher": t.higher,
            "basis": basis,
            "numerator": num,
            "denominator": den,
        }
        if num is None or den is None:
            entry.update(ratio=None, met=None, verdict="not measured")
        else:
            ratio = num / den
            met = ratio >= t.goal if t.higher else ratio <= t.goal
            factor = t.goal / ratio if t.higher else ratio / t.goal
            entry.update(
                ratio=round(ratio, 3),
                met=met,
                verdict="met"
                if met
                else f"missed: needs {factor:.2f}x" + (" more" if t.higher else " less"),
            )
        out.append(entry)
    return out
