"""Instrumentation shared by every system's benchmark handler, and its reader.

Handlers call `on_job(payload)` first thing. Two modes, chosen by the payload:

- a payload with "t" (the submitter's `time.time()` just before submitting) is a
  latency sample: the handler-start delay is pushed to a Redis list at once, so the
  harness can pace samples one at a time;
- any other payload is counted: each worker process keeps a count, its first and last
  handler-start times and a histogram of starts per 100 ms, and a daemon thread writes
  them to Redis every 100 ms. No Redis call happens per job, so the probe costs a few
  microseconds and does not limit fast systems.

Both the submitter and the handler read the clock of this one machine. This module
needs only the standard library and redis-py: it runs in Gopher's environment and in
the peer virtualenvs alike. The Redis URL comes from $BENCH_REDIS_URL.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

LATENCY_KEY = "bench:latency"
TALLY_KEY = "bench:tally"
HIST_KEY = "bench:hist"
FLUSH_INTERVAL_S = 0.1
BUCKET_S = 0.1  # histogram resolution
# Workers that run each job in a short-lived fork (RQ's default) exit before a timer
# fires: they set BENCH_PROBE_SYNC=1 and pay one Redis round trip per job instead.
_SYNC_FLUSH = os.environ.get("BENCH_PROBE_SYNC") == "1"


@dataclass
class _Tally:
    pid: int
    client: Any
    count: int = 0
    first: float = 0.0
    last: float = 0.0
    buckets: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    dirty: bool = False

    def flush(self) -> None:
        with self.lock:
            if not self.dirty:
                return
            buckets, self.buckets, self.dirty = self.buckets, {}, False
            count, first, last = self.count, self.first, self.last
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(
            TALLY_KEY,
            mapping={
                f"{self.pid}:count": count,
                f"{self.pid}:first": first,
                f"{self.pid}:last": last,
            },
        )
        for bucket, n in buckets.items():
            pipe.hincrby(HIST_KEY, str(bucket), n)
        pipe.execute()


_state: _Tally | None = None
_state_lock = threading.Lock()
_latency_client: Any = None


def _client() -> Any:
    return redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))


def _flush_forever(tally: _Tally) -> None:
    while True:
        time.sleep(FLUSH_INTERVAL_S)
        try:
            tally.flush()
        except Exception:  # Redis gone at shutdown; a benchmark probe must never crash
            return


def _forget_parent_state() -> None:
    # A forked child (Celery prefork, RQ's fork per job) starts its own tally and client;
    # resetting here spares a getpid() system call per job.
    global _state, _latency_client
    _state = None
    _latency_client = None


os.register_at_fork(after_in_child=_forget_parent_state)


def _tally() -> _Tally:
    """This process's tally, created (with its flusher thread) on first use."""
    global _state
    state = _state
    if state is not None:
        return state
    with _state_lock:
        if _state is None:
            _state = _Tally(os.getpid(), _client())
            threading.Thread(target=_flush_forever, args=(_state,), daemon=True).start()
        return _state


def on_job(payload: Any) -> None:
    """Record one handler start. Call it first thing in the handler."""
    now = time.time()
    if isinstance(payload, dict) and "t" in payload:
        global _latency_client
        if _latency_client is None:
            _latency_client = _client()
        _latency_client.rpush(LATENCY_KEY, repr(now - float(payload["t"])))
        return
    tally = _tally()
    with tally.lock:
        if tally.count == 0:
            tally.first = now
        tally.count += 1
        tally.last = now
        bucket = int(now / BUCKET_S)
        tally.buckets[bucket] = tally.buckets.get(bucket, 0) + 1
        tally.dirty = True
    if _SYNC_FLUSH:
        tally.flush()


# -- harness side ------------------------------------------------------------------


@dataclass
class Progress:
    """Handler starts counted so far across all worker processes."""

    count: int
    first: float
    last: float

    @property
    def rate_per_s(self) -> float:
        """Starts per second between the first and the last start."""
        span = self.last - self.first
        return self.count / span if span > 0 and self.count > 1 else 0.0


def read_progress(client: Any) -> Progress:
    """Sum the per-process tallies."""
    raw = {k.decode(): float(v) for k, v in client.hgetall(TALLY_KEY).items()}
    count = int(sum(v for k, v in raw.items() if k.endswith(":count")))
    firsts = [v for k, v in raw.items() if k.endswith(":first")]
    lasts = [v for k, v in raw.items() if k.endswith(":last")]
    return Progress(count, min(firsts, default=0.0), max(lasts, default=0.0))


