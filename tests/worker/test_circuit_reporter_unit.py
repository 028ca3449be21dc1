"""Circuit reports on their own: the latest change per type wins, and an unreachable
broker is retried until it has heard every type's latest state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from gopher.v1 import worker_service_pb2 as pb

from gopher_client import ConnectionFailed
from gopher_worker._circuit_reporter import CircuitReporter


class Broker:
    """Records ReportCircuit requests; fails the first `outages` of them."""

    def __init__(self) -> None:
        self.sent: list[pb.ReportCircuitRequest] = []
        self.outages = 0
        self.heard = asyncio.Condition()

    async def send(self, request: pb.ReportCircuitRequest) -> object:
        async with self.heard:
            if self.outages:
                self.outages -= 1
                raise ConnectionFailed("broker unreachable")
            self.sent.append(request)
            self.heard.notify_all()
        return pb.ReportCircuitResponse()

    async def until_heard(self, count: int) -> None:
        async with asyncio.timeout(5), self.heard:
            await self.heard.wait_for(lambda: len(self.sent) >= count)

    def latest(self) -> dict[str, tuple[int, int]]:
        return {r.job_type: (r.state, r.hold_until_unix_ms) for r in self.sent}


@pytest.fixture
async def broker() -> Broker:
    return Broker()


@pytest.fixture
async def reporter(broker: Broker) -> AsyncIterator[CircuitReporter]:
    reporter = CircuitReporter(broker.send, "w1")
    yield reporter
    await reporter.stop()


async def test_changes_before_a_send_collapse_to_the_latest_per_type(
    reporter: CircuitReporter, broker: Broker
) -> None:
    reporter.report("email", "open", 5_000)
    reporter.report("email", "half_open", 0)
    reporter.report("resize", "open", 9_000)
    reporter.start()

    await broker.until_heard(2)

    assert len(broker.sent) == 2
    assert {r.worker_id for r in broker.sent} == {"w1"}
    assert broker.latest() == {
        "email": (pb.CIRCUIT_STATE_HALF_OPEN, 0),
        "resize": (pb.CIRCUIT_STATE_OPEN, 9_000),
    }


async def test_an_outage_is_retried_until_the_broker_has_the_latest_state(
    reporter: CircuitReporter, broker: Broker
) -> None:
    broker.outages = 2
    reporter.start()
    reporter.report("email", "open", 5_000)

    await broker.until_heard(1)
    reporter.report("email", "closed", 0)
    await broker.until_heard(2)

    assert broker.latest() == {"email": (pb.CIRCUIT_STATE_CLOSED, 0)}
