"""Handlers run by worker processes in fault tests. Each execution is recorded in
Redis (outside Gopher's namespace) so tests can count runs per job."""

from __future__ import annotations

import os
import time
from typing import Any

import redis

from gopher_worker import Job, Registry

registry = Registry()
_record = redis.Redis.from_url(os.environ.get("GOPHER_TEST_RECORD_URL", "redis://127.0.0.1:6379/0"))


def runs_key(job_id: str) -> str:
    """Redis list of "<pid>:<attempt>" entries, one per started execution."""
    return f"test:runs:{job_id}"


@registry.handler("record")
def record(job: Job) -> dict[str, Any]:
    """Record the run, then sleep `payload.sleep_s` seconds (default 0), but only in
    the first `payload.slow_runs` executions (default: every one)."""
    run_number = _record.rpush(runs_key(job.id), f"{os.getpid()}:{job.attempt}")
    if int(run_number) <= int(job.payload.get("slow_runs", 1_000)):
        time.sleep(float(job.payload.get("sleep_s", 0)))
    return {"pid": os.getpid()}
