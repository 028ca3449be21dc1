"""Scenario sizes for the quick run (default, well under 5 minutes for Gopher) and the
full run (`--full`). Every count is bounded and every wait has a time cap."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """How much work each scenario does. Counts are jobs; durations are seconds."""

    name: str
    # Enqueue: single submits from one client with this many calls in flight, and
    # batched submits (batch size = the broker's default limit, a few batches in flight).
    enqueue_single_jobs: int = 5_000
    enqueue_concurrency: int = 64
    enqueue_bulk_jobs: int = 50_000
    bulk_batch_size: int = 1_000
    bulk_in_flight: int = 4
    # Memory per queued job: used_memory delta over this many queued 100-byte jobs.
    memory_jobs: int = 20_000
    payload_bytes: int = 100
    # End to end: jobs queued before the workers start; drain time cap.
    e2e_jobs: int = 20_000
    e2e_cap_s: float = 60.0
    # Idle latency: samples submitted one at a time; time cap for slow systems.
    latency_samples: int = 500
    latency_cap_s: float = 30.0
    latency_gap_s: float = 0.005
    # Backlog: dispatch rate with a small backlog vs a large one, both measured over
    # the same window of jobs (the 1,000th to the 9,000th start).
    backlog_small: int = 10_000
    backlog_large: int = 200_000
    backlog_window: tuple[int, int] = (1_000, 9_000)
    backlog_rounds: int = 3
    # Sweep: e2e again with this many slots per worker (total = x workers).
    sweep_concurrency: tuple[int, ...] = (16, 64, 256)
    sweep_prefetch: int = 4  # and 16 slots per worker with this prefetch
    # Promotion: this many scheduled jobs fall due together while ready jobs are probed.
    promote_jobs: int = 100_000
    promote_probe_gap_s: float = 0.01
    # Soak: fraction of the measured e2e peak, for this long, sampling every interval.
    soak_s: float = 60.0
    soak_fraction: float = 0.5
    soak_sample_s: float = 2.0
    soak_warmup_s: float = 30.0
    # Dashboard (`ui`): pages timed with this many queued and dead jobs, plus a few
    # scheduled, retrying and succeeded ones; each page fetched `ui_rounds` times.
    ui_queued_jobs: int = 50_000
    ui_dead_jobs: int = 10_000
    ui_scheduled_jobs: int = 2_000
    ui_retrying_jobs: int = 1_000
    ui_succeeded_jobs: int = 1_000
    ui_rounds: int = 5
    # Realistic scenarios (`--only realistic`), for Gopher and every peer in one run.
    # Sync loops: one thread, one call at a time; bulk in batches of `bulk_batch_size`.
    loop_jobs: int = 2_000
    loop_bulk_jobs: int = 20_000
    # End to end with a job body of one Redis INCR (benchmarks/job_io.py).
    io_e2e_jobs: int = 10_000
    io_e2e_cap_s: float = 15.0
    # Idle latency with jobs offered at a fixed rate (open loop), after a warm-up.
    paced_rate: float = 200.0
    paced_jobs: int = 600
    # Floors: bare grpcio echo calls per variant, alternated with the Gopher loops
    # `real_rounds` times; REST vs gRPC calls per client.
    floor_calls: int = 3_000
    real_rounds: int = 2
    rest_single_calls: int = 1_000
    rest_clients: int = 16
    rest_calls_per_client: int = 150


QUICK = Sizes(name="quick")
FULL = Sizes(
    name="full",
    enqueue_single_jobs=20_000,
    enqueue_bulk_jobs=200_000,
    e2e_cap_s=120.0,
    latency_cap_s=60.0,
    backlog_large=1_000_000,
    soak_s=600.0,
    soak_sample_s=5.0,
    soak_warmup_s=60.0,
    ui_queued_jobs=1_000_000,
    ui_dead_jobs=100_000,
    ui_scheduled_jobs=20_000,
    ui_retrying_jobs=5_000,
    ui_succeeded_jobs=5_000,
    ui_rounds=9,
    loop_jobs=5_000,
    loop_bulk_jobs=50_000,
    io_e2e_jobs=20_000,
    io_e2e_cap_s=60.0,
    paced_jobs=2_000,
    floor_calls=10_000,
    rest_single_calls=3_000,
    rest_calls_per_client=500,
)

# Issue 8's goals for Gopher on a 2-core machine. `higher` says which way is better.
TARGETS: list[dict[str, object]] = [
    {"metric": "e2e_per_s", "goal": 10_000, "higher": True, "what": "e2e no-op jobs/s"},
    {
        "metric": "enqueue_bulk_per_s",
        "goal": 50_000,
        "higher": True,
        "what": "SubmitJobs batch enqueue jobs/s",
    },
    {
        "metric": "enqueue_single_per_s",
        "goal": 3_000,
        "higher": True,
        "what": "single SubmitJob jobs/s (one client, concurrent)",
    },
    {"metric": "latency_p50_ms", "goal": 1.5, "higher": False, "what": "idle submit->start p50 ms"},
    {"metric": "latency_p99_ms", "goal": 4.0, "higher": False, "what": "idle submit->start p99 ms"},
    {
        "metric": "bytes_per_job",
        "goal": 350,
        "higher": False,
        "what": "Redis bytes per queued job (100-byte payload)",
    },
    {
        "metric": "backlog_slowdown_pct",
        "goal": 10,
        "higher": False,
        "what": "dispatch slowdown, large vs 10k backlog, %",
    },
    {
        "metric": "promotion_ready_delay_ms",
        "goal": 1000,
        "higher": False,
        "what": "ready-job dispatch delay while promoting due jobs, ms",
    },
    {
        "metric": "soak_rss_growth_pct",
        "goal": 5,
        "higher": False,
        "what": "soak: broker+worker RSS growth, %",
    },
    {
        "metric": "soak_redis_growth_pct",
        "goal": 5,
        "higher": False,
        "what": "soak: Redis used_memory growth, %",
    },
]
