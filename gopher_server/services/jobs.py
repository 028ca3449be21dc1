"""JobService: submit, inspect, cancel and watch jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from gopher.v1 import job_pb2, job_service_pb2, job_service_pb2_grpc

from gopher_server.auth.rate import SubmitRateLimiter
from gopher_server.components.type_catalog import (
    TypeCatalog,
    job_tree_types,
    unknown_type_warnings,
)
from gopher_server.config import ServerConfig
from gopher_server.convert import FINAL, STATE_WORDS, STATES, group_message, job_message
from gopher_server.dispatch.hub import Hub
from gopher_server.dispatch.session import StreamSession
from gopher_server.dispatch.streamer import hand_over, target_of
from gopher_server.errors import InvalidArgument, NotFound, TooLarge
from gopher_server.observability.metrics import BrokerMetrics
from gopher_server.observability.trace_parent import call_trace
from gopher_server.services.operator import check_id_prefix
from gopher_server.services.submit_stream import SubmitStream
from gopher_server.status import abort, unary
from gopher_server.store import groups, listing
from gopher_server.store.records import NewJob, SubmitResult
from gopher_server.store.store import Store
from gopher_server.validation import check_name, priority_word, submit_to_group, submit_to_job

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
# A watch re-reads the job at least this often, in case a pub/sub message was lost
# (e.g. across a Redis restart).
WATCH_RESYNC_S = 5.0


def _response(
    result: SubmitResult, warnings: list[str] | None = None
) -> job_service_pb2.SubmitJobResponse:
    response = job_service_pb2.SubmitJobResponse(
        job_id=result.job_id, status=STATES[result.state], warnings=warnings
    )
    if result.duplicate:  # absent otherwise: the documented answer has two keys
        response.duplicate = True
    return response


def page_size(value: int) -> int:
    """Validated page size: 0 means 50; at most 1000."""
    if value == 0:
        return 50
    if not 1 <= value <= 1000:
        raise InvalidArgument("page_size must be between 1 and 1000", "page_size")
    return value


class JobService(job_service_pb2_grpc.JobServiceServicer):
    """Thin servicer: validate, call the store, convert."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        config: ServerConfig,
        metrics: BrokerMetrics,
        catalog: TypeCatalog | None = None,
        limiter: SubmitRateLimiter | None = None,
    ) -> None:
        self.store = store
        self.limiter = limiter  # None: no submit rate limit (SubmitJobStream's own)
        self.stopping = asyncio.Event()  # set by shutdown(): submit streams end
        self.hub = hub
        self.config = config
        self.metrics = metrics
        # No catalog given (a test's bare service): no defaults, every type unknown.
        self.catalog = catalog or TypeCatalog(store, int(config.worker_alive_s * 1000))
        self._message_metrics: dict[str, tuple[Any, Any]] = {}  # status -> (count, latency)
        self._submitted_children: dict[tuple[str, str], Any] = {}

    def shutdown(self) -> None:
        """End every SubmitJobStream once the requests it read are answered (before the
        gRPC server stops, which would otherwise wait out its grace for them)."""
        self.stopping.set()

    def _warnings(self, job: NewJob) -> list[str]:
        view = self.catalog.view
        if job.type in view.known and not job.on_success and not job.on_failure:
            return []  # the common case, without building sets
        return unknown_type_warnings(view, job_tree_types(job))

    def _count_submits(self, jobs: list[NewJob], results: list[SubmitResult]) -> None:
        debug = log.isEnabledFor(logging.DEBUG)
        for job, result in zip(jobs, results, strict=True):
            if not result.duplicate:
                self._submitted(job.type, job.priority).inc()
            if debug:
                log.debug(
                    "job %s (%s) submitted: %s%s",
                    result.job_id,
                    job.type,
                    result.state,
                    " (duplicate)" if result.duplicate else "",
                    extra={"job_id": result.job_id, "type": job.type, "state": result.state},
                )

    def _submitted(self, job_type: str, priority: str) -> Any:
        # The counter's child per (type label, priority): labels() costs a lock and a
        # lookup per call; type labels are capped, so this stays small.
        key = (self.metrics.type_label(job_type), priority)
        child = self._submitted_children.get(key)
        if child is None:
            child = self._submitted_children[key] = self.metrics.submitted.labels(*key)
        return child

    @unary
    async def SubmitJob(
        self, request: job_service_pb2.SubmitJobRequest, context: Context
    ) -> job_service_pb2.SubmitJobResponse:
        return await self.submit_one(request, call_trace(context))

    async def SubmitJobStream(
        self,
        request_iterator: AsyncIterator[job_service_pb2.SubmitJobStreamRequest],
        context: Context,
    ) -> None:
        # A coroutine, not an async generator: grpc.aio then lets the handler write its
        # answers itself (context.write), as each submit finishes.
        stream = SubmitStream(self.submit_one, self.limiter, self._record_message, self.stopping)
        await stream.serve(request_iterator, context)

    def _record_message(self, code: str, took_s: float) -> None:
        # Each stream message counts as a request in gopher_grpc_requests_total (and its
        # latency), so submits stay visible per message, not once per stream. labels()
        # takes a lock and a lookup per call; the children never change, so keep them.
        children = self._message_metrics.get(code)
        if children is None:
            m = self.metrics
            children = (
                m.rpc_requests.labels("SubmitJobStream", code),
                m.rpc_latency.labels("SubmitJobStream"),
            )
            self._message_metrics[code] = children
        children[0].inc()
        children[1].observe(took_s)

    async def submit_one(
        self, request: job_service_pb2.SubmitJobRequest, trace: str
    ) -> job_service_pb2.SubmitJobResponse:
        """SubmitJob's work, shared with SubmitJobStream: validate, write, hand off.
        `trace` is the stored parent for a request without trace_context. Raises the
        domain errors `unary` maps to statuses."""
        now_ms = self.store.clock.now_ms()
        view = self.catalog.view
        job = submit_to_job(request, self.config, now_ms, call_trace=trace, defaults=view.defaults)
        stream = self.hub.waiting_session(job.type) if job.run_at_ms <= now_ms else None
        if stream is None:
            (result,) = await self.store.submit([job])
            taken = False
        else:
            result, taken = await self._submit_to(stream, job)
        if result.state == "enqueued" and not taken and self.hub.wake_type(job.type):
            # Let the woken streams issue their dispatch before grpc sends this
            # response: the dispatch's Redis round trip then overlaps the send instead
            # of waiting behind it (idle submit->start p50 1.84 -> 1.71 ms here).
            await asyncio.sleep(0)
        self._count_submits([job], [result])
        return _response(result, self._warnings(job))

    async def _submit_to(self, stream: StreamSession, job: NewJob) -> tuple[SubmitResult, bool]:
        """Submit `job` and, in the same Redis call, dispatch to `stream`, which was
        parked with free slots: an idle worker gets the job without the dispatch
        round trip. True when this job was among the leases."""
        (result,), dispatched = await self.store.submit_and_dispatch([job], target_of(stream))
        if not await hand_over(self.store, self.metrics, stream, dispatched):
            return result, False
        await asyncio.sleep(0)  # the stream writes them before grpc sends our response
        return result, any(x.job_id == result.job_id for x in dispatched.leases)

    @unary
    async def SubmitGroup(
        self, request: job_service_pb2.SubmitGroupRequest, context: Context
    ) -> job_service_pb2.SubmitGroupResponse:
        now_ms = self.store.clock.now_ms()
        group = submit_to_group(
            request, self.config, now_ms, call_trace(context), self.catalog.view.defaults
        )
        result = await self.store.submit_group(group)
        if not result.duplicate:
            self._count_submits(list(group.members), result.members)
            for job_type in {job.type for job in group.members}:
                self.hub.wake_type(job_type)
        if result.duplicate:  # the earlier group's answer, whose members may differ
            response = job_service_pb2.SubmitGroupResponse(
                group_id=result.group_id, members=[_response(r) for r in result.members]
            )
            response.duplicate = True
            return response
        types: set[str] = set()
        for job in (*group.members, *group.on_complete, *group.on_success, *group.on_failure):
            types |= job_tree_types(job)
        return job_service_pb2.SubmitGroupResponse(
            group_id=result.group_id,
            members=[
                _response(r, self._warnings(job))
                for r, job in zip(result.members, group.members, strict=True)
            ],
            warnings=unknown_type_warnings(self.catalog.view, types),
        )
        return response

    @unary
    async def GetGroup(
        self, request: job_service_pb2.GetGroupRequest, context: Context
    ) -> job_service_pb2.GetGroupResponse:
        if not request.group_id:
            raise InvalidArgument("group_id is required", "group_id")
        record = await groups.get_group(self.store, request.group_id)
        if record is None:
            raise NotFound(f"group {request.group_id} not found")
        return job_service_pb2.GetGroupResponse(group=group_message(record))

    @unary
    async def SubmitJobs(
        self, request: job_service_pb2.SubmitJobsRequest, context: Context
    ) -> job_service_pb2.SubmitJobsResponse:
        if not request.jobs:
            raise InvalidArgument("jobs must hold at least one job", "jobs")
        if len(request.jobs) > self.config.max_batch:
            raise TooLarge(
                f"jobs holds {len(request.jobs)} jobs; the batch limit is {self.config.max_batch}",
                "jobs",
            )
        now, trace = self.store.clock.now_ms(), call_trace(context)
        defaults = self.catalog.view.defaults
        jobs = [
            submit_to_job(
                r, self.config, now, field=f"jobs[{i}].", call_trace=trace, defaults=defaults
            )
            for i, r in enumerate(request.jobs)
        ]
        results = await self.store.submit(jobs)
        self._count_submits(jobs, results)
        return job_service_pb2.SubmitJobsResponse(
            results=[_response(r, self._warnings(j)) for r, j in zip(results, jobs, strict=True)]
        )

    async def _record(self, job_id: str, with_history: bool = True) -> job_pb2.Job:
        if not job_id:
            raise InvalidArgument("job_id is required", "job_id")
        record = await self.store.get_job(job_id, with_history=with_history)
        if record is None:
            raise NotFound(f"job {job_id} not found")
        return job_message(record, with_history=with_history)

    @unary
    async def GetJob(
        self, request: job_service_pb2.GetJobRequest, context: Context
    ) -> job_service_pb2.GetJobResponse:
        return job_service_pb2.GetJobResponse(job=await self._record(request.job_id))

    @unary
    async def ListJobs(
        self, request: job_service_pb2.ListJobsRequest, context: Context
    ) -> job_service_pb2.ListJobsResponse:
        if request.state and request.state not in STATE_WORDS:
            raise InvalidArgument(f"state {request.state} is not a job state", "state")
        if request.type:
            check_name(request.type, "type")
        priority = priority_word(request.priority) if request.priority else ""
        try:
            records, token = await listing.list_jobs(
                self.store,
                state=STATE_WORDS.get(request.state, ""),
                job_type=request.type,
                priority=priority,
                page_size=page_size(request.page_size),
                page_token=request.page_token,
                id_prefix=check_id_prefix(request.id_prefix),
            )
        except listing.BadPageToken as exc:
            raise InvalidArgument(str(exc), "page_token") from None
        return job_service_pb2.ListJobsResponse(
            jobs=[job_message(r, with_history=False) for r in records], next_page_token=token
        )

    @unary
    async def CancelJob(
        self, request: job_service_pb2.CancelJobRequest, context: Context
    ) -> job_service_pb2.CancelJobResponse:
        if not request.job_id:
            raise InvalidArgument("job_id is required", "job_id")
        state, cancelled = await self.store.cancel(request.job_id)
        if state == "missing":
            raise NotFound(f"job {request.job_id} not found")
        if cancelled:
            record = await self.store.get_job(request.job_id, with_history=False)
            self.metrics.outcome(record.type if record else "", "cancelled")
        return job_service_pb2.CancelJobResponse(state=STATES[state], cancelled=cancelled)

    async def WatchJob(
        self, request: job_service_pb2.WatchJobRequest, context: Context
    ) -> AsyncIterator[job_service_pb2.WatchJobResponse]:
        queue = await self.hub.watch(request.job_id)
        try:
            # Subscribed first, marked next, read last: no transition falls between.
            if request.job_id:
                await self.store.watch_job(request.job_id)
            last_state = -1
            while True:
                try:
                    job = await self._record(request.job_id, with_history=False)
                except (InvalidArgument, NotFound) as error:
                    await abort(context, error)
                if job.state != last_state:
                    last_state = job.state
                    yield job_service_pb2.WatchJobResponse(job=job)
                if STATE_WORDS.get(job.state) in FINAL:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(queue.get(), timeout=WATCH_RESYNC_S)
        finally:
            await self.hub.unwatch(request.job_id, queue)
