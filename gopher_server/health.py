"""Health: the gRPC health service follows Redis reachability."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2

from gopher_server.components.base import PeriodicComponent

log = logging.getLogger(__name__)
SERVICES = ("", "gopher.v1.JobService", "gopher.v1.WorkerService", "gopher.v1.AdminService")


class HealthMonitor(PeriodicComponent):
    """Pings Redis each interval (through `ping`, the store's) and sets every service
    SERVING or NOT_SERVING."""

    name = "health"

    def __init__(
        self,
        ping: Callable[[], Awaitable[bool]],
        servicer: health_aio.HealthServicer,
        interval_s: float = 1.0,
    ) -> None:
        super().__init__(interval_s)
        self.ping = ping
        self.servicer = servicer
        self.serving: bool | None = None

    async def set_all(self, serving: bool, reason: str = "redis unreachable") -> None:
        """Publish one status for every service; `reason` is logged when not serving."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in SERVICES:
            await self.servicer.set(name, status)
        if serving != self.serving:
            log.log(
                logging.INFO if serving else logging.WARNING,
                "broker is %s",
                "serving" if serving else f"NOT serving: {reason}",
            )
        self.serving = serving

    async def _tick(self) -> bool:
        await self.set_all(await self.ping())
        return False
