"""StreamJobs: push jobs to a worker while it has free slots, and clean up after it.

One `Streamer` per broker. Each open stream is a StreamSession woken by the hub when
something may have changed for it; the loop leases jobs with one script call per batch
and writes them as one message. Other calls may lease for a stream too, in their own
script (a submit's hand-off to a parked stream, an ack's refill of the slots it freed);
`hand_over` gives it those leases and the loop writes them without a dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import redis.exceptions
from gopher.v1 import worker_service_pb2

from gopher_server.components.type_catalog import TypeCatalog
from gopher_server.config import ServerConfig
from gopher_server.convert import leased_job
from gopher_server.dispatch.hub import Hub
from gopher_server.dispatch.session import StreamSession
from gopher_server.errors import InvalidArgument, TooLarge
from gopher_server.observability.metrics import BrokerMetrics
from gopher_server.outage import RedisOutage
from gopher_server.status import abort
from gopher_server.store import job_types, worker_control
from gopher_server.store import workers as registry
from gopher_server.store.records import DispatchResult, DispatchTarget, NackItem
from gopher_server.store.store import Store
from gopher_server.type_defaults import stream_defaults
from gopher_server.validation import check_name

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
MAX_CAPACITY = 10_000


class Streamer:
    """Serves every StreamJobs call of one broker."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        config: ServerConfig,
        metrics: BrokerMetrics,
        catalog: TypeCatalog | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.config = config
        self.metrics = metrics
        self.catalog = catalog or TypeCatalog(store, int(config.worker_alive_s * 1000))
        self.closing = False
        self._releases: set[asyncio.Task[None]] = set()
        # Shared by every stream: an outage logs once per broker, not once per stream.
        self._outage = RedisOutage("dispatch", log)

    async def serve(
        self, request: worker_service_pb2.StreamJobsRequest, context: Context
    ) -> AsyncIterator[worker_service_pb2.StreamJobsResponse]:
        """The StreamJobs call: validate, register, deliver until the worker or the
        broker ends it, then release what the worker was given (unless shutting down)."""
        try:
            check_name(request.worker_id, "worker_id", "worker id")
            if not request.job_types:
                raise InvalidArgument("job_types must name at least one job type", "job_types")
            for i, job_type in enumerate(request.job_types):
                check_name(job_type, f"job_types[{i}]")
            if not 1 <= request.capacity <= MAX_CAPACITY:
                raise InvalidArgument(f"capacity must be between 1 and {MAX_CAPACITY}", "capacity")
            defaults = stream_defaults(request.type_defaults, request.job_types)
            # Counted and added with no await between, so racing opens cannot both pass.
            limit = self.config.max_streams_per_worker
            if sum(s.worker_id == request.worker_id for s in self.hub.sessions()) >= limit:
                raise TooLarge(f"worker {request.worker_id} already has {limit} open streams")
        except (InvalidArgument, TooLarge) as error:
            await abort(context, error)
        session = StreamSession(request.worker_id, sorted(set(request.job_types)), request.capacity)
        # A cancelled call (the worker closed the stream) is only noticed by grpc on the
        # next write; wake the loop at once so it ends and releases the leases.
        context.add_done_callback(lambda _: session.wake.set())  # type: ignore[arg-type]
        self.hub.add(session)
        self.metrics.streams.inc()
        log.info(
            "worker %s stream %s opened (%s, capacity %d)",
            session.worker_id,
            session.session_id,
            ",".join(session.job_types),
            session.capacity,
        )
        try:
            await registry.register_stream(
                self.store,
                session.worker_id,
                session.session_id,
                hostname=request.hostname,
                pid=request.pid,
                job_types=session.job_types,
                capacity=session.capacity,
            )
            await job_types.register(self.store, session.worker_id, session.job_types, defaults)
            self.catalog.stream_opened(session.worker_id, session.job_types, defaults)
            # The worker may have been quieted or stopped while it was away (or through
            # a broker that has since gone): it is told in its first message.
            await self._load_control(session)
            # An empty first message says the stream is open and registered: the worker
            # turns ready now rather than at the first job or heartbeat.
            yield worker_service_pb2.StreamJobsResponse(control=take_control(session))
            async for response in self._deliver(session, context):
                yield response
        finally:
            session.closed = True  # hand-offs from now on are given back by their caller
            self.hub.remove(session)
            self.metrics.streams.dec()
            if not self.closing:
                # The worker went away: its jobs must not wait for lease expiry. Run the
                # release as its own task so the call's cancellation cannot cut it short.
                task = asyncio.create_task(self._release(session))
                self._releases.add(task)
                task.add_done_callback(self._releases.discard)

    async def _deliver(
        self, session: StreamSession, context: Context
    ) -> AsyncIterator[worker_service_pb2.StreamJobsResponse]:
        loop = asyncio.get_running_loop()
        heartbeat_s = self.config.heartbeat_interval_s
        next_beat = loop.time() + heartbeat_s
        while not self.closing and not context.done():
            session.wake.clear()
            wait_s = heartbeat_s
            try:
                if loop.time() >= next_beat:
                    # An empty message doubles as a liveness probe: grpc notices that a
                    # worker closed its stream only when the broker writes to it.
                    yield worker_service_pb2.StreamJobsResponse()
                    await registry.heartbeat(self.store, [(session.worker_id, session.session_id)])
                    # Control messages are hints like wake-ups: one lost while the hub
                    # was disconnected is made good from the stored state here.
                    await self._load_control(session)
                    next_beat = loop.time() + heartbeat_s
                if session.control != session.control_sent:
                    yield worker_service_pb2.StreamJobsResponse(control=take_control(session))
                handed = session.take_handed()
                if not session.takes_jobs and not handed:
                    # Quiet or stopping: no new leases, but cancellations still go out.
                    result = DispatchResult([], 0, 0)
                elif handed:
                    # A submit leased these to this stream in its own call (a hand-off),
                    # up to the free slots: no dispatch needed this turn.
                    result = DispatchResult(handed, 0, 0)
                else:
                    session.retry_at = None  # this dispatch finds out afresh
                    result = await self.store.dispatch(
                        session.worker_id, session.session_id, session.capacity, session.job_types
                    )
                    self._outage.back()
                    count_dispatch(self.metrics, self.store.clock.now_ms(), result)
                cancels = session.take_cancellations()
                if result.leases or cancels:
                    session.undelivered = [(x.job_id, x.token) for x in result.leases]
                    yield worker_service_pb2.StreamJobsResponse(
                        jobs=[leased_job(lease) for lease in result.leases],
                        cancelled_job_ids=cancels,
                    )
                    if context.done():
                        return  # the worker was already gone: keep `undelivered`
                    session.undelivered = []
                    if result.leases and not handed and not result.filled:
                        # There may be more work and free slots. Not when the dispatch
                        # filled every slot: with several partitions that look costs a
                        # read of the worker's count in every partition, and the ack
                        # that frees a slot wakes this stream anyway.
                        continue
                if result.wait_ms:
                    wait_s = min(wait_s, result.wait_ms / 1000)
                if session.retry_at is not None:
                    # A hand-off or refill found a type held back: without this, the
                    # stream would next look at the heartbeat, starving a rate limit.
                    wait_s = min(wait_s, max(0.0, session.retry_at - loop.time()))
                # Parked with nothing leased and nothing held back: free slots, so a
                # submit may hand new work to this stream directly.
                session.waiting = (
                    session.takes_jobs
                    and not result.leases
                    and not result.wait_ms
                    and session.retry_at is None
                )
            except (
                redis.exceptions.ConnectionError,
                redis.exceptions.TimeoutError,
                redis.exceptions.ClusterDownError,  # a cluster shard failing over
            ) as exc:
                # Keep the stream open through a Redis outage; dispatch resumes when it is back.
                self._outage.lost(exc)
                wait_s = 0.5
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s) as parked:  # no extra task, unlike wait_for
                    session.parked = parked
                    await session.wake.wait()
            session.parked = None
            session.waiting = False

    async def _release(self, session: StreamSession) -> None:
        for attempt in range(20):
            try:
                session.undelivered += [(x.job_id, x.token) for x in session.take_handed()]
                if session.undelivered:
                    back = [NackItem(j, t, handback=True) for j, t in session.undelivered]
                    await self.store.nack(back)
                    session.undelivered = []
                released = await self.store.release(session.worker_id, session.session_id)
                self.metrics.leases_released.inc(len(released))
                await registry.unregister_stream(self.store, session.worker_id, session.session_id)
                if session.control == worker_control.STOPPING:
                    await worker_control.stop_done(self.store, session.worker_id)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                # Leases still expire on their own if Redis stays away; retry a while.
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
                continue
            log.info(
                "worker %s stream %s closed; released %d job(s)",
                session.worker_id,
                session.session_id,
                len(released),
            )
            return

    async def _load_control(self, session: StreamSession) -> None:
        """Adopt the worker's stored control state, unless the hub applied a change
        while it was being read (that change is newer)."""
        changes = session.control_changes
        stored = await worker_control.state_of(self.store, session.worker_id)
        if session.control_changes == changes and stored != session.control:
            session.control = stored

    async def shutdown(self) -> None:
        """End every stream without releasing leases: workers reconnect to another
        broker and answer with the tokens they hold."""
        self.closing = True
        self.hub.wake_all()
        if self._releases:
            await asyncio.wait(self._releases, timeout=self.config.shutdown_grace_s)


