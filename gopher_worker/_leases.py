"""Lease extension: while handlers run, leases are pushed out in one batched call, so a
long job is never recovered from a live worker."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gopher.v1 import worker_service_pb2 as pb

from gopher_client import GopherError

if TYPE_CHECKING:
    from gopher_worker._worker import Worker

log = logging.getLogger(__name__)
# How often leases are checked; a lease is extended once half of its TTL has passed,
# so TTLs down to about 1 s are safe.
CHECK_INTERVAL_S = 0.25


async def keep_leases(worker: Worker) -> None:
    """Extend due leases forever; a refused extension means the lease was lost, and
    the handler is stopped rather than left to run the job twice."""
    while True:
        await asyncio.sleep(CHECK_INTERVAL_S)
        now_ms = worker.clock.now_ms()
        due = [
            r for r in worker.running.values() if r.deadline_ms - now_ms < r.lease.lease_ttl_ms // 2
        ]
        client = worker.client
        if not due or client is None:
            continue
        requests = [
            pb.ExtendLeaseRequest(job_id=r.lease.job_id, lease_token=r.lease.lease_token)
            for r in due
        ]
        try:
            outcomes = await client.extend_leases(requests)
        except GopherError as exc:
            log.warning("could not extend %d lease(s): %s", len(requests), exc)
            continue
        for run, outcome in zip(due, outcomes, strict=True):
            if outcome.code == pb.OUTCOME_CODE_OK:
                run.deadline_ms = outcome.lease_deadline_unix_ms
                continue
            worker.running.pop(run.lease.job_id, None)
            if run.task is not None and not run.task.done():
                if run.running:
                    log.warning(
                        "lease of job %s lost (%s); stopping its handler",
                        run.lease.job_id,
                        outcome.message,
                    )
                else:  # still waiting for a slot: it never starts
                    worker.metrics.dropped.labels("expired").inc()
                    log.warning(
                        "job %s dropped unstarted: its lease was lost (%s)",
                        run.lease.job_id,
                        outcome.message,
                    )
                run.cancelled = True
                run.task.cancel()