def read_histogram(client: Any) -> dict[float, int]:
    """Handler starts per 100 ms bucket, keyed by the bucket's start (Unix seconds)."""
    return {int(k) * BUCKET_S: int(v) for k, v in client.hgetall(HIST_KEY).items()}


def count_window_rate(hist: dict[float, int], lo: int, hi: int) -> float:
    """Starts per second between the `lo`-th and the `hi`-th start (across all
    processes), interpolating inside the 100 ms buckets: the rate over a window of
    jobs, which leaves the ramp-up and the tail out. 0.0 when fewer than `hi` started."""
    crossings: list[float] = []
    cumulative = 0
    targets = [lo, hi]
    for start in sorted(hist):
        n = hist[start]
        while targets and cumulative + n >= targets[0]:
            crossings.append(start + BUCKET_S * (targets.pop(0) - cumulative) / n)
        cumulative += n
    if len(crossings) < 2 or crossings[1] <= crossings[0]:
        return 0.0
    return (hi - lo) / (crossings[1] - crossings[0])


def wait_for_count(client: Any, n: int, timeout_s: float) -> Progress:
    """Poll until `n` starts were counted (or the timeout passes); return the tally.
    Flushes lag by up to 100 ms, so the last poll happens after that settles."""
    deadline = time.monotonic() + timeout_s
    progress = read_progress(client)
    while progress.count < n and time.monotonic() < deadline:
        time.sleep(0.05)
        progress = read_progress(client)
    time.sleep(FLUSH_INTERVAL_S * 2)
    return read_progress(client)


def pop_latency(client: Any, timeout_s: float) -> float | None:
    """Wait for the next latency sample (seconds); None on timeout."""
    item = client.blpop([LATENCY_KEY], timeout=timeout_s)
    return float(item[1]) if item else None


def sample_latency(
    client: Any,
    submit: Callable[[dict[str, float]], object],
    samples: int,
    cap_s: float,
    gap_s: float,
    warmup: int = 20,
    warmup_s: float = 2.0,
    timeout_s: float = 30.0,
) -> list[float]:
    """Idle submit->start latencies, one job at a time: `submit({"t": time.time()})`,
    wait for its start, pause `gap_s`, repeat. The first `warmup` jobs (or as many as
    fit in `warmup_s`) warm connections up and are dropped; then up to `samples` are
    kept, within `cap_s` so slow pollers do not stall the run."""
    kept: list[float] = []
    started = time.monotonic()
    deadline: float | None = None
    for i in range(warmup + samples):
        submit({"t": time.time()})
        sample = pop_latency(client, timeout_s)
        if sample is None:
            raise TimeoutError(f"a latency job did not start within {timeout_s:g} s")
        if deadline is None and (i + 1 >= warmup or time.monotonic() - started > warmup_s):
            deadline = time.monotonic() + cap_s
        elif deadline is not None:
            kept.append(sample)
            if time.monotonic() > deadline or len(kept) >= samples:
                break
        time.sleep(gap_s)
    return kept


def reset(client: Any) -> None:
    """Delete the probe's keys."""
    client.delete(LATENCY_KEY, TALLY_KEY, HIST_KEY)


def sample_paced(
    client: Any,
    submit: Callable[[dict[str, float]], object],
    rate_per_s: float,
    jobs: int,
    timeout_s: float = 30.0,
) -> tuple[list[float], float]:
    """Submit->start latencies with jobs offered at `rate_per_s` on a fixed schedule
    (open loop: the next job goes out at its slot whether or not the last one started;
    a late slot is sent at once). Returns the samples and the rate actually offered.
    Warm the workers first (`sample_latency` with a few samples does)."""
    client.delete(LATENCY_KEY)
    interval = 1.0 / rate_per_s
    started = time.perf_counter()
    for i in range(jobs):
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        submit({"t": time.time()})
    offered = (jobs - 1) / max(1e-9, time.perf_counter() - started) if jobs > 1 else 0.0
    deadline = time.monotonic() + timeout_s
    while int(client.llen(LATENCY_KEY)) < jobs and time.monotonic() < deadline:
        time.sleep(0.02)
    raw = client.lrange(LATENCY_KEY, 0, -1)
    client.delete(LATENCY_KEY)
    return [float(x) for x in raw], offered
