"""The worker runtime: one delivery stream, bounded concurrency, batched outcomes,
automatic lease extension, reconnects, and graceful drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gopher.v1 import worker_service_pb2 as pb

from gopher_client import AsyncClient, ConnectionFailed
from gopher_client._tracing import tracing_enabled
from gopher_worker._breaker import BreakerPolicy, CircuitBreaker
from gopher_worker._circuit_reporter import CircuitReporter
from gopher_worker._clock import Clock, SystemClock
from gopher_worker._execution import Outcome, failure, run_handler
from gopher_worker._hooks import CANCELLED, FAILED, HANDED_BACK, SUCCEEDED, Hooks, JobHook
from gopher_worker._http import StatusServer
from gopher_worker._job import Job
from gopher_worker._leases import LeaseKeeper
from gopher_worker._metrics import WorkerMetrics
from gopher_worker._outcomes import OutcomeBatcher
from gopher_worker._prefetch import MAX_CAPACITY, Prefetch
from gopher_worker._receiver import receive_jobs
from gopher_worker._registry import Registry
from gopher_worker._running import Running as _Running
from gopher_worker._running import placeholder as _placeholder
from gopher_worker._tracing import TracingHook

log = logging.getLogger(__name__)
# How long a draining worker keeps its stream open after its last handback, to catch
# jobs already on the wire (dispatch and write are milliseconds apart on the broker).
DRAIN_SETTLE_S = 0.3


class Worker:
    """Runs jobs from a broker with the handlers of a registry.

    `server` may list several brokers ("h1:50051,h2:50051"); the worker reconnects to
    whichever answers. `concurrency` bounds jobs run at once (the broker never sends
    more). `grace_s` is how long a drain waits for running handlers.
    """

    def __init__(
        self,
        registry: Registry,
        server: str | None = None,
        *,
        concurrency: int = 16,
        prefetch: int | None = None,
        worker_id: str | None = None,
        grace_s: float = 30.0,
        token: str | None = None,
        client_config: Mapping[str, Any] | None = None,
        metrics_port: int | None = None,
        hooks: Sequence[JobHook] = (),
        tracer_provider: Any = None,
        breaker: BreakerPolicy | None = BreakerPolicy(),  # noqa: B008 - frozen, shared safely
        clock: Clock | None = None,
    ) -> None:
        if not registry.job_types:
            raise ValueError("the registry has no handlers")
        if not 1 <= concurrency <= 10_000:
            raise ValueError("concurrency must be between 1 and 10000")
        if prefetch is not None and (
            not 1 <= prefetch <= 100 or concurrency * prefetch > MAX_CAPACITY
        ):
            raise ValueError(
                "prefetch must be between 1 and 100 (and concurrency x prefetch <= 10000)"
            )
        self.registry = registry
        self.server = server
        self.concurrency = concurrency
        # The broker may lease up to concurrency x prefetch jobs; only `concurrency` run
        # at once. A prefetched job hides the ack -> dispatch round trip at the cost of
        # waiting here instead of on another worker. None (the default) adapts it to the
        # handlers' times (_prefetch.py); 1 means no buffer.
        self.prefetch = Prefetch(concurrency, prefetch)
        self._slots = asyncio.Semaphore(concurrency)
        self.busy = 0
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.grace_s = grace_s
        self.token = token
        # Compared with the broker's lease deadlines (see _clock.py).
        self.clock: Clock = clock or SystemClock()
        self.running: dict[str, _Running] = {}
        self.completed = 0
        self.failed = 0
        self.connected = asyncio.Event()
        # Set once the worker has stopped (after a drain, or at once by stop()).
        self.done = asyncio.Event()
        self._draining = False
        # Quieted by an operator (ControlWorker): take no new jobs, finish running ones.
        self._quiet = False
        self._stop_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gopher-job")
        self._client: AsyncClient | None = None
        self._outcomes: OutcomeBatcher | None = None
        self._leases = LeaseKeeper(self.running, self.clock, self._extend_leases, self._lease_lost)
        self._client_config = dict(client_config or {})
        if token:
            self._client_config["token"] = token
        self.metrics = WorkerMetrics(lambda: self.busy, concurrency, self.connected.is_set)
        policies: list[JobHook] = [self.metrics]
        self._circuits: CircuitReporter | None = None
        # Hold times go to the broker, so they are read from the same clock as leases.
        self.breaker = (
            CircuitBreaker(breaker, self._on_circuit, lambda: self.clock.now_ms() / 1000)
            if breaker is not None
            else None
        )
        if self.breaker is not None:
            policies.append(self.breaker)
            self.metrics.registry.register(self.breaker)
        if tracer_provider is not None or tracing_enabled():
            policies.append(TracingHook(tracer_provider))
        self.hooks = Hooks([*policies, *hooks])
        self._status = (
            StatusServer(self.metrics.registry, self.connected.is_set, metrics_port)
            if metrics_port is not None
            else None
        )

    @property
    def client(self) -> AsyncClient | None:
        """The broker client while the worker runs, else None."""
        return self._client

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        """Connect and start receiving jobs."""
        target = self.server or os.environ.get("GOPHER_SERVER", "127.0.0.1:50051")
        if "," in target:
            target = "ipv4:" + target
        self._client = AsyncClient(target, **self._client_config)
        if self._status is not None:
            await self._status.start()
        self._outcomes = OutcomeBatcher(self._client, self.worker_id, self.clock)
        if self.prefetch.adaptive:
            self._outcomes.capacity = self.prefetch.capacity
        self._outcomes.start()
        client = self._client
        self._circuits = CircuitReporter(
            lambda request: client.call(client.workers.ReportCircuit, request), self.worker_id
        )
        self._circuits.start()
        self._tasks = [
            asyncio.create_task(
                receive_jobs(
                    self._client.stream_jobs,
                    self._stream_request(),
                    self.on_response,
                    self.connected,
                ),
                name="gopher-stream",
            ),
            asyncio.create_task(self._leases.run(), name="gopher-leases"),
        ]
        log.info(
            "worker %s started: types %s, concurrency %d",
            self.worker_id,
            ",".join(self.registry.job_types),
            self.concurrency,
        )

    async def drain(self, grace_s: float | None = None) -> None:
        """Stop taking jobs, let running handlers finish within the grace period, and
        hand back (without burning an attempt) whatever did not finish.

        The stream stays open until the end: closing it would make the broker release
        (and re-run) jobs still running here. Jobs that arrive meanwhile are handed
        back at once; the first handback makes the broker stop sending more.
        """
        if self._client is None:
            return
        if self._draining:  # already draining (a signal during a stop, say): wait for it
            await self.done.wait()
            return
        self._draining = True
        grace = self.grace_s if grace_s is None else grace_s
        log.info(
            "worker %s draining (%d running, grace %.0fs)", self.worker_id, len(self.running), grace
        )
        for run in list(self.running.values()):
            if not run.running:  # prefetched, not started: give it back now
                if run.task is not None:
                    run.task.cancel()
                self._handback(run, draining=True)
        pending = [r.task for r in self.running.values() if r.task is not None]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        unfinished = list(self.running.values())
        for run in unfinished:
            if run.task is not None and not run.task.done():
                run.task.cancel()
        for run in unfinished:
            if run.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await run.task
        for run in list(self.running.values()):
            self._handback(run, draining=True)
        assert self._outcomes is not None
        await self._outcomes.flush(timeout_s=10)
        # A job the broker sent just before it saw a handback may still be on the wire;
        # closing the stream now would make the broker release it as a lost attempt.
        # Wait a moment, hand back whatever arrived, then close.
        await asyncio.sleep(DRAIN_SETTLE_S)
        await self._outcomes.flush(timeout_s=10)
        await self.stop()

    async def stop(self) -> None:
        """Close everything at once (no drain). Safe before start and twice."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for run in self.running.values():
            if run.task is not None:
                run.task.cancel()
        if self._outcomes is not None:
            await self._outcomes.stop()
        if self._circuits is not None:
            await self._circuits.stop()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._status is not None:
            await self._status.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.done.set()

    @property
    def state(self) -> str:
        """ "running", "quiet" (an operator's ControlWorker) or "stopping" (draining,
        after a stop or a signal)."""
        if self._draining:
            return "stopping"
        return "quiet" if self._quiet else "running"

    # -- receiving ----------------------------------------------------------------
    def _stream_request(self) -> pb.StreamJobsRequest:
        # Who this worker is, what it runs, and its types' defaults (see _registry.py).
        return pb.StreamJobsRequest(
            worker_id=self.worker_id,
            job_types=self.registry.job_types,
            capacity=self.prefetch.capacity,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            type_defaults=self.registry.type_defaults(),
        )

    def on_response(self, response: pb.StreamJobsResponse) -> None:
        """Act on one stream message: an operator's instruction, then its jobs, then
        cancelled ones."""
        if response.HasField("control"):
            self._on_control(response.control.action)
        # Deliveries first: a cancellation may concern a job in this same message.
        self._start_jobs(response)
        for job_id in response.cancelled_job_ids:
            run = self.running.get(job_id)
            if run is not None and run.task is not None:
                run.cancelled = True
                run.task.cancel()
                if not run.running:  # still waiting for a slot: its handler never starts
                    self.metrics.dropped.labels("cancelled").inc()
                log.info("job %s cancelled by the broker", job_id)

    def _on_control(self, action: int) -> None:
        # QUIET and STOP give back prefetched jobs that have not started: they would
        # otherwise wait here while other workers could run them. Running ones finish.
        if action == pb.WORKER_CONTROL_ACTION_QUIET and not self._quiet:
            self._quiet = True
            log.info("worker %s quiet: finishing %d job(s)", self.worker_id, self.busy)
            for run in list(self.running.values()):
                if not run.running:
                    if run.task is not None:
                        run.task.cancel()
                    self._handback(run, draining=False)
        elif action == pb.WORKER_CONTROL_ACTION_RESUME and self._quiet:
            self._quiet = False
            log.info("worker %s resumed", self.worker_id)
        elif action == pb.WORKER_CONTROL_ACTION_STOP and self._stop_task is None:
            log.info("worker %s told to stop: draining, then exiting", self.worker_id)
            self._quiet = True
            # The same graceful drain as SIGTERM; `done` is set when it is over.
            self._stop_task = asyncio.create_task(self.drain(), name="gopher-stop")

    def _start_jobs(self, response: pb.StreamJobsResponse) -> None:
        for lease in response.jobs:
            run = _Running(lease, lease.lease_deadline_unix_ms)
            self.running[lease.job_id] = run
            if self._draining:
                # Give it back unrun at once; the broker then holds further jobs.
                self._handback(run, draining=True)
            elif self._quiet:
                # Leased before the broker heard of the quiet: give it back unrun.
                self._handback(run, draining=False)
            elif self.breaker is not None and not self.breaker.admit(lease.type):
                # Raced with an open circuit: give it back unrun, no attempt consumed.
                self._handback(run, draining=False)
            else:
                run.task = asyncio.create_task(
                    self._execute(run), name=f"gopher-job-{lease.job_id}"
                )

    # -- running --------------------------------------------------------------------
    async def _execute(self, run: _Running) -> None:
        lease = run.lease
        try:
            job = Job.from_lease(lease)
        except Exception as exc:  # a payload that is not a JSON object cannot run, ever
            self._report(run, failure(_placeholder(lease), exc, non_retryable=True))
            return
        try:
            async with self._slots:
                if self._draining:
                    return  # prefetched but never started: drain() hands it back
                if run.deadline_ms <= self.clock.now_ms():
                    self._drop_expired(run)
                    return
                run.running = True
                self.busy += 1
                try:
                    await self._run(run, job)
                finally:
                    self.busy -= 1
        except asyncio.CancelledError:
            if run.cancelled:
                self.running.pop(lease.job_id, None)  # its slot is free on the broker
            elif not self._draining:
                raise

    async def _run(self, run: _Running, job: Job) -> None:
        lease = run.lease
        handler = self.registry.get(lease.type)
        self.hooks.start(job)
        started = time.perf_counter()
        try:
            if handler is None:  # the broker only routes registered types; be safe anyway
                raise RuntimeError(f"no handler for job type {lease.type}")
            timeout_s = lease.timeout_s or handler.timeout_s
            outcome = await run_handler(handler, job, timeout_s, self._pool)
        except asyncio.CancelledError:
            if not run.cancelled and not self._draining:
                raise
            # Cancelled: the broker already settled it. Drain: handed back by drain().
            ended = CANCELLED if run.cancelled else HANDED_BACK
            self.hooks.finish(job, ended, time.perf_counter() - started)
            raise
        except Exception as exc:
            outcome = failure(job, exc, non_retryable=True)
        ended = SUCCEEDED if outcome.ack is not None else FAILED
        took_s = time.perf_counter() - started
        self.hooks.finish(job, ended, took_s, outcome.error)
        if self.prefetch.observe(took_s):
            self._resize()
        self._report(run, outcome)

    def _resize(self) -> None:
        """The adaptive prefetch changed: the next acks tell the broker."""
        log.info(
            "worker %s prefetch %d per slot (handlers take %.1f ms on average): capacity %d",
            self.worker_id,
            self.prefetch.per_slot,
            1000 * (self.prefetch.mean_s or 0.0),
            self.prefetch.capacity,
        )
        if self._outcomes is not None:
            self._outcomes.capacity = self.prefetch.capacity

    def _drop_expired(self, run: _Running) -> None:
        # The lease ran out before a slot was free, or while this process was stopped
        # with the delivery unread: the broker has taken the job back (it may already
        # have run elsewhere), so running it now would run it twice, and no outcome
        # would be accepted. Nothing to report.
        self.running.pop(run.lease.job_id, None)
        self.metrics.dropped.labels("expired").inc()
        log.warning(
            "job %s (%s) attempt %d dropped unstarted: its lease expired %d ms ago",
            run.lease.job_id,
            run.lease.type,
            run.lease.attempt,
            self.clock.now_ms() - run.deadline_ms,
            extra={"job_id": run.lease.job_id, "type": run.lease.type},
        )

    def _report(self, run: _Running, outcome: Outcome) -> None:
        self.running.pop(run.lease.job_id, None)
        assert self._outcomes is not None
        if outcome.ack is not None:
            self.completed += 1
            self._outcomes.ack(outcome.ack, run.deadline_ms)
        elif outcome.nack is not None:
            self.failed += 1
            log.warning(
                "job %s (%s) attempt %d failed: %s: %s",
                run.lease.job_id,
                run.lease.type,
                run.lease.attempt,
                outcome.nack.error_type,
                outcome.nack.error_message,
                extra={
                    "job_id": run.lease.job_id,
                    "type": run.lease.type,
                    "attempt": run.lease.attempt,
                },
            )
            self._outcomes.nack(outcome.nack, run.deadline_ms)

    async def _extend_leases(self, requests: Sequence[pb.ExtendLeaseRequest]) -> list[pb.Outcome]:
        if self._client is None:  # stopped between passes; the next pass never comes
            raise ConnectionFailed("the worker is stopped")
        return await self._client.extend_leases(requests)

    def _lease_lost(self, run: _Running, reason: str) -> None:
        # The broker took the job back (it may run elsewhere): stop the handler, or
        # never start it, and report nothing.
        self.running.pop(run.lease.job_id, None)
        if run.task is None or run.task.done():
            return
        if run.running:
            log.warning("lease of job %s lost (%s); stopping its handler", run.lease.job_id, reason)
        else:  # still waiting for a slot: it never starts
            self.metrics.dropped.labels("expired").inc()
            log.warning(
                "job %s dropped unstarted: its lease was lost (%s)", run.lease.job_id, reason
            )
        run.cancelled = True
        run.task.cancel()

    def _on_circuit(self, job_type: str, state: str, hold_until_ms: int) -> None:
        if self._circuits is not None:
            self._circuits.report(job_type, state, hold_until_ms)

    def _handback(self, run: _Running, draining: bool) -> None:
        self.running.pop(run.lease.job_id, None)
        if run.cancelled:
            return
        assert self._outcomes is not None
        nack = pb.NackJobRequest(
            job_id=run.lease.job_id,
            lease_token=run.lease.lease_token,
            handback=True,
            draining=draining,
        )
        self._outcomes.nack(nack, run.deadline_ms)
