"""Handlers run by worker processes in fault tests. Each execution is recorded in
Redis (outside Gopher's namespace) so tests can count runs per job."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import orjson
import redis

from gopher_worker import Job, Registry, RetryAfter

registry = Registry()
_record = redis.Redis.from_url(os.environ.get("GOPHER_TEST_RECORD_URL", "redis://127.0.0.1:6379/0"))


def runs_key(job_id: str) -> str:
    """Redis list of "<pid>:<attempt>" entries, one per started execution."""
    return f"test:runs:{job_id}"


RUN_LOG_KEY = "test:runlog"  # "<unix time> <pid> <job id>" per run of a logged job


@registry.handler("record")
def record(job: Job) -> dict[str, Any]:
    """Record the run (and log it when `payload.log_run`), then sleep `payload.sleep_s`
    seconds (default 0), but only in the first `payload.slow_runs` executions (default:
    every one)."""
    run_number = _record.rpush(runs_key(job.id), f"{os.getpid()}:{job.attempt}")
    if job.payload.get("log_run"):
        # One timeline of every run (when, which worker, which job) for tests that
        # measure when work resumed after a fault, worker by worker.
        _record.rpush(RUN_LOG_KEY, f"{time.time():.3f} {os.getpid()} {job.id}")
    if int(run_number) <= int(job.payload.get("slow_runs", 1_000)):
        time.sleep(float(job.payload.get("sleep_s", 0)))
    return {"pid": os.getpid()}


OBSERVED_KEY = "test:observed"  # set of every "chaos.observe" job that ran


def seen_key(job_id: str) -> str:
    """The payload (JSON) a "chaos.observe" handler was given, as it saw it."""
    return f"test:seen:{job_id}"


@registry.handler("chaos.member")
def chaos_member(job: Job) -> dict[str, Any]:
    """A group member for the chaos workload: record the run, sleep `sleep_s`, then fail
    in the first `fail_runs` executions (with RetryAfter when `how` is "retry", else
    with a plain error) and succeed with `{"tag": <payload tag>}` after that."""
    run_number = int(_record.rpush(runs_key(job.id), f"{os.getpid()}:{job.attempt}"))
    time.sleep(float(job.payload.get("sleep_s", 0)))
    if run_number <= int(job.payload.get("fail_runs", 0)):
        if job.payload.get("how") == "retry":
            raise RetryAfter(0.2, "planned retry")
        raise RuntimeError("planned failure")
    return {"tag": job.payload["tag"]}


@registry.handler("chaos.observe")
def chaos_observe(job: Job) -> dict[str, Any]:
    """A follow-up for the chaos workload: record the run and the payload it was given
    (a group's outcome, or a parent's), sleep `sleep_s`, and return which job saw it."""
    _record.rpush(runs_key(job.id), f"{os.getpid()}:{job.attempt}")
    _record.set(seen_key(job.id), orjson.dumps(job.payload))
    _record.sadd(OBSERVED_KEY, job.id)
    time.sleep(float(job.payload.get("sleep_s", 0)))
    return {"seen": job.id}


def gate_key(job_id: str) -> str:
    """Redis list a test pushes to when the "gated" job may finish."""
    return f"test:gate:{job_id}"


@registry.handler("gated")
def gated(job: Job) -> dict[str, Any]:
    """Record the run, then block until the test opens the job's gate (60 s at most)."""
    _record.rpush(runs_key(job.id), f"{os.getpid()}:{job.attempt}")
    _record.blpop([gate_key(job.id)], timeout=60)
    return {"pid": os.getpid()}


@registry.handler("chaos.long")
async def chaos_long(job: Job) -> dict[str, Any]:
    """A group member for the chaos workload that runs until cancelled: record the run,
    then wait `sleep_s` (long), which the broker's cancel cuts short."""
    _record.rpush(runs_key(job.id), f"{os.getpid()}:{job.attempt}")
    await asyncio.sleep(float(job.payload.get("sleep_s", 0)))
    return {"tag": job.payload["tag"]}
