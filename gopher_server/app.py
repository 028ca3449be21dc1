"""The broker: wires the store, services and background components into one process.

Start order: Redis (bounded retry) -> pub/sub hub -> gRPC server -> background
components -> HTTP. Stop order: health NOT_SERVING -> close worker streams (without
releasing leases) -> gRPC server (grace period) -> components -> hub -> HTTP -> Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any, TypeAlias

import grpc
import redis.asyncio as aioredis
from gopher.v1 import admin_service_pb2_grpc, job_service_pb2_grpc, worker_service_pb2_grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gopher_server import __version__
from gopher_server.auth import auth_interceptor
from gopher_server.clock import Clock, SystemClock
from gopher_server.components.base import PeriodicComponent
from gopher_server.components.cron import CronScheduler
from gopher_server.components.janitor import Janitor
from gopher_server.components.promoter import Promoter
from gopher_server.components.recoverer import LeaseRecoverer
from gopher_server.components.type_catalog import TypeCatalog
from gopher_server.components.work_summary import WorkSummary
from gopher_server.config import ConfigError, ServerConfig, weighted_pattern
from gopher_server.dispatch.hub import Hub
from gopher_server.health import SERVICES, HealthMonitor
from gopher_server.inproc import LocalChannel, LocalServer
from gopher_server.observability.interceptor import MetricsInterceptor
from gopher_server.observability.metrics import BrokerMetrics
from gopher_server.observability.refresher import StatsRefresher
from gopher_server.ports import PortSpec, check_free, listen
from gopher_server.services.admin import AdminService
from gopher_server.services.jobs import JobService
from gopher_server.services.workers import WorkerService
from gopher_server.store.connection import RedisTls
from gopher_server.store.job_hash import PayloadChunking
from gopher_server.store.namespace import LayoutMismatch, Target, open_store
from gopher_server.store.store import StoreSettings
from gopher_server.tls import (
    TlsFiles,
    bind_grpc,
    grpc_tls,
    http_tls,
    uvicorn_options,
)

log = logging.getLogger(__name__)
Interceptor: TypeAlias = "grpc.aio.ServerInterceptor[Any, Any]"

# Server-side keepalive: ping idle connections so a worker that vanished without a FIN
# is noticed (its stream closes and its leases are released), and allow the clients'
# own frequent pings.
SERVER_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
    # Receiving is bounded by config.max_message_bytes (added in Broker.start).
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.so_reuseport", 0),
]


def store_settings(config: ServerConfig, chunking: PayloadChunking | None = None) -> StoreSettings:
    """Store policy from the broker configuration (and Redis' hash encoding limits,
    read at start; None means Redis' defaults)."""
    return StoreSettings(
        default_lease_ms=int(config.default_lease_s * 1000),
        finished_retention_ms=int(config.finished_retention_s * 1000),
        idempotency_ttl_ms=int(config.idempotency_ttl_s * 1000),
        backoff_base_ms=int(config.backoff_base_s * 1000),
        backoff_factor=config.backoff_factor,
        backoff_max_ms=int(config.backoff_max_s * 1000),
        priority_pattern=weighted_pattern(config.priority_weights),
        strict_priority=config.strict_priority,
        events_max_len=config.events_max_len,
        max_job_types=config.max_job_types,
        stream_fresh_ms=int(config.heartbeat_interval_s * 3000),
        chunking=chunking or PayloadChunking(),
    )


class Broker:
    """One broker process's moving parts. `start()` then `stop()`; `stop()` is safe
    before `start()` and safe twice."""

    def __init__(self, config: ServerConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.redis: aioredis.Redis | None = None
        self.server: grpc.aio.Server | None = None
        self.port: int = config.port
        self.http_port: int | None = None
        self.components: list[PeriodicComponent] = []
        self._hub: Hub | None = None
        self._workers: WorkerService | None = None
        self._jobs: JobService | None = None
        self._http: Any = None
        self._http_task: asyncio.Task[None] | None = None
        self._stopped = False
        self._http_tls: TlsFiles | None = None
        self._http_socket: socket.socket | None = None
        self.metrics = BrokerMetrics(version=__version__)

    @property
    def address(self) -> str:
        """host:port of the gRPC server."""
        return f"{self.config.host}:{self.port}"

    async def start(self) -> None:
        """Connect to Redis, serve gRPC, and start the background components."""
        cfg = self.config
        # Security settings first: a bad or unsafe one refuses to start before any work.
        auth = auth_interceptor(cfg, self.metrics.registry)
        grpc_files, self._http_tls = grpc_tls(cfg), http_tls(cfg)
        # Ports next, before Redis or anything else: a taken one is a one-line refusal.
        grpc_port = PortSpec("gRPC", cfg.host, cfg.port, "--port", "GOPHER_PORT")
        check_free(grpc_port)
        if cfg.http_port is not None:
            self._http_socket = listen(
                PortSpec("HTTP", cfg.http_host, cfg.http_port, "--http-port", "GOPHER_HTTP_PORT")
            )
        tls = RedisTls(cfg.redis_tls_ca_file, cfg.redis_tls_cert_file, cfg.redis_tls_key_file)
        where = Target(
            cfg.redis_url,
            cfg.prefix,
            cluster=cfg.redis_cluster,
            partitions=cfg.partitions,
            durable=cfg.durable_ack,
            attempts=cfg.redis_connect_attempts,
            tls=tls,
        )
        try:
            self.redis, self.store = await open_store(
                where, self.clock, lambda chunking: store_settings(cfg, chunking)
            )
        except (LayoutMismatch, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        self._hub = Hub.for_store(self.store)
        self.store.slots_freed = self._hub.wake_workers
        await self._hub.start()
        # Loaded before serving: the first submits already see the registered types.
        self.catalog = TypeCatalog(self.store, int(cfg.worker_alive_s * 1000), cfg.type_refresh_s)
        await self.catalog.refresh()
        self._hub.on_types_registered(self.catalog.refresh_soon)
        self.metrics.queues.live_types = lambda: self.catalog.view.workers
        self._workers = WorkerService(self.store, self._hub, cfg, self.metrics, self.catalog)
        # Metrics first, so calls the auth interceptor refuses are counted too.
        interceptors: list[Interceptor] = [MetricsInterceptor(self.metrics), auth]
        options = [*SERVER_OPTIONS, ("grpc.max_receive_message_length", cfg.max_message_bytes)]
        server = grpc.aio.server(options=options, interceptors=interceptors)
        # The same servicers and interceptors also answer in-process calls (the HTTP
        # port's REST shim and dashboard), without a loopback gRPC hop.
        self.local = LocalServer()
        jobs = JobService(self.store, self._hub, cfg, self.metrics, self.catalog, auth.limiter)
        self._jobs = jobs
        admin = AdminService(self.store, cfg, auth.tokens, self.catalog, self._hub)
        for target in (server, self.local):
            job_service_pb2_grpc.add_JobServiceServicer_to_server(jobs, target)
            worker_service_pb2_grpc.add_WorkerServiceServicer_to_server(self._workers, target)
            admin_service_pb2_grpc.add_AdminServiceServicer_to_server(admin, target)
        self.local_channel = LocalChannel(self.local, interceptors, cfg.max_message_bytes)
        self.health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            (*[s for s in SERVICES if s], "grpc.health.v1.Health", reflection.SERVICE_NAME), server
        )
        try:  # taken since check_free (a race): grpc raises RuntimeError or returns 0
            self.port = bind_grpc(server, f"{cfg.host}:{cfg.port}", grpc_files)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise grpc_port.unavailable("is already in use")
        await server.start()
        self.server = server
        monitor = HealthMonitor(self.store.ping, self.health)
        await monitor.set_all(True)
        self.components = [
            monitor,
            Promoter(self.store, cfg.promote_interval_s),
            LeaseRecoverer(self.store, cfg.recover_interval_s, self.metrics),
            StatsRefresher(self.store, self.metrics.queues, cfg.stats_interval_s),
            Janitor(
                self.store,
                cfg.janitor_interval_s,
                int(cfg.dead_retention_s * 1000),
                cfg.dead_max_jobs,
                cfg.finished_max_jobs,
            ),
            CronScheduler(self.store, catalog=self.catalog),
            self.catalog,
        ]
        if not self.store.single:
            self.components.append(WorkSummary(self.store, self._hub.wake_type))
        for component in self.components:
            component.start()
        if cfg.http_port is not None:
            await self._start_http()
        log.info("gopher broker serving gRPC on %s (redis %s)", self.address, cfg.redis_url)

    async def _start_http(self) -> None:
        import uvicorn

        from gopher_server.http import create_http_app

        app = create_http_app(self)
        config = uvicorn.Config(
            app,
            host=self.config.http_host,
            port=self.config.http_port or 0,
            log_level="warning",
            lifespan="on",
            **uvicorn_options(self._http_tls),
        )
        self._http = uvicorn.Server(config)
        self._http_task = asyncio.create_task(self._serve_http(), name="gopher-http")
        while not self._http.started:
            if self._http_task.done():
                self._http_task.result()
                raise OSError(f"HTTP server failed to start on port {self.config.http_port}")
            await asyncio.sleep(0.01)
        self.http_port = self._http.servers[0].sockets[0].getsockname()[1]
        log.info(
            "gopher HTTP (REST, metrics, health) on %s://%s:%d",
            "https" if self._http_tls else "http",
            self.config.http_host,
            self.http_port,
        )

    async def _serve_http(self) -> None:
        assert self._http is not None and self._http_socket is not None
        try:
            await self._http.serve(sockets=[self._http_socket])
        except SystemExit as exc:
            # uvicorn exits the process on a startup failure; inside a task that would
            # tear the event loop down under gRPC (a crash), so it becomes an error here.
            raise OSError(f"HTTP server failed to start (uvicorn exit {exc.code})") from None

    async def stop(self) -> None:
        """Shut down in the documented order, within the configured grace period."""
        if self._stopped:
            return
        self._stopped = True
        if self.components and isinstance(self.components[0], HealthMonitor):
            await self.components[0].stop()
            with contextlib.suppress(Exception):
                await self.components[0].set_all(False, reason="shutting down")
        if self._workers is not None:
            await self._workers.shutdown()
        if self._jobs is not None:
            self._jobs.shutdown()
        if self.server is not None:
            await self.server.stop(self.config.shutdown_grace_s)
        for component in self.components:
            await component.stop()
        if self._hub is not None:
            await self._hub.stop()
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._http_task, timeout=self.config.shutdown_grace_s)
        if self._http_socket is not None:
            self._http_socket.close()
        if self.redis is not None:
            await self.store.close()
            await self.redis.aclose()
        if self.server is not None:  # a start refused before serving stays one line
            log.info("gopher broker stopped")
