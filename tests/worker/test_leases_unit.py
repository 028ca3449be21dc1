"""Lease extension on its own: which leases are due, what a refused one does, and
that an unreachable broker is retried, with a fake clock and a fake broker."""

from __future__ import annotations

from collections.abc import Sequence

from gopher.v1 import worker_service_pb2 as pb

from gopher_worker._leases import LeaseKeeper
from gopher_worker._running import Running
from tests.worker.fakes import FakeBroker, FakeClock, delivery

TTL = 10_000


def keeper(
    running: dict[str, Running], clock: FakeClock, broker: FakeBroker
) -> tuple[LeaseKeeper, list[tuple[str, str]]]:
    lost: list[tuple[str, str]] = []

    def on_lost(run: Running, reason: str) -> None:
        running.pop(run.lease.job_id)
        lost.append((run.lease.job_id, reason))

    return LeaseKeeper(running, clock, broker.extend_leases, on_lost), lost


async def test_only_leases_past_half_their_ttl_are_extended_in_one_call() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock, ttl_ms=TTL)
    fresh = delivery("fresh", clock.ms + TTL, TTL)
    old = delivery("old", clock.ms + TTL // 2 - 1, TTL)
    older = delivery("older", clock.ms + 10, TTL)
    running = {r.lease.job_id: r for r in (fresh, old, older)}
    leases, lost = keeper(running, clock, broker)

    assert await leases.extend_due() == 2

    assert broker.calls == [("extend", ["old", "older"])]
    assert old.deadline_ms == older.deadline_ms == clock.ms + TTL
    assert fresh.deadline_ms == clock.ms + TTL  # untouched: it was not due
    assert lost == []


async def test_nothing_is_sent_until_time_makes_a_lease_due() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock, ttl_ms=TTL)
    run = delivery("a", clock.ms + TTL, TTL)
    leases, _ = keeper({"a": run}, clock, broker)

    assert await leases.extend_due() == 0
    clock.advance(TTL // 2 + 1)
    assert await leases.extend_due() == 1
    assert broker.calls == [("extend", ["a"])]
    assert run.deadline_ms == clock.ms + TTL


async def test_a_refused_extension_reports_the_delivery_lost_with_the_reason() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock, ttl_ms=TTL, lost={"gone"})
    kept = delivery("kept", clock.ms + 1, TTL)
    gone = delivery("gone", clock.ms + 1, TTL)
    running = {"kept": kept, "gone": gone}
    leases, lost = keeper(running, clock, broker)

    await leases.extend_due()

    assert lost == [("gone", "lease lost")]
    assert list(running) == ["kept"]
    assert kept.deadline_ms == clock.ms + TTL


async def test_a_delivery_finished_during_the_call_is_not_reported_lost() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock, ttl_ms=TTL, lost={"done"})
    running = {"done": delivery("done", clock.ms + 1, TTL)}
    lost: list[str] = []

    async def finishes_meanwhile(requests: Sequence[pb.ExtendLeaseRequest]) -> list[pb.Outcome]:
        running.pop("done")  # acked while the extension was on the wire
        return await broker.extend_leases(requests)

    leases = LeaseKeeper(
        running, clock, finishes_meanwhile, lambda run, _: lost.append(run.lease.job_id)
    )
    await leases.extend_due()

    assert lost == []


async def test_an_unreachable_broker_is_retried_on_the_next_pass() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock, ttl_ms=TTL, outages=1)
    run = delivery("a", clock.ms + 1, TTL)
    leases, lost = keeper({"a": run}, clock, broker)

    assert await leases.extend_due() == 0
    assert run.deadline_ms == clock.ms + 1
    assert await leases.extend_due() == 1
    assert run.deadline_ms == clock.ms + TTL
    assert lost == []
    assert [kind for kind, _ in broker.calls] == ["extend", "extend"]
