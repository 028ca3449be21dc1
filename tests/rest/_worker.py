"""A minimal worker driven through the real contract (StreamJobs, AckJobs, NackJobs).

Tests use it to move jobs to SUCCEEDED or DEAD so the REST views have something to show.
The stream stays open while a job is held: closing it would release the lease.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as workers_pb

from gopher_client import AsyncClient

READ_TIMEOUT_S = 10.0


class ContractWorker:
    """One delivery stream for `job_types`, with capacity for one job at a time."""

    def __init__(self, client: AsyncClient, job_types: list[str], worker_id: str = "w1") -> None:
        self.client = client
        self.worker_id = worker_id
        request = workers_pb.StreamJobsRequest(
            worker_id=worker_id, job_types=job_types, capacity=1, hostname="test-host", pid=1
        )
        self.call: Any = client.stream_jobs(request)

    async def next_job(self) -> job_pb2.LeasedJob:
        """Wait (bounded) for the next delivery."""
        async with asyncio.timeout(READ_TIMEOUT_S):
            while True:
                response = await self.call.read()
                if response.jobs:
                    job: job_pb2.LeasedJob = response.jobs[0]
                    return job

    async def ack(self, job: job_pb2.LeasedJob, result_json: str) -> None:
        """Complete a delivery with a result."""
        request = workers_pb.AckJobRequest(
            job_id=job.job_id, lease_token=job.lease_token, result_json=result_json
        )
        (outcome,) = await self.client.ack_jobs([request])
        assert outcome.code == workers_pb.OUTCOME_CODE_OK, outcome

    async def fail(self, job: job_pb2.LeasedJob, *, final: bool) -> int:
        """Fail a delivery (dead-lettered when `final`, else retried at once); return state."""
        request = workers_pb.NackJobRequest(
            job_id=job.job_id,
            lease_token=job.lease_token,
            error_type="ValueError",
            error_message="boom",
            non_retryable=final,
        )
        if not final:
            request.retry_after_s = 0.0
        (outcome,) = await self.client.nack_jobs([request])
        assert outcome.code == workers_pb.OUTCOME_CODE_OK, outcome
        state: int = outcome.state
        return state

    def close(self) -> None:
        """Close the stream (the broker lets go of it asynchronously)."""
        self.call.cancel()


async def make_dead(client: AsyncClient, job_type: str, count: int = 1) -> list[str]:
    """Submit `count` low-priority jobs of `job_type` and dead-letter each; return their ids.

    The worker's stream may outlive this call for a moment, so callers that requeue
    these jobs pause the low queue first, and use a fresh job type for each call.
    """
    ids = [
        await client.submit_job(job_type, {"n": n}, priority="low", retries=0) for n in range(count)
    ]
    worker = ContractWorker(client, [job_type])
    try:
        for _ in ids:
            state = await worker.fail(await worker.next_job(), final=True)
            assert state == job_pb2.JOB_STATE_DEAD
    finally:
        worker.close()
    return ids
