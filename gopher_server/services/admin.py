"""AdminService: queue stats, pausing, the DLQ, workers, schedules and rate limits."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from gopher.v1 import admin_service_pb2 as pb
from gopher.v1 import admin_service_pb2_grpc, job_pb2, worker_service_pb2

from gopher_server.auth.tokens import TokenTable
from gopher_server.components.type_catalog import TypeCatalog
from gopher_server.config import ServerConfig
from gopher_server.convert import PRIORITIES, job_message
from gopher_server.dispatch.hub import Hub
from gopher_server.errors import InvalidArgument, NotFound
from gopher_server.services import schedule_codec
from gopher_server.services.cluster_status import ClusterStatusActions
from gopher_server.services.events import list_events
from gopher_server.services.job_types import JobTypeActions
from gopher_server.services.jobs import page_size
from gopher_server.services.operator import OperatorActions
from gopher_server.services.worker_control import WORKER_STATES, WorkerControlActions
from gopher_server.status import unary
from gopher_server.store import admin, circuits, listing, schedules, worker_control
from gopher_server.store import workers as registry
from gopher_server.store.store import Store
from gopher_server.validation import check_name, priority_word

Context = grpc.aio.ServicerContext[Any, Any]
_CIRCUITS = {
    "open": worker_service_pb2.CIRCUIT_STATE_OPEN,
    "half_open": worker_service_pb2.CIRCUIT_STATE_HALF_OPEN,
}

# Largest age a purge filter accepts: a century, far past any retention.
MAX_AGE_S = 100 * 365 * 24 * 3600


def _ts(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


class AdminService(
    OperatorActions,
    ClusterStatusActions,
    JobTypeActions,
    WorkerControlActions,
    admin_service_pb2_grpc.AdminServiceServicer,
):
    """Thin servicer over the store's admin operations. `tokens` is the broker's token
    table (None when auth is off), for GetCaller; `catalog` the broker's job type view
    (None: a private one, for a bare service in tests); `hub` this broker's dispatch
    hub, so that ControlWorker reaches local streams without the pub/sub round trip."""

    def __init__(
        self,
        store: Store,
        config: ServerConfig,
        tokens: TokenTable | None = None,
        catalog: TypeCatalog | None = None,
        hub: Hub | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.tokens = tokens
        self.catalog = catalog or TypeCatalog(store, int(config.worker_alive_s * 1000))
        self.hub = hub

    @unary
    async def GetQueueStats(
        self, request: pb.GetQueueStatsRequest, context: Context
    ) -> pb.GetQueueStatsResponse:
        stats = await admin.queue_stats(self.store)
        return pb.GetQueueStatsResponse(
            queues=[
                pb.QueueStats(
                    priority=PRIORITIES[q.priority],
                    depth=q.depth,
                    depth_by_type=q.by_type,
                    paused=q.paused,
                    oldest_job_age_s=q.oldest_age_ms / 1000,
                )
                for q in stats.queues
            ],
            scheduled=stats.scheduled,
            retrying=stats.retrying,
            active=stats.active,
            dead=stats.dead,
            finished=stats.finished,
            finished_last_minute=stats.finished_last_minute,
            dead_last_minute=stats.dead_last_minute,
        )

    @unary
    async def PauseQueue(
        self, request: pb.PauseQueueRequest, context: Context
    ) -> pb.PauseQueueResponse:
        await admin.set_paused(self.store, priority_word(request.priority, allow_unset=False), True)
        return pb.PauseQueueResponse()

    @unary
    async def ResumeQueue(
        self, request: pb.ResumeQueueRequest, context: Context
    ) -> pb.ResumeQueueResponse:
        await admin.set_paused(
            self.store, priority_word(request.priority, allow_unset=False), False
        )
        return pb.ResumeQueueResponse()

    @unary
    async def ListDeadJobs(
        self, request: pb.ListDeadJobsRequest, context: Context
    ) -> pb.ListDeadJobsResponse:
        if request.type:
            check_name(request.type, "type")
        try:
            records, token = await listing.list_jobs(
                self.store,
                state="dead",
                job_type=request.type,
                page_size=page_size(request.page_size),
                page_token=request.page_token,
                error_contains=request.error_contains,
            )
        except listing.BadPageToken as exc:
            raise InvalidArgument(str(exc), "page_token") from None
        full = await self.store.get_jobs([r.id for r in records], with_history=True)
        return pb.ListDeadJobsResponse(jobs=[job_message(r) for r in full], next_page_token=token)

    @unary
    async def RequeueDeadJob(
        self, request: pb.RequeueDeadJobRequest, context: Context
    ) -> pb.RequeueDeadJobResponse:
        if not request.job_id:
            raise InvalidArgument("job_id is required", "job_id")
        if await self.store.requeue_dead([request.job_id]) == 0:
            raise NotFound(f"job {request.job_id} is not in the dead letter queue")
        return pb.RequeueDeadJobResponse(state=job_pb2.JOB_STATE_ENQUEUED)

    @unary
    async def RequeueDeadJobs(
        self, request: pb.RequeueDeadJobsRequest, context: Context
    ) -> pb.RequeueDeadJobsResponse:
        if request.type:
            check_name(request.type, "type")
        if request.job_ids:
            ids = list(request.job_ids)
        elif request.type or request.error_contains:
            ids = await admin.dead_ids(
                self.store, request.type, error_contains=request.error_contains
            )
        elif request.all:
            ids = await admin.dead_ids(self.store)
        else:
            raise InvalidArgument("give job_ids, type, or all=true", "all")
        return pb.RequeueDeadJobsResponse(requeued=await admin.requeue_dead(self.store, ids))

    @unary
    async def PurgeDeadJobs(
        self, request: pb.PurgeDeadJobsRequest, context: Context
    ) -> pb.PurgeDeadJobsResponse:
        if request.type:
            check_name(request.type, "type")
        if not 0 <= request.older_than_s <= MAX_AGE_S:  # also refuses NaN and infinity
            raise InvalidArgument(
                f"older_than_s must be between 0 and {MAX_AGE_S} seconds", "older_than_s"
            )
        ids = await admin.dead_ids(
            self.store, request.type, int(request.older_than_s * 1000), request.error_contains
        )
        if request.job_ids:
            chosen = set(request.job_ids)
            ids = [i for i in ids if i in chosen]
        return pb.PurgeDeadJobsResponse(purged=await admin.purge_dead(self.store, ids))

    @unary
    async def ListWorkers(
        self, request: pb.ListWorkersRequest, context: Context
    ) -> pb.ListWorkersResponse:
        found = await registry.list_workers(self.store, int(self.config.worker_alive_s * 1000))
        open_circuits = await circuits.by_worker(self.store)
        controlled = await worker_control.all_states(self.store)
        return pb.ListWorkersResponse(
            workers=[
                pb.WorkerInfo(
                    worker_id=w.worker_id,
                    hostname=w.hostname,
                    pid=w.pid,
                    job_types=w.job_types,
                    capacity=w.capacity,
                    in_flight=w.in_flight,
                    last_heartbeat=_ts(w.last_heartbeat_ms),
                    connected_at=_ts(w.connected_ms),
                    streams=w.streams,
                    circuits={
                        t: _CIRCUITS[s] for t, s in open_circuits.get(w.worker_id, {}).items()
                    },
                    state=WORKER_STATES[controlled.get(w.worker_id, worker_control.RUNNING)],
                )
                for w in found
            ]
        )

    # -- schedules -----------------------------------------------------------------
    async def _schedule(self, name: str, definition: dict[str, Any]) -> pb.Schedule:
        return await schedule_codec.message(self.store, name, definition)

    async def _existing(self, name: str) -> dict[str, Any]:
        check_name(name, "name", "schedule name")
        definition = await schedules.get(self.store, name)
        if definition is None:
            raise NotFound(f"schedule {name} not found")
        return definition

    @unary
    async def CreateSchedule(
        self, request: pb.CreateScheduleRequest, context: Context
    ) -> pb.CreateScheduleResponse:
        s = request.schedule
        definition = schedule_codec.definition(s, self.config)
        await schedules.put(self.store, s.name, definition)
        return pb.CreateScheduleResponse(schedule=await self._schedule(s.name, definition))

    @unary
    async def ListSchedules(
        self, request: pb.ListSchedulesRequest, context: Context
    ) -> pb.ListSchedulesResponse:
        found = await schedules.all_schedules(self.store)
        return pb.ListSchedulesResponse(
            schedules=[await self._schedule(n, d) for n, d in found.items()]
        )

    @unary
    async def GetSchedule(
        self, request: pb.GetScheduleRequest, context: Context
    ) -> pb.GetScheduleResponse:
        definition = await self._existing(request.name)
        return pb.GetScheduleResponse(schedule=await self._schedule(request.name, definition))

    @unary
    async def DeleteSchedule(
        self, request: pb.DeleteScheduleRequest, context: Context
    ) -> pb.DeleteScheduleResponse:
        await self._existing(request.name)
        await schedules.delete(self.store, request.name)
        return pb.DeleteScheduleResponse()

    async def _set_paused(self, name: str, paused: bool) -> pb.Schedule:
        definition = await self._existing(name)
        definition["paused"] = paused
        # Storing starts the schedule afresh: a resumed one fires for no tick that
        # passed while it was paused.
        await schedules.put(self.store, name, definition)
        return await self._schedule(name, definition)

    @unary
    async def PauseSchedule(
        self, request: pb.PauseScheduleRequest, context: Context
    ) -> pb.PauseScheduleResponse:
        return pb.PauseScheduleResponse(schedule=await self._set_paused(request.name, True))

    @unary
    async def ResumeSchedule(
        self, request: pb.ResumeScheduleRequest, context: Context
    ) -> pb.ResumeScheduleResponse:
        return pb.ResumeScheduleResponse(schedule=await self._set_paused(request.name, False))

    @unary
    async def TriggerSchedule(
        self, request: pb.TriggerScheduleRequest, context: Context
    ) -> pb.TriggerScheduleResponse:
        d = await self._existing(request.name)
        job = schedule_codec.template_job(d, "", self.catalog.view.defaults)
        (result,) = await self.store.submit([job])
        return pb.TriggerScheduleResponse(job_id=result.job_id)

    # -- rate limits ------------------------------------------------------------------
    @unary
    async def SetRateLimit(
        self, request: pb.SetRateLimitRequest, context: Context
    ) -> pb.SetRateLimitResponse:
        check_name(request.type, "type")
        if not 0 <= request.rate_per_s <= 1_000_000:
            raise InvalidArgument("rate_per_s must be between 0 and 1000000", "rate_per_s")
        if request.burst < 0:
            raise InvalidArgument("burst must not be negative", "burst")
        if request.max_concurrency < 0:
            raise InvalidArgument("max_concurrency must not be negative", "max_concurrency")
        await admin.set_rate_limit(
            self.store, request.type, request.rate_per_s, request.burst, request.max_concurrency
        )
        limits = await admin.get_rate_limits(self.store)
        return pb.SetRateLimitResponse(rate_limit=self._limit(request.type, limits[request.type]))

    @staticmethod
    def _limit(job_type: str, value: dict[str, float]) -> pb.RateLimit:
        return pb.RateLimit(
            type=job_type,
            rate_per_s=value["r"],
            burst=int(value["b"]),
            max_concurrency=int(value["c"]),
        )

    @unary
    async def ListRateLimits(
        self, request: pb.ListRateLimitsRequest, context: Context
    ) -> pb.ListRateLimitsResponse:
        limits = await admin.get_rate_limits(self.store)
        return pb.ListRateLimitsResponse(rate_limits=[self._limit(t, v) for t, v in limits.items()])

    @unary
    async def DeleteRateLimit(
        self, request: pb.DeleteRateLimitRequest, context: Context
    ) -> pb.DeleteRateLimitResponse:
        check_name(request.type, "type")
        if not await admin.delete_rate_limit(self.store, request.type):
            raise NotFound(f"job type {request.type} has no rate limit")
        return pb.DeleteRateLimitResponse()

    # -- events feed --------------------------------------------------------------------
    @unary
    async def ListEvents(
        self, request: pb.ListEventsRequest, context: Context
    ) -> pb.ListEventsResponse:
        return await list_events(self.store, request)
