"""Blocking client for applications, scripts and the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, TypeVar, Unpack, overload

import grpc
from gopher.v1 import (
    admin_service_pb2 as admin_pb,
)
from gopher.v1 import (
    admin_service_pb2_grpc,
    job_pb2,
    job_service_pb2_grpc,
    worker_service_pb2_grpc,
)
from gopher.v1 import (
    job_service_pb2 as jobs_pb,
)

from gopher_client._channel import KEEPALIVE_OPTIONS, ChannelConfig
from gopher_client._convert import (
    FINAL_STATES,
    Payload,
    SubmitOptions,
    group_request,
    priority_value,
    state_value,
    submit_request,
)
from gopher_client._errors import ConnectionFailed, WaitTimeout, from_rpc_error
from gopher_client._models import Group, GroupSubmission, Job, JobPage, Submission
from gopher_client._submit_stream import StreamUnsupported, SyncSubmitStream
from gopher_client._waiting import outcome

T = TypeVar("T")


class Client:
    """Talks to a Gopher broker over gRPC, blocking.

    >>> client = Client("127.0.0.1:50051")
    >>> job_id = client.submit_job("email", {"to": "a@b.c"}, priority="high", retries=3)

    Every method raises a `gopher_client.GopherError` subclass on failure.
    """

    def __init__(self, server: str | None = None, **config: Any) -> None:
        self.config = ChannelConfig(server=server, **config) if server else ChannelConfig(**config)
        if self.config.secure:
            self.channel = grpc.secure_channel(
                self.config.server, self.config.credentials(), options=KEEPALIVE_OPTIONS
            )
        else:
            self.channel = grpc.insecure_channel(self.config.server, options=KEEPALIVE_OPTIONS)
        self.jobs = job_service_pb2_grpc.JobServiceStub(self.channel)
        self.workers = worker_service_pb2_grpc.WorkerServiceStub(self.channel)
        self.admin = admin_service_pb2_grpc.AdminServiceStub(self.channel)
        self._stream: SyncSubmitStream | None = None
        if self.config.submit_stream:
            self._stream = SyncSubmitStream(self.jobs.SubmitJobStream, self.config.metadata)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel; the client is unusable afterwards."""
        if self._stream is not None:
            self._stream.close()
        self.channel.close()

    def _submit(self, request: jobs_pb.SubmitJobRequest) -> jobs_pb.SubmitJobResponse:
        """One SubmitJob, over the shared stream unless it is off or unsupported."""
        if self._stream is not None:
            try:
                return self._stream.submit(request, self.config.timeout_s)
            except StreamUnsupported:
                self._stream = None  # an older broker: unary from now on
        return self.call(self.jobs.SubmitJob, request)

    def call(self, method: Callable[..., T], request: Any, timeout_s: float | None = None) -> T:
        """Invoke one unary stub method with auth metadata, translating errors."""
        try:
            return method(
                request, metadata=self.config.metadata(), timeout=timeout_s or self.config.timeout_s
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    # -- jobs ------------------------------------------------------------------

    @overload
    def submit_job(
        self,
        job_type: str,
        payload: Payload = None,
        *,
        wait: Literal[False] = False,
        **options: Unpack[SubmitOptions],
    ) -> str: ...

    @overload
    def submit_job(
        self,
        job_type: str,
        payload: Payload = None,
        *,
        wait: Literal[True],
        wait_timeout_s: float | None = None,
        **options: Unpack[SubmitOptions],
    ) -> Any: ...

    def submit_job(
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
        job_id = self._submit(request).job_id
        if not wait:
            return job_id
        return self.result(job_id, wait_timeout_s)

    def submit(self, request: jobs_pb.SubmitJobRequest) -> Submission:
        """Submit a prepared request and return the broker's full answer."""
        return Submission.from_proto(self._submit(request))

    def submit_jobs(self, requests: Sequence[jobs_pb.SubmitJobRequest]) -> list[str]:
        """Submit a batch atomically (all or nothing); return the ids in order."""
        response = self.call(self.jobs.SubmitJobs, jobs_pb.SubmitJobsRequest(jobs=requests))
        return [result.job_id for result in response.results]

    def submit_group(
        self,
        jobs: Sequence[jobs_pb.SubmitJobRequest],
        *,
        on_complete: Sequence[jobs_pb.SubmitJobRequest] = (),
        on_success: Sequence[jobs_pb.SubmitJobRequest] = (),
        on_failure: Sequence[jobs_pb.SubmitJobRequest] = (),
        idempotency_key: str = "",
    ) -> GroupSubmission:
        """Submit `jobs` (built with `submit_request`) as one group, atomically, and
        return the group's id and its members' ids.

        When every member is final the broker submits, exactly once, the `on_complete`
        jobs and then the `on_success` ones (every member succeeded) or the
        `on_failure` ones (one died); each finds every member's outcome under the
        payload key "group". Members take no idempotency key: give the group one.
        Raises InvalidArgument naming the bad field.
        """
        request = group_request(
            jobs,
            on_complete=on_complete,
            on_success=on_success,
            on_failure=on_failure,
            idempotency_key=idempotency_key,
        )
        return GroupSubmission.from_proto(self.call(self.jobs.SubmitGroup, request))

    def get_group(self, group_id: str) -> Group:
        """Return a group's state, members by state and follow-ups. Raises NotFound for
        an unknown (or expired) group."""
        response = self.call(self.jobs.GetGroup, jobs_pb.GetGroupRequest(group_id=group_id))
        return Group.from_proto(response.group)

    def get_job(self, job_id: str) -> Job:
        """Return a job's full record. Raises NotFound for an unknown id."""
        response = self.call(self.jobs.GetJob, jobs_pb.GetJobRequest(job_id=job_id))
        return Job.from_proto(response.job)

    def list_jobs(
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
        response = self.call(self.jobs.ListJobs, request)
        return JobPage([Job.from_proto(j) for j in response.jobs], response.next_page_token)

    def cancel_job(self, job_id: str) -> jobs_pb.CancelJobResponse:
        """Cancel a job that has not finished; final jobs are left as they are."""
        return self.call(self.jobs.CancelJob, jobs_pb.CancelJobRequest(job_id=job_id))

    def watch_job(self, job_id: str, timeout_s: float | None = None) -> Iterator[Job]:
        """Yield the job's record now and after each change, until a final state."""
        try:
            stream = self.jobs.WatchJob(
                jobs_pb.WatchJobRequest(job_id=job_id),
                metadata=self.config.metadata(),
                timeout=timeout_s,
            )
            for response in stream:
                yield Job.from_proto(response.job)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def wait_for(self, job_id: str, timeout_s: float | None = None) -> Job:
        """Block (over WatchJob, no polling) until the job is final and return it.
        Raises WaitTimeout when `timeout_s` passes first, NotFound for an unknown id."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            for job in self.watch_job(job_id, timeout_s=timeout_s):
                if job.is_final:
                    # Watch snapshots leave out errors and history; the final record has them.
                    return self.get_job(job_id)
        except ConnectionFailed:
            if deadline is not None and time.monotonic() >= deadline - 0.05:
                raise WaitTimeout(job_id, timeout_s or 0.0) from None
            raise
        raise ConnectionFailed(f"the watch of job {job_id} ended before it was final")

    def result(self, job_id: str, timeout_s: float | None = None) -> Any:
        """Block until the job is final and return its decoded result. Raises JobFailed
        (with its last error) when it died, JobCancelled, or WaitTimeout."""
        return outcome(self.wait_for(job_id, timeout_s))

    # -- admin -----------------------------------------------------------------

    def queue_stats(self) -> admin_pb.GetQueueStatsResponse:
        """Depth per priority and type, paused flags, and set sizes."""
        return self.call(self.admin.GetQueueStats, admin_pb.GetQueueStatsRequest())

    def pause_queue(self, priority: str | int) -> None:
        """Stop dispatch from one priority."""
        request = admin_pb.PauseQueueRequest(priority=priority_value(priority))  # type: ignore[arg-type]
        self.call(self.admin.PauseQueue, request)

    def resume_queue(self, priority: str | int) -> None:
        """Resume dispatch from a paused priority."""
        request = admin_pb.ResumeQueueRequest(priority=priority_value(priority))  # type: ignore[arg-type]
        self.call(self.admin.ResumeQueue, request)

    def list_dead_jobs(
        self, job_type: str = "", page_size: int = 0, page_token: str = ""
    ) -> JobPage:
        """One page of the dead letter queue, newest first."""
        request = admin_pb.ListDeadJobsRequest(
            type=job_type, page_size=page_size, page_token=page_token
        )
        response = self.call(self.admin.ListDeadJobs, request)
        return JobPage([Job.from_proto(j) for j in response.jobs], response.next_page_token)

    def requeue_dead_job(self, job_id: str) -> None:
        """Move one dead job back to its ready queue with attempts reset."""
        self.call(self.admin.RequeueDeadJob, admin_pb.RequeueDeadJobRequest(job_id=job_id))

    def requeue_dead_jobs(
        self, job_ids: Sequence[str] = (), job_type: str = "", all_jobs: bool = False
    ) -> int:
        """Requeue dead jobs by ids, by type, or all; return how many moved."""
        request = admin_pb.RequeueDeadJobsRequest(job_ids=job_ids, type=job_type, all=all_jobs)
        return self.call(self.admin.RequeueDeadJobs, request).requeued

    def purge_dead_jobs(self, job_type: str = "", older_than_s: float = 0.0) -> int:
        """Delete dead jobs (optionally of one type, or older than an age); return count."""
        request = admin_pb.PurgeDeadJobsRequest(type=job_type, older_than_s=older_than_s)
        return self.call(self.admin.PurgeDeadJobs, request).purged

    def list_workers(self) -> list[admin_pb.WorkerInfo]:
        """Workers seen recently."""
        return list(self.call(self.admin.ListWorkers, admin_pb.ListWorkersRequest()).workers)

    def list_job_types(self) -> list[admin_pb.JobTypeInfo]:
        """Job types the brokers know (registered by a worker, or with jobs waiting),
        with the defaults in force, live workers and ready depth of each."""
        return list(self.call(self.admin.ListJobTypes, admin_pb.ListJobTypesRequest()).types)

    def create_schedule(self, schedule: admin_pb.Schedule) -> admin_pb.Schedule:
        """Create or replace a cron schedule; return it with its next run time."""
        request = admin_pb.CreateScheduleRequest(schedule=schedule)
        return self.call(self.admin.CreateSchedule, request).schedule

    def list_schedules(self) -> list[admin_pb.Schedule]:
        """All schedules."""
        return list(self.call(self.admin.ListSchedules, admin_pb.ListSchedulesRequest()).schedules)

    def delete_schedule(self, name: str) -> None:
        """Remove a schedule. Raises NotFound for an unknown name."""
        self.call(self.admin.DeleteSchedule, admin_pb.DeleteScheduleRequest(name=name))

    def set_rate_limit(
        self, job_type: str, rate_per_s: float = 0.0, burst: int = 0, max_concurrency: int = 0
    ) -> admin_pb.RateLimit:
        """Set a job type's global rate and concurrency limits."""
        request = admin_pb.SetRateLimitRequest(
            type=job_type, rate_per_s=rate_per_s, burst=burst, max_concurrency=max_concurrency
        )
        return self.call(self.admin.SetRateLimit, request).rate_limit

    def list_rate_limits(self) -> list[admin_pb.RateLimit]:
        """All per-type limits."""
        request = admin_pb.ListRateLimitsRequest()
        return list(self.call(self.admin.ListRateLimits, request).rate_limits)

    def delete_rate_limit(self, job_type: str) -> None:
        """Remove a job type's limits."""
        self.call(self.admin.DeleteRateLimit, admin_pb.DeleteRateLimitRequest(type=job_type))

    def list_events(self, after_id: str = "", limit: int = 0) -> admin_pb.ListEventsResponse:
        """One page of the global events feed, oldest first: events after `after_id`
        (a previous page's `last_id`), or the newest `limit` (0: 100) when empty."""
        request = admin_pb.ListEventsRequest(after_id=after_id, limit=limit)
        return self.call(self.admin.ListEvents, request)


def is_final(job: Job | job_pb2.Job) -> bool:
    """True when the job is SUCCEEDED, DEAD or CANCELLED."""
    return job.state in FINAL_STATES
