"""The no-op handler Gopher's benchmark workers run:
`gopher-worker benchmarks.gopher_app:registry`."""

from __future__ import annotations

from benchmarks import job_io, probe
from gopher_worker import Job, Registry

JOB_TYPE = "bench.noop"
registry = Registry()


@registry.handler(JOB_TYPE)
async def noop(job: Job) -> None:
    """Record the start (see `benchmarks.probe`) and return at once; with "io" in the
    payload, do one Redis INCR first (the realistic body, `benchmarks.job_io`)."""
    probe.on_job(job.payload)
    await job_io.atouch(job.payload)
