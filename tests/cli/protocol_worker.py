"""A minimal worker that speaks the real WorkerService contract, for CLI tests.

It lets a test decide exactly how each job ends (succeed with a result, or fail for good)
without timing games: every outcome is an AckJob or NackJob on the real broker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as worker_pb

from gopher_client import Client


@dataclass(frozen=True)
class Succeed:
    """Ack the job with this JSON-serialisable result."""

    result: Any = None


@dataclass(frozen=True)
class Fail:
    """Nack the job; non-retryable sends it straight to the dead letter queue."""

    error_type: str = "ValueError"
    message: str = "boom"
    non_retryable: bool = True
    retry_after_s: float | None = None


Outcome = Succeed | Fail
Handler = Callable[[job_pb2.LeasedJob], Outcome]


class ProtocolWorker:
    """Serves `job_types` from the broker at `address` in a background thread.

    `handler` decides each job's outcome from its LeasedJob. `start()` returns once the
    broker registered the stream (its first, empty message) or refused it, so a submit
    made next finds the type served (no "no worker has registered" warning).
    """

    def __init__(
        self,
        address: str,
        job_types: list[str],
        handler: Handler,
        worker_id: str = "cli-test-worker",
        capacity: int = 4,
        token: str | None = None,
    ) -> None:
        self.client = Client(address, token=token)
        self.request = worker_pb.StreamJobsRequest(
            worker_id=worker_id,
            job_types=job_types,
            capacity=capacity,
            hostname="test-host",
            pid=4242,
        )
        self.handler = handler
        self.handled: list[str] = []
        self.errors: list[BaseException] = []
        self._call: Any = None
        self._stopped = False
        self._answered = threading.Event()  # first message, or the stream ended
        self._thread = threading.Thread(target=self._run, name=f"worker-{worker_id}", daemon=True)

    def start(self) -> ProtocolWorker:
        """Open the stream and serve jobs until stop()."""
        metadata = self.client.config.metadata()
        self._call = self.client.workers.StreamJobs(self.request, metadata=metadata)
        self._thread.start()
        if not self._answered.wait(10):
            raise TimeoutError("the broker did not answer the worker's stream within 10s")
        return self

    def stop(self) -> None:
        """Close the stream (the broker releases any leases) and wait for the thread.

        Safe to call twice. Raises the first error the serving thread hit, if any."""
        if self._stopped:
            return
        self._stopped = True
        if self._call is not None:
            self._call.cancel()
        self._thread.join(timeout=10)
        self.client.close()
        if self.errors:
            raise self.errors[0]

    def _run(self) -> None:
        try:
            for response in self._call:
                self._answered.set()
                for job in response.jobs:
                    self._finish(job)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self.errors.append(error)
        except BaseException as error:  # surfaced by stop(), not lost in the thread
            self.errors.append(error)
        finally:
            self._answered.set()

    def _finish(self, job: job_pb2.LeasedJob) -> None:
        outcome = self.handler(job)
        if isinstance(outcome, Succeed):
            ack = worker_pb.AckJobRequest(
                job_id=job.job_id,
                lease_token=job.lease_token,
                result_json=json.dumps(outcome.result),
            )
            self.client.call(self.client.workers.AckJob, ack)
        else:
            nack = worker_pb.NackJobRequest(
                job_id=job.job_id,
                lease_token=job.lease_token,
                error_type=outcome.error_type,
                error_message=outcome.message,
                traceback=f"Traceback:\n{outcome.error_type}: {outcome.message}",
                non_retryable=outcome.non_retryable,
            )
            if outcome.retry_after_s is not None:
                nack.retry_after_s = outcome.retry_after_s
            self.client.call(self.client.workers.NackJob, nack)
        self.handled.append(job.job_id)
