"""Outcome batching on its own, with a fake broker and a fake clock: outcomes that
finish together go out together, an outage is retried until each lease's deadline,
and refusals are counted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from gopher.v1 import worker_service_pb2 as pb

from gopher_worker._outcomes import MAX_BATCH, OutcomeBatcher
from tests.worker.fakes import FakeBroker, FakeClock


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def broker(clock: FakeClock) -> FakeBroker:
    return FakeBroker(clock)


@pytest.fixture
async def batcher(broker: FakeBroker, clock: FakeClock) -> AsyncIterator[OutcomeBatcher]:
    batcher = OutcomeBatcher(broker, "w1", clock)
    batcher.start()
    yield batcher
    await batcher.stop()


def ack(job_id: str) -> pb.AckJobRequest:
    return pb.AckJobRequest(job_id=job_id, lease_token=1)


def nack(job_id: str) -> pb.NackJobRequest:
    return pb.NackJobRequest(job_id=job_id, lease_token=1, error_type="E")


async def test_outcomes_queued_in_one_pass_go_out_in_one_call_each_kind(
    batcher: OutcomeBatcher, broker: FakeBroker, clock: FakeClock
) -> None:
    for i in range(5):
        batcher.ack(ack(f"a{i}"), clock.ms + 1000)
    batcher.nack(nack("n0"), clock.ms + 1000)

    assert await batcher.flush(timeout_s=5)

    assert sorted(broker.calls) == [("ack", [f"a{i}" for i in range(5)]), ("nack", ["n0"])]
    assert broker.worker_ids == ["w1"]  # so the broker can refill this worker's slots


async def test_a_backlog_is_split_into_calls_of_at_most_the_batch_limit(
    batcher: OutcomeBatcher, broker: FakeBroker, clock: FakeClock
) -> None:
    for i in range(MAX_BATCH + 3):
        batcher.ack(ack(f"a{i}"), clock.ms + 1000)

    assert await batcher.flush(timeout_s=5)

    sizes = [len(ids) for kind, ids in broker.calls]
    assert sizes == [MAX_BATCH, 3]
    sent = [j for _, ids in broker.calls for j in ids]
    assert sent == [f"a{i}" for i in range(MAX_BATCH + 3)]  # in order, none twice


async def test_an_outage_is_retried_and_nothing_is_lost(
    batcher: OutcomeBatcher, broker: FakeBroker, clock: FakeClock
) -> None:
    broker.outages = 2
    batcher.ack(ack("a"), clock.ms + 60_000)

    assert await batcher.flush(timeout_s=10)

    assert broker.calls == [("ack", ["a"])] * 3  # two failures, then delivered


async def test_outcomes_whose_lease_expired_during_an_outage_are_dropped(
    batcher: OutcomeBatcher, broker: FakeBroker, clock: FakeClock
) -> None:
    broker.outages = 1
    batcher.ack(ack("expires"), clock.ms + 100)
    batcher.ack(ack("lives"), clock.ms + 60_000)
    clock.advance(1_000)  # the first lease is over: the broker re-runs that job anyway

    assert await batcher.flush(timeout_s=10)

    assert broker.calls == [("ack", ["expires", "lives"]), ("ack", ["lives"])]


async def test_refused_outcomes_are_counted_as_stale(
    batcher: OutcomeBatcher, broker: FakeBroker, clock: FakeClock
) -> None:
    broker.lost = {"late"}
    batcher.ack(ack("late"), clock.ms + 1000)
    batcher.nack(nack("ok"), clock.ms + 1000)

    assert await batcher.flush(timeout_s=5)

    assert batcher.stale == 1


async def test_flush_reports_a_timeout_while_the_broker_is_down(
    batcher: OutcomeBatcher, broker: FakeBroker, clock: FakeClock
) -> None:
    broker.outages = 1_000
    batcher.ack(ack("a"), clock.ms + 60_000)

    assert not await batcher.flush(timeout_s=0.2)
