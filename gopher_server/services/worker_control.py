"""AdminService/ControlWorker: quiet, stop or resume one worker, wherever it streams.

Mixed into `AdminService`, which owns the store, the settings and the hub. The desired
state is stored and announced (store/worker_control.py); the broker holding the
worker's stream stops leasing to it and tells the worker over the stream.
"""

from __future__ import annotations

from typing import Any

import grpc
from gopher.v1 import admin_service_pb2 as pb
from gopher.v1 import worker_service_pb2

from gopher_server.config import ServerConfig
from gopher_server.dispatch.hub import Hub
from gopher_server.errors import InvalidArgument, NotFound, WrongState
from gopher_server.status import unary
from gopher_server.store import worker_control
from gopher_server.store.store import Store
from gopher_server.validation import check_name

Context = grpc.aio.ServicerContext[Any, Any]

_TARGETS = {
    worker_service_pb2.WORKER_CONTROL_ACTION_QUIET: worker_control.QUIET,
    worker_service_pb2.WORKER_CONTROL_ACTION_STOP: worker_control.STOPPING,
    worker_service_pb2.WORKER_CONTROL_ACTION_RESUME: worker_control.RUNNING,
}
WORKER_STATES = {
    worker_control.RUNNING: pb.WORKER_STATE_RUNNING,
    worker_control.QUIET: pb.WORKER_STATE_QUIET,
    worker_control.STOPPING: pb.WORKER_STATE_STOPPING,
}


class WorkerControlActions:
    """The ControlWorker RPC; see its contract comment in admin_service.proto."""

    store: Store
    config: ServerConfig
    hub: Hub | None

    @unary
    async def ControlWorker(
        self, request: pb.ControlWorkerRequest, context: Context
    ) -> pb.ControlWorkerResponse:
        check_name(request.worker_id, "worker_id", "worker id")
        target = _TARGETS.get(request.action)
        if target is None:
            raise InvalidArgument("action must be QUIET, STOP or RESUME", "action")
        alive_ms = int(self.config.worker_alive_s * 1000)
        seen = await worker_control.presence(self.store, request.worker_id, alive_ms)
        if not seen.known:
            raise NotFound(
                f"worker {request.worker_id} is not known to the brokers "
                "(see ListWorkers for the workers seen recently)"
            )
        current = await worker_control.state_of(self.store, request.worker_id)
        if current == worker_control.STOPPING and target != current and seen.connected:
            # Its drain has begun: the worker exits whatever it is told now.
            raise WrongState(
                f"worker {request.worker_id} is stopping and exits once its running jobs "
                "are done; a stop cannot be undone"
            )
        if target != current:
            await worker_control.set_state(self.store, request.worker_id, target)
            if self.hub is not None:
                # This broker's own streams need not wait for the pub/sub echo.
                self.hub.control_worker(request.worker_id, target)
        return pb.ControlWorkerResponse(state=WORKER_STATES[target], connected=seen.connected)
