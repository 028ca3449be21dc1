"""The Python side of the worker conformance checks: the same handlers as
sdk/typescript/test/conformance-worker.ts, each appending what happened as one JSON line
to $GOPHER_CONFORMANCE_LOG, so one test module can drive either SDK.

    gopher-worker tests.interop.conformance_handlers:registry --server ...
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from gopher_worker import Job, PermanentError, Registry, RetryAfter

registry = Registry()
_LOG = os.environ.get("GOPHER_CONFORMANCE_LOG", "")


def note(event: str, job: Job, **extra: Any) -> None:
    """Append one event line for the test to read."""
    if not _LOG:
        return
    line = {
        "event": event,
        "job": job.id,
        "type": job.type,
        "attempt": job.attempt,
        "sdk": "python",
        "pid": os.getpid(),
        "t": time.time(),
        **extra,
    }
    with open(_LOG, "a") as log:
        log.write(json.dumps(line) + "\n")


@registry.handler("conf.echo")
async def echo(job: Job) -> dict[str, Any]:
    """Return the payload, the attempt and the parent."""
    note("start", job)
    return {"echo": job.payload, "attempt": job.attempt, "sdk": "python", "parent": job.parent_id}


@registry.handler("conf.fail")
async def fail(job: Job) -> None:
    """Fail (retryably) with payload.message."""
    note("start", job)
    raise RuntimeError(str(job.payload.get("message", "boom")))


@registry.handler("conf.flaky")
def flaky(job: Job) -> dict[str, Any]:
    """Fail while the file payload.down_file exists (a downstream that is down); sync,
    so it runs in the worker's thread pool and may touch the file system."""
    note("start", job)
    if os.path.exists(str(job.payload["down_file"])):
        raise ConnectionError("downstream down")
    return {"attempt": job.attempt, "sdk": "python"}


@registry.handler("conf.permanent")
async def permanent(job: Job) -> None:
    """Fail for good."""
    note("start", job)
    raise PermanentError(str(job.payload.get("message", "bad input")))


@registry.handler("conf.retry_after")
async def retry_after(job: Job) -> dict[str, Any]:
    """Ask for a retry in payload.delay_s on the first attempt; succeed on the next."""
    note("start", job)
    if job.attempt == 1:
        raise RetryAfter(float(job.payload.get("delay_s", 1)))
    return {"attempt": job.attempt, "sdk": "python"}


@registry.handler("conf.sleep")
async def sleep(job: Job) -> dict[str, Any]:
    """Sleep payload.ms (only on the attempts in payload.slow_attempts, when given);
    note an abort (cancellation, lost lease, timeout, drain)."""
    note("start", job)
    slow = job.payload.get("slow_attempts")
    ms = float(job.payload.get("ms", 1000)) if slow is None or job.attempt in slow else 0.0
    try:
        await asyncio.sleep(ms / 1000)
    except asyncio.CancelledError:
        note("aborted", job, reason="cancelled")
        raise
    note("end", job)
    return {"attempt": job.attempt, "sdk": "python", "pid": os.getpid()}


@registry.handler("conf.block")
async def block(job: Job) -> dict[str, Any]:
    """Block the whole process (no lease extension, no stream reads) for payload.ms on
    the attempts in payload.block_attempts (default [1])."""
    note("start", job)
    if job.attempt in job.payload.get("block_attempts", [1]):
        time.sleep(float(job.payload.get("ms", 3000)) / 1000)  # noqa: ASYNC251 (the point)
    note("end", job)
    return {"attempt": job.attempt, "sdk": "python", "pid": os.getpid()}


@registry.handler("python.step")
async def step(job: Job) -> dict[str, Any]:
    """One link of a cross-language chain: say who ran it and what the parent returned."""
    note("start", job)
    parent = job.payload.get("parent") or {}
    return {"sdk": "python", "n": job.payload.get("n"), "parent_result": parent.get("result")}
