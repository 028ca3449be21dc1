"""The delivery stream: open StreamJobs, hand each message to the worker, and
reconnect with backoff (to whichever listed broker answers) when it breaks."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING

import grpc
from gopher.v1 import worker_service_pb2 as pb

if TYPE_CHECKING:
    from gopher_worker._worker import Worker

log = logging.getLogger(__name__)
RECONNECT_MAX_S = 5.0


async def receive_jobs(worker: Worker) -> None:
    """Run the stream forever; only cancellation ends it."""
    client = worker.client
    assert client is not None
    delay = 0.1
    request = pb.StreamJobsRequest(
        worker_id=worker.worker_id,
        job_types=worker.registry.job_types,
        capacity=worker.concurrency * worker.prefetch,
        hostname=socket.gethostname(),
        pid=os.getpid(),
        type_defaults=worker.registry.type_defaults(),
    )
    while True:
        call = client.stream_jobs(request)
        try:
            async for response in call:
                worker.connected.set()
                delay = 0.1
                worker.on_response(response)
            log.info("broker closed the stream; reconnecting")
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                log.error("broker refused the worker: %s", exc.details())
            else:
                log.warning(
                    "stream to broker lost (%s); reconnecting in %.1fs", exc.code().name, delay
                )
        finally:
            worker.connected.clear()
            call.cancel()
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_S)
