"""Asyncio client: the same contract as `Client`, for asyncio applications and the worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar, Unpack, overload

import grpc
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import (
    admin_service_pb2_grpc,
    job_service_pb2_grpc,
    worker_service_pb2_grpc,
)
from gopher.v1 import (
    job_service_pb2 as jobs_pb,
)
from gopher.v1 import (
    worker_service_pb2 as workers_pb,
)

from gopher_client._channel import KEEPALIVE_OPTIONS, ChannelConfig
from gopher_client._convert import (
    Payload,
    SubmitOptions,
    group_request,
    priority_value,
    state_value,
    submit_request,
)
from gopher_client._errors import ConnectionFailed, WaitTimeout, from_rpc_error
from gopher_client._models import Group, GroupSubmission, Job, JobPage
from gopher_client._submit_stream import AsyncSubmitStream, StreamUnsupported
from gopher_client._waiting import outcome

T = TypeVar("T")


class AsyncClient:
    """Talks to a Gopher broker over gRPC with asyncio.

    Create it inside a running event loop. Every method raises a
    `gopher_client.GopherError` subclass on failure.
    """

    def __init__(self, server: str | None = None, **config: Any) -> None:
        self.config = ChannelConfig(server=server, **config) if server else ChannelConfig(**config)
        if self.config.secure:
            self.channel = grpc.aio.secure_channel(
                self.config.server, self.config.credentials(), options=KEEPALIVE_OPTIONS
            )
        else:
            self.channel = grpc.aio.insecure_channel(self.config.server, options=KEEPALIVE_OPTIONS)
        self.jobs = job_service_pb2_grpc.JobServiceStub(self.channel)
        self.workers = worker_service_pb2_grpc.WorkerServiceStub(self.channel)
        self.admin = admin_service_pb2_grpc.AdminServiceStub(self.channel)
        self._stream: AsyncSubmitStream | None = None
        if self.config.submit_stream:
            self._stream = AsyncSubmitStream(self.jobs.SubmitJobStream, self.config.metadata)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel, cancelling calls still running."""
        if self._stream is not None:
            self._stream.close()
        await self.channel.close(None)

    async def _submit(self, request: jobs_pb.SubmitJobRequest) -> jobs_pb.SubmitJobResponse:
        """One SubmitJob, over the shared stream unless it is off or unsupported."""
        if self._stream is not None:
            try:
                return await self._stream.submit(request, self.config.timeout_s)
            except StreamUnsupported:
                self._stream = None  # an older broker: unary from now on
        return await self.call(self.jobs.SubmitJob, request)

    async def call(
        self, method: Callable[..., Awaitable[T]], request: Any, timeout_s: float | None = None
    ) -> T:
        """Invoke one unary stub method with auth metadata, translating errors."""
        try:
            return await method(
                request, metadata=self.config.metadata(), timeout=timeout_s or self.config.timeout_s
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    @overload
    async def submit_job(
        self,
        job_type: str,
        payload: Payload = None,
        *,
        wait: Literal[False] = False,
        **options: Unpack[SubmitOptions],
    ) -> str: ...

    @overload
    async def submit_job(
        self,
        job_type: str,
        payload: Payload = None,
        *,
        wait: Literal[True],
        wait_timeout_s: float | None = None,
        **options: Unpack[SubmitOptions],
    ) -> Any: ...

    async def submit_job(
        self,
        job_type: str,
        payload: Payload = None,
        *,
        wait: bool = False,
        wait_timeout_s: float | None = None,
        **options: Unpack[SubmitOptions],
    ) -> Any:
        """Submit one job and return its id; with `wait=True`, wait for it to finish
        and return its decoded result instead (raising as `result()` does, with
        `wait_timeout_s` as its timeout).

        `payload` is a JSON-serialisable mapping (or JSON text). `priority` is "high",
        "normal" (default) or "low"; `retries` defaults to 3 on the broker; `run_at` or
        `delay_s` schedule it for later. `on_success` / `on_failure` are follow-up jobs
        (built with `submit_request`) submitted when it succeeds / dies. Raises
        InvalidArgument naming the bad field.
        """
        request = submit_request(job_type, payload, **options)
        job_id = (await self._submit(request)).job_id
        if not wait:
            return job_id
        return await self.result(job_id, wait_timeout_s)

    async def submit_jobs(self, requests: Sequence[jobs_pb.SubmitJobRequest]) -> list[str]:
        """Submit a batch atomically (all or nothing); return the ids in order."""
        response = await self.call(self.jobs.SubmitJobs, jobs_pb.SubmitJobsRequest(jobs=requests))
        return [result.job_id for result in response.results]

    async def submit_group(
        self,
        jobs: Sequence[jobs_pb.SubmitJobRequest],
        *,
        on_complete: Sequence[jobs_pb.SubmitJobRequest] = (),
        on_success: Sequence[jobs_pb.SubmitJobRequest] = (),
        on_failure: Sequence[jobs_pb.SubmitJobRequest] = (),
        idempotency_key: str = "",
    ) -> GroupSubmission:
        """Submit `jobs` as one group, atomically (see `Client.submit_group`)."""
        request = group_request(
            jobs,
            on_complete=on_complete,
            on_success=on_success,
            on_failure=on_failure,
            idempotency_key=idempotency_key,
        )
        return GroupSubmission.from_proto(await self.call(self.jobs.SubmitGroup, request))

    async def get_group(self, group_id: str) -> Group:
        """Return a group's state, members by state and follow-ups (see
        `Client.get_group`)."""
        request = jobs_pb.GetGroupRequest(group_id=group_id)
        return Group.from_proto((await self.call(self.jobs.GetGroup, request)).group)

    async def get_job(self, job_id: str) -> Job:
        """Return a job's full record. Raises NotFound for an unknown id."""
        response = await self.call(self.jobs.GetJob, jobs_pb.GetJobRequest(job_id=job_id))
        return Job.from_proto(response.job)

    async def list_jobs(
        self,
        *,
        state: str | int | None = None,
        job_type: str = "",
        priority: str | int | None = None,
        page_size: int = 0,
        page_token: str = "",
        id_prefix: str = "",
    ) -> JobPage:
        """Return one page of jobs matching the filters (None/empty means any);
        `id_prefix` finds jobs whose id starts with it."""
        request = jobs_pb.ListJobsRequest(
            state=state_value(state),  # type: ignore[arg-type]
            type=job_type,
            priority=priority_value(priority),  # type: ignore[arg-type]
            page_size=page_size,
            page_token=page_token,
            id_prefix=id_prefix,
        )
        response = await self.call(self.jobs.ListJobs, request)
        return JobPage([Job.from_proto(j) for j in response.jobs], response.next_page_token)

    async def cancel_job(self, job_id: str) -> jobs_pb.CancelJobResponse:
        """Cancel a job that has not finished."""
        return await self.call(self.jobs.CancelJob, jobs_pb.CancelJobRequest(job_id=job_id))

    async def watch_job(self, job_id: str) -> AsyncIterator[Job]:
        """Yield the job's record now and after each change, until a final state."""
        call = self.jobs.WatchJob(
            jobs_pb.WatchJobRequest(job_id=job_id), metadata=self.config.metadata()
        )
        try:
            async for response in call:
                yield Job.from_proto(response.job)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def wait_for(self, job_id: str, timeout_s: float | None = None) -> Job:
        """Wait (over WatchJob, no polling) until the job is final and return it.
        Raises WaitTimeout when `timeout_s` passes first, NotFound for an unknown id."""
        try:
            async with asyncio.timeout(timeout_s):
                async for job in self.watch_job(job_id):
                    if job.is_final:
                        # Watch snapshots leave out errors and history; the final record has them.
                        return await self.get_job(job_id)
        except TimeoutError:
            raise WaitTimeout(job_id, timeout_s or 0.0) from None
        raise ConnectionFailed(f"the watch of job {job_id} ended before it was final")

    async def result(self, job_id: str, timeout_s: float | None = None) -> Any:
        """Wait for the job to be final and return its decoded result. Raises JobFailed
        (with its last error) when it died, JobCancelled, or WaitTimeout."""
        return outcome(await self.wait_for(job_id, timeout_s))

    # -- admin -------------------------------------------------------------------

    async def set_rate_limit(
        self, job_type: str, rate_per_s: float = 0.0, burst: int = 0, max_concurrency: int = 0
    ) -> admin_pb.RateLimit:
        """Set a job type's global rate and concurrency limits."""
        request = admin_pb.SetRateLimitRequest(
            type=job_type, rate_per_s=rate_per_s, burst=burst, max_concurrency=max_concurrency
        )
        return (await self.call(self.admin.SetRateLimit, request)).rate_limit

    async def list_events(self, after_id: str = "", limit: int = 0) -> admin_pb.ListEventsResponse:
        """One page of the global events feed (see `Client.list_events`)."""
        request = admin_pb.ListEventsRequest(after_id=after_id, limit=limit)
        return await self.call(self.admin.ListEvents, request)

    # -- worker side -------------------------------------------------------------

    def stream_jobs(
        self, request: workers_pb.StreamJobsRequest
    ) -> grpc.aio.UnaryStreamCall[workers_pb.StreamJobsRequest, workers_pb.StreamJobsResponse]:
        """Open a delivery stream; iterate the returned call for batches of jobs."""
        return self.workers.StreamJobs(request, metadata=self.config.metadata())

    async def ack_jobs(
        self, acks: Sequence[workers_pb.AckJobRequest], worker_id: str = "", capacity: int = 0
    ) -> list[workers_pb.Outcome]:
        """Complete many deliveries; return one outcome per ack, in order. With the
        acking worker's id, the broker refills its freed slots in the same call, and a
        `capacity` (1..10000) becomes that worker's stream capacity first."""
        request = workers_pb.AckJobsRequest(acks=acks, worker_id=worker_id, capacity=capacity)
        response = await self.call(self.workers.AckJobs, request)
        return list(response.outcomes)

    async def nack_jobs(
        self, nacks: Sequence[workers_pb.NackJobRequest]
    ) -> list[workers_pb.Outcome]:
        """Report many failed or handed-back deliveries; one outcome per nack."""
        response = await self.call(self.workers.NackJobs, workers_pb.NackJobsRequest(nacks=nacks))
        return list(response.outcomes)

    async def extend_leases(
        self, leases: Sequence[workers_pb.ExtendLeaseRequest]
    ) -> list[workers_pb.Outcome]:
        """Extend many leases; one outcome per lease, in order."""
        request = workers_pb.ExtendLeasesRequest(leases=leases)
        response = await self.call(self.workers.ExtendLeases, request)
        return list(response.outcomes)
