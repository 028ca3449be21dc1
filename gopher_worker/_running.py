"""Bookkeeping for one delivery held by the worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gopher.v1 import job_pb2

from gopher_worker._job import Job


@dataclass
class Running:
    """A leased job: its lease, its task, and how its run ended."""

    lease: job_pb2.LeasedJob
    deadline_ms: int
    task: asyncio.Task[None] | None = None
    cancelled: bool = False  # by the broker or a lost lease: report nothing
    running: bool = False  # holds an execution slot (prefetched jobs wait for one)


def placeholder(lease: job_pb2.LeasedJob) -> Job:
    """A Job for a delivery whose payload could not be decoded."""
    return Job(
        lease.job_id,
        lease.type,
        {},
        lease.attempt,
        lease.retries,
        "",
        lease.created_unix_ms,
        lease_token=lease.lease_token,
    )
