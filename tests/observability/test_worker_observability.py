"""Worker metrics and health endpoints, and end-to-end trace propagation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gopher_client import AsyncClient
from gopher_server.store.keys import Keys
from gopher_worker import Job, Registry, Worker
from tests.observability.test_broker_metrics import samples
from tests.support import BrokerThread, until


async def test_worker_serves_metrics_and_health(broker: BrokerThread) -> None:
    registry = Registry()

    @registry.handler("ok")
    async def ok(job: Job) -> None:
        await asyncio.sleep(0.01)

    @registry.handler("bad")
    async def bad(job: Job) -> None:
        raise ValueError("x")

    worker = Worker(registry, broker.address, concurrency=3, metrics_port=0)
    await worker.start()
    try:
        await asyncio.wait_for(worker.connected.wait(), 10)
        assert worker._status is not None
        base = f"http://127.0.0.1:{worker._status.port}"
        async with AsyncClient(broker.address) as client, httpx.AsyncClient() as http:
            assert (await http.get(f"{base}/healthz")).status_code == 200
            assert (await http.get(f"{base}/readyz")).status_code == 200
            ids = [await client.submit_job("ok", {}) for _ in range(4)]
            ids.append(await client.submit_job("bad", {}, retries=0))
            for job_id in ids:
                await asyncio.wait_for(client.wait_for(job_id), 10)
            m = samples((await http.get(f"{base}/metrics")).text)
    finally:
        await worker.drain(1)
    assert m[("gopher_jobs_completed_total", (("outcome", "succeeded"), ("type", "ok")))] == 4
    assert m[("gopher_jobs_completed_total", (("outcome", "failed"), ("type", "bad")))] == 1
    assert m[("gopher_job_duration_seconds_count", (("type", "ok"),))] == 4
    assert m[("gopher_job_duration_seconds_sum", (("type", "ok"),))] >= 0.04
    assert m[("gopher_worker_slots", (("state", "idle"),))] == 3
    assert m[("gopher_worker_connected", ())] == 1


async def test_handler_span_is_child_of_submit_span(broker: BrokerThread) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    registry = Registry()
    follow_ups: list[str] = []

    @registry.handler("parent")
    async def parent(job: Job) -> None:
        async with AsyncClient(broker.address) as client:  # a follow-up job from the handler
            follow_ups.append(await client.submit_job("child", {}))

    @registry.handler("child")
    async def child(job: Job) -> None:
        return None

    worker = Worker(registry, broker.address, concurrency=2, tracer_provider=provider)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            with tracer.start_as_current_span("submit") as submit_span:
                job_id = await client.submit_job("parent", {})
            await asyncio.wait_for(client.wait_for(job_id), 10)
            await asyncio.wait_for(client.wait_for(follow_ups[0]), 10)
    finally:
        await worker.drain(1)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    handler, follow = spans["gopher.job parent"], spans["gopher.job child"]
    submit_ctx = submit_span.get_span_context()
    assert handler.context.trace_id == submit_ctx.trace_id
    assert handler.parent is not None and handler.parent.span_id == submit_ctx.span_id
    assert follow.context.trace_id == submit_ctx.trace_id
    assert follow.parent is not None and follow.parent.span_id == handler.context.span_id
    assert handler.kind == trace.SpanKind.CONSUMER
    assert handler.attributes is not None and handler.attributes["gopher.job.id"] == job_id


async def test_worker_is_ready_as_soon_as_its_stream_opens(
    broker_factory: Callable[..., BrokerThread], aredis: aioredis.Redis
) -> None:
    # No job and no heartbeat for a minute: nothing but the stream's opening can make
    # the worker ready within the wait below.
    broker = broker_factory(heartbeat_interval_s=60)
    registry = Registry()

    @registry.handler("ok")
    async def ok(job: Job) -> None:
        return None

    worker = Worker(registry, broker.address, metrics_port=0)
    await worker.start()
    try:
        assert worker._status is not None
        readyz = f"http://127.0.0.1:{worker._status.port}/readyz"
        async with httpx.AsyncClient() as http:

            async def stream_open() -> bool:
                return bool(await aredis.hlen(Keys().worker_streams(worker.worker_id)))

            async def ready() -> bool:
                return (await http.get(readyz)).status_code == 200

            await until(stream_open, 10, "the worker's stream registered")
            # The wait is a timeout, not a speed claim: 503 lasted the heartbeat before.
            await until(ready, 5, "/readyz 200")
    finally:
        await worker.drain(1)
