"""WorkerService: deliver jobs over StreamJobs (see dispatch/streamer.py) and take
outcomes with fencing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
from gopher.v1 import worker_service_pb2, worker_service_pb2_grpc

from gopher_server.components.type_catalog import TypeCatalog
from gopher_server.config import ServerConfig
from gopher_server.convert import STATES
from gopher_server.dispatch.hub import Hub
from gopher_server.dispatch.session import StreamSession
from gopher_server.dispatch.streamer import MAX_CAPACITY, Streamer, hand_over, target_of
from gopher_server.errors import InvalidArgument, NotFound, StaleLease, TooLarge
from gopher_server.observability.metrics import BrokerMetrics
from gopher_server.status import unary
from gopher_server.store import circuits
from gopher_server.store import workers as registry
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from gopher_server.validation import check_name

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
MAX_TRACEBACK_BYTES = 8192
_CIRCUIT_STATES = {
    worker_service_pb2.CIRCUIT_STATE_CLOSED: "closed",
    worker_service_pb2.CIRCUIT_STATE_OPEN: "open",
    worker_service_pb2.CIRCUIT_STATE_HALF_OPEN: "half_open",
}
_OUTCOMES = {
    "ok": worker_service_pb2.OUTCOME_CODE_OK,
    "stale": worker_service_pb2.OUTCOME_CODE_STALE_LEASE,
    "missing": worker_service_pb2.OUTCOME_CODE_NOT_FOUND,
}


def _outcome(job_id: str, code: str, deadline_ms: int = 0) -> worker_service_pb2.Outcome:
    if code in STATES:  # nack answers with the new state
        return worker_service_pb2.Outcome(
            job_id=job_id,
            code=worker_service_pb2.OUTCOME_CODE_OK,
            state=STATES[code],
        )
    message = {"stale": "lease token is stale or unknown", "missing": "job not found"}.get(code, "")
    return worker_service_pb2.Outcome(
        job_id=job_id,
        code=_OUTCOMES[code],
        message=message,
        lease_deadline_unix_ms=deadline_ms,
    )


def _raise_for(job_id: str, code: str) -> None:
    if code == "stale":
        raise StaleLease(f"lease token for job {job_id} is stale or unknown; nothing changed")
    if code == "missing":
        raise NotFound(f"job {job_id} not found")


class WorkerService(worker_service_pb2_grpc.WorkerServiceServicer):
    """Streams jobs to workers and applies their acks, nacks and extensions."""

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
        self.streamer = Streamer(store, hub, config, metrics, catalog)

    async def StreamJobs(
        self, request: worker_service_pb2.StreamJobsRequest, context: Context
    ) -> AsyncIterator[worker_service_pb2.StreamJobsResponse]:
        async for response in self.streamer.serve(request, context):
            yield response

    async def shutdown(self) -> None:
        """End every stream without releasing leases (see Streamer.shutdown)."""
        await self.streamer.shutdown()

    def _check_batch(self, items: Sequence[Any], field: str) -> None:
        if len(items) > self.config.max_batch:
            raise TooLarge(
                f"{field} holds {len(items)} items; the limit is {self.config.max_batch}", field
            )

    def _count_nacks(self, results: list[tuple[str, str]], items: Sequence[NackItem]) -> None:
        for (code, job_type), item in zip(results, items, strict=True):
            log.debug(
                "job %s (%s) nacked: %s",
                item.job_id,
                job_type,
                code,
                extra={"job_id": item.job_id, "type": job_type, "state": code},
            )
            if code in ("retrying", "dead") and not item.handback:
                self.metrics.outcome(job_type, "failed")
                self.metrics.outcome(job_type, "retried" if code == "retrying" else "dead")

    def _count_acks(self, results: list[tuple[str, str]]) -> None:
        for code, job_type in results:
            if code != "ok":
                log.debug("ack refused: %s (%s)", code, job_type)
            if code == "ok":
                self.metrics.outcome(job_type, "succeeded")

    @unary
    async def ReportCircuit(
        self, request: worker_service_pb2.ReportCircuitRequest, context: Context
    ) -> worker_service_pb2.ReportCircuitResponse:
        check_name(request.worker_id, "worker_id", "worker id")
        check_name(request.job_type, "job_type")
        state = _CIRCUIT_STATES.get(request.state)
        if state is None:
            raise InvalidArgument("state must be closed, open or half_open", "state")
        await circuits.report(
            self.store, request.worker_id, request.job_type, state, request.hold_until_unix_ms
        )
        log.info("worker %s reports circuit %s %s", request.worker_id, request.job_type, state)
        # A closed circuit may let waiting work through: wake this worker's streams.
        self.hub.wake_worker(request.worker_id)
        return worker_service_pb2.ReportCircuitResponse()

    # -- outcomes ------------------------------------------------------------------
    def _ack_items(
        self, acks: Sequence[worker_service_pb2.AckJobRequest]
    ) -> list[tuple[str, int, str]]:
        limit = self.config.max_payload_bytes
        items = []
        for ack in acks:
            if len(ack.result_json.encode()) > limit:
                raise TooLarge(
                    f"result_json of job {ack.job_id} is over {limit} bytes", "result_json"
                )
            items.append((ack.job_id, ack.lease_token, ack.result_json or "null"))
        return items

    @unary
    async def AckJob(
        self, request: worker_service_pb2.AckJobRequest, context: Context
    ) -> worker_service_pb2.AckJobResponse:
        results = await self.store.ack_detailed(self._ack_items([request]))
        self._count_acks(results)
        ((code, _),) = results
        _raise_for(request.job_id, code)
        return worker_service_pb2.AckJobResponse()

    @unary
    async def AckJobs(
        self, request: worker_service_pb2.AckJobsRequest, context: Context
    ) -> worker_service_pb2.AckJobsResponse:
        self._check_batch(request.acks, "acks")
        if not 0 <= request.capacity <= MAX_CAPACITY:
            raise InvalidArgument(
                f"capacity must be between 1 and {MAX_CAPACITY}, or 0 to leave it as it is",
                "capacity",
            )
        items = self._ack_items(request.acks)
        stream = self.hub.stream_of(request.worker_id) if request.worker_id else None
        if stream is not None and request.capacity and request.capacity != stream.capacity:
            # Before the acks, so their refill fills the new capacity.
            await self._resize(stream, request.capacity)
        if not items:
            results = []
        elif stream is None:
            results = await self.store.ack_detailed(items)
        elif self.store.single:
            # Refill the freed slots in the same call and write the new leases to the
            # worker's stream: no wake-up and dispatch round trip per batch of acks.
            results, dispatched = await self.store.ack_and_dispatch(items, target_of(stream))
            await hand_over(self.store, self.metrics, stream, dispatched)
        else:
            # With several partitions the refill is a dispatch of its own anyway
            # (store/spread.py): the stream's loop runs it, so the worker's next acks
            # need not wait on it. Run here, a refill waiting on one slow or stalled
            # master held up every later ack and refill of the worker.
            results = await self.store.ack_for_worker(items, request.worker_id)
            self.hub.wake_worker(request.worker_id)
        self._count_acks(results)
        codes = [code for code, _ in results]
        return worker_service_pb2.AckJobsResponse(
            outcomes=[_outcome(a.job_id, c) for a, c in zip(request.acks, codes, strict=True)]
        )

    async def _resize(self, stream: StreamSession, capacity: int) -> None:
        """A worker's new capacity (its adaptive prefetch), on its stream here."""
        log.info(
            "worker %s stream %s capacity %d -> %d",
            stream.worker_id,
            stream.session_id,
            stream.capacity,
            capacity,
        )
        stream.capacity = capacity
        await registry.set_capacity(self.store, stream.worker_id, capacity)
        stream.wake.set()  # room for more: the stream's loop dispatches into it

    def _nack_item(self, nack: worker_service_pb2.NackJobRequest) -> NackItem:
        retry_after_ms = None
        if nack.HasField("retry_after_s"):
            if not 0 <= nack.retry_after_s <= 365 * 24 * 3600:
                raise InvalidArgument(
                    "retry_after_s must be between 0 and one year", "retry_after_s"
                )
            retry_after_ms = int(nack.retry_after_s * 1000)
        return NackItem(
            job_id=nack.job_id,
            token=nack.lease_token,
            error_type=nack.error_type[:200] or "Error",
            message=nack.error_message[:2000],
            traceback=nack.traceback.encode()[-MAX_TRACEBACK_BYTES:].decode(errors="ignore"),
            non_retryable=nack.non_retryable,
            retry_after_ms=retry_after_ms,
            handback=nack.handback,
            draining=nack.draining,
        )

    @unary
    async def NackJob(
        self, request: worker_service_pb2.NackJobRequest, context: Context
    ) -> worker_service_pb2.NackJobResponse:
        items = [self._nack_item(request)]
        results = await self.store.nack_detailed(items)
        self._count_nacks(results, items)
        ((code, _),) = results
        _raise_for(request.job_id, code)
        return worker_service_pb2.NackJobResponse(state=STATES[code])

    @unary
    async def NackJobs(
        self, request: worker_service_pb2.NackJobsRequest, context: Context
    ) -> worker_service_pb2.NackJobsResponse:
        self._check_batch(request.nacks, "nacks")
        items = [self._nack_item(n) for n in request.nacks]
        results = await self.store.nack_detailed(items) if items else []
        self._count_nacks(results, items)
        codes = [code for code, _ in results]
        return worker_service_pb2.NackJobsResponse(
            outcomes=[_outcome(n.job_id, c) for n, c in zip(request.nacks, codes, strict=True)]
        )

    def _extend_items(
        self, leases: Sequence[worker_service_pb2.ExtendLeaseRequest]
    ) -> list[tuple[str, int, int]]:
        items = []
        for lease in leases:
            if not 0 <= lease.extend_by_s <= 24 * 3600:
                raise InvalidArgument("extend_by_s must be between 0 and 86400", "extend_by_s")
            items.append((lease.job_id, lease.lease_token, int(lease.extend_by_s * 1000)))
        return items

    @unary
    async def ExtendLease(
        self, request: worker_service_pb2.ExtendLeaseRequest, context: Context
    ) -> worker_service_pb2.ExtendLeaseResponse:
        ((code, deadline),) = await self.store.extend(self._extend_items([request]))
        _raise_for(request.job_id, code)
        return worker_service_pb2.ExtendLeaseResponse(lease_deadline_unix_ms=deadline)

    @unary
    async def ExtendLeases(
        self, request: worker_service_pb2.ExtendLeasesRequest, context: Context
    ) -> worker_service_pb2.ExtendLeasesResponse:
        self._check_batch(request.leases, "leases")
        results = (
            await self.store.extend(self._extend_items(request.leases)) if request.leases else []
        )
        return worker_service_pb2.ExtendLeasesResponse(
            outcomes=[
                _outcome(lease.job_id, code, deadline)
                for lease, (code, deadline) in zip(request.leases, results, strict=True)
            ]
        )