def count_dispatch(metrics: BrokerMetrics, now_ms: int, result: DispatchResult) -> None:
    """Count what one dispatch leased (and held back) in the broker's metrics."""
    m = metrics
    if result.leases and log.isEnabledFor(logging.DEBUG):
        for lease in result.leases:
            log.debug(
                "job %s (%s) active: attempt %d",
                lease.job_id,
                lease.type,
                lease.attempt,
                extra={"job_id": lease.job_id, "type": lease.type, "attempt": lease.attempt},
            )
    for lease in result.leases:
        label = m.type_label(lease.type)
        m.dispatched.labels(label).inc()
        m.wait.labels(label, lease.priority).observe(max(0, now_ms - lease.ready_ms) / 1000)
    for job_type in result.limited_types:
        m.rate_limited.labels(m.type_label(job_type)).inc()


_ACTIONS = {
    worker_control.RUNNING: worker_service_pb2.WORKER_CONTROL_ACTION_RESUME,
    worker_control.QUIET: worker_service_pb2.WORKER_CONTROL_ACTION_QUIET,
    worker_control.STOPPING: worker_service_pb2.WORKER_CONTROL_ACTION_STOP,
}


def take_control(session: StreamSession) -> worker_service_pb2.WorkerControl | None:
    """The instruction to send the worker when its control state changed since the
    last one it was told (a stream starts as running, so nothing for that), else None."""
    if session.control == session.control_sent:
        return None
    session.control_sent = session.control
    return worker_service_pb2.WorkerControl(action=_ACTIONS[session.control])


def target_of(stream: StreamSession) -> DispatchTarget:
    """The dispatch arguments of a stream, for a call that dispatches on its behalf."""
    return DispatchTarget(
        stream.worker_id, stream.session_id, stream.capacity, tuple(stream.job_types)
    )


async def hand_over(
    store: Store, metrics: BrokerMetrics, stream: StreamSession, result: DispatchResult
) -> bool:
    """Count the dispatch another call made for `stream` (a submit's hand-off, an ack's
    refill) and give it the leases; True when it took them. A stream that closed
    meanwhile never showed them to its worker, so they go back without costing an
    attempt."""
    count_dispatch(metrics, store.clock.now_ms(), result)
    if not result.leases:
        # Nothing to give, but maybe when to look again (a rate-limited type's next token).
        stream.hand([], result.wait_ms)
        return False
    if stream.hand(result.leases, result.wait_ms):
        return True
    await store.nack([NackItem(x.job_id, x.token, handback=True) for x in result.leases])
    return False
