"""Groups at the store: members are written with their group atomically, the last
member's final transition submits the group's follow-ups in the same script, exactly
once, with every member's outcome in their payload."""

from __future__ import annotations

import orjson

from gopher_server.store import groups
from gopher_server.store.records import NackItem, NewGroup, NewJob
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import lease_one, new_job, stored_fields


def follow_up(job_id: str, job_type: str, payload: str = "{}", **extra: object) -> NewJob:
    """A validated follow-up job."""
    return NewJob(id=job_id, type=job_type, priority="normal", payload=payload, retries=3, **extra)  # type: ignore[arg-type]


def group_of(group_id: str, *members: NewJob, **extra: object) -> NewGroup:
    """A validated group of `members`."""
    return NewGroup(id=group_id, members=members, **extra)  # type: ignore[arg-type]


async def finish(store: Store, job_type: str, result: str = "null") -> str:
    """Lease one job of `job_type` and ack it with `result`; return its id."""
    lease = await lease_one(store, types=(job_type,))
    assert await store.ack([(lease.job_id, lease.token, result)]) == ["ok"]
    return lease.job_id


async def test_last_member_submits_on_complete_and_on_success_with_every_outcome(
    store: Store,
) -> None:
    done = follow_up("f-done", "report", '{"to": "ops"}')
    ok = follow_up("f-ok", "notify")
    bad = follow_up("f-bad", "alert")
    group = group_of(
        "g1",
        new_job("m1", "resize"),
        new_job("m2", "resize"),
        on_complete=(done,),
        on_success=(ok,),
        on_failure=(bad,),
    )
    result = await store.submit_group(group)
    assert result.group_id == "g1" and not result.duplicate
    assert [(r.job_id, r.state) for r in result.members] == [("m1", "enqueued"), ("m2", "enqueued")]
    assert (await stored_fields(store, "m1"))["grp"] == "g1"

    first = await finish(store, "resize", '{"w": 100, "big": 12345678901234567890}')
    assert await stored_fields(store, "f-done") == {}  # one member is still running
    record = await groups.get_group(store, "g1")
    assert record is not None and record.state == "running"
    assert sorted(record.member_states) == ["enqueued", "succeeded"]

    second = await finish(store, "resize", "not json")
    done_fields = await stored_fields(store, "f-done")
    assert done_fields["state"] == "enqueued" and done_fields["pgrp"] == "g1"
    outcomes = {first: '{"w": 100, "big": 12345678901234567890}', second: '"not json"'}
    members = ",".join(
        f'{{"id":"{m}","type":"resize","state":"succeeded","result":{outcomes[m]}}}'
        for m in ("m1", "m2")
    )
    # Results are copied byte for byte, in submission order, "group" first.
    assert done_fields["payload"] == (
        '{"group":{"id":"g1","state":"succeeded","members":[' + members + ']},"to": "ops"}'
    )
    assert (await stored_fields(store, "f-ok"))["state"] == "enqueued"
    assert await stored_fields(store, "f-bad") == {}
    record = await groups.get_group(store, "g1")
    assert record is not None
    assert record.state == "succeeded" and record.follow_up_ids == ["f-done", "f-ok"]
    assert record.member_states == ["succeeded", "succeeded"]
    # The finished group expires with the finished-job retention.
    assert await store.redis.pttl(store.keys.group("g1")) > 0


async def test_a_dead_member_fails_the_group_and_the_error_reaches_on_failure(
    store: Store,
) -> None:
    group = group_of(
        "g1",
        new_job("m1", "resize", retries=0),
        new_job("m2", "resize"),
        on_success=(follow_up("f-ok", "notify"),),
        on_failure=(follow_up("f-bad", "alert"),),
    )
    await store.submit_group(group)
    lease = await lease_one(store, types=("resize",))
    item = NackItem(lease.job_id, lease.token, "ValueError", "bad input", non_retryable=True)
    assert await store.nack([item]) == ["dead"]
    await finish(store, "resize", '{"ok": true}')
    payload = orjson.loads((await stored_fields(store, "f-bad"))["payload"])
    assert payload["group"]["state"] == "failed"
    assert payload["group"]["members"] == [
        {"id": "m1", "type": "resize", "state": "dead", "error": "ValueError: bad input"},
        {"id": "m2", "type": "resize", "state": "succeeded", "result": {"ok": True}},
    ]
    assert await stored_fields(store, "f-ok") == {}


async def test_cancelled_members_complete_the_group_without_success_or_failure(
    store: Store,
) -> None:
    group = group_of(
        "g1",
        new_job("m1", "resize"),
        new_job("m2", "resize"),
        on_complete=(follow_up("f-done", "report"),),
        on_success=(follow_up("f-ok", "notify"),),
        on_failure=(follow_up("f-bad", "alert"),),
    )
    await store.submit_group(group)
    assert await store.cancel("m1") == ("cancelled", True)
    await finish(store, "resize")
    payload = orjson.loads((await stored_fields(store, "f-done"))["payload"])
    assert payload["group"]["state"] == "cancelled"
    assert payload["group"]["members"][0] == {"id": "m1", "type": "resize", "state": "cancelled"}
    assert await stored_fields(store, "f-ok") == {} and await stored_fields(store, "f-bad") == {}


async def test_a_member_counts_once_even_if_requeued_after_the_group_finished(
    store: Store,
) -> None:
    group = group_of(
        "g1", new_job("m1", "resize", retries=0), on_complete=(follow_up("f1", "report"),)
    )
    await store.submit_group(group)
    lease = await lease_one(store, types=("resize",))
    assert await store.nack([NackItem("m1", lease.token, "E", "x", non_retryable=True)]) == ["dead"]
    assert (await stored_fields(store, "f1"))["state"] == "enqueued"
    await store.redis.delete(store.keys.job("f1"))  # even if the follow-up were gone
    # Requeued from the DLQ, dying again: the finished group submits nothing more.
    assert await store.requeue_dead(["m1"]) == 1
    lease = await lease_one(store, types=("resize",))
    assert await store.nack([NackItem("m1", lease.token, "E", "x", non_retryable=True)]) == ["dead"]
    assert await stored_fields(store, "f1") == {}


async def test_a_dead_member_requeued_while_the_group_runs_is_waited_for(store: Store) -> None:
    group = group_of(
        "g1",
        new_job("m1", "resize", retries=0),
        new_job("m2", "other"),
        on_success=(follow_up("f-ok", "notify"),),
        on_failure=(follow_up("f-bad", "alert"),),
    )
    await store.submit_group(group)
    lease = await lease_one(store, types=("resize",))
    assert await store.nack([NackItem("m1", lease.token, "E", "x", non_retryable=True)]) == ["dead"]
    assert await store.requeue_dead(["m1"]) == 1
    await finish(store, "other")
    assert await stored_fields(store, "f-bad") == {}  # m1 runs again: not final
    await finish(store, "resize")
    assert (await stored_fields(store, "f-ok"))["state"] == "enqueued"
    assert await stored_fields(store, "f-bad") == {}


async def test_lease_loss_that_kills_a_member_counts_it(store: Store, clock: FakeClock) -> None:
    group = group_of(
        "g1", new_job("m1", "resize", retries=0), on_failure=(follow_up("f-bad", "alert"),)
    )
    await store.submit_group(group)
    await lease_one(store, types=("resize",))
    clock.advance(60_000)
    assert await store.expire_leases() == [("m1", "dead")]
    payload = orjson.loads((await stored_fields(store, "f-bad"))["payload"])
    assert payload["group"]["members"][0]["error"].startswith("LeaseExpired")


async def test_an_idempotent_repeat_returns_the_first_group_and_writes_nothing(
    store: Store,
) -> None:
    first = await store.submit_group(
        group_of("g1", new_job("m1", "resize"), idempotency_key="batch-7")
    )
    again = await store.submit_group(
        group_of("g2", new_job("m2", "resize"), idempotency_key="batch-7")
    )
    assert not first.duplicate and again.duplicate
    assert again.group_id == "g1" and [m.job_id for m in again.members] == ["m1"]
    assert await stored_fields(store, "m2") == {}
    assert await groups.get_group(store, "g2") is None


async def test_members_carry_their_own_chains_and_follow_ups_theirs(store: Store) -> None:
    chained = new_job("m1", "resize", on_success=(follow_up("c1", "thumb"),))
    nested = follow_up("f1", "report", on_success=(follow_up("f1-next", "archive"),))
    await store.submit_group(group_of("g1", chained, on_complete=(nested,)))
    await finish(store, "resize")
    assert (await stored_fields(store, "c1"))["parent"] == "m1"  # the member's own chain
    await finish(store, "report")
    grandchild = orjson.loads((await stored_fields(store, "f1-next"))["payload"])
    assert grandchild["parent"]["id"] == "f1"


async def group_fields(store: Store, group_id: str, *names: str) -> list[str | None]:
    """Raw fields of the group's hash (None for a missing field or group)."""
    return [
        None if v is None else str(v)
        for v in await store.redis.hmget(store.keys.group(group_id), names)
    ]


async def test_a_lost_lease_with_retries_left_counts_nothing_and_the_rerun_counts_once(
    store: Store, clock: FakeClock
) -> None:
    group = group_of(
        "g1", new_job("m1", "resize"), new_job("m2", "other"), on_complete=(follow_up("f1", "r"),)
    )
    await store.submit_group(group)
    lost = await lease_one(store, types=("resize",))
    clock.advance(60_000)
    assert await store.expire_leases() == [("m1", "enqueued")]
    assert await group_fields(store, "g1", "left", "o:m1") == ["2", None]
    rerun = await lease_one(store, types=("resize",))
    # The worker that lost the lease answers late: refused, counts nothing.
    assert await store.ack([("m1", lost.token, '"late"')]) == ["stale"]
    assert await store.ack([("m1", rerun.token, '"rerun"')]) == ["ok"]
    assert await group_fields(store, "g1", "left", "succeeded") == ["1", "1"]
    await finish(store, "other")
    payload = orjson.loads((await stored_fields(store, "f1"))["payload"])
    assert [m["result"] for m in payload["group"]["members"]] == ["rerun", None]
    assert await group_fields(store, "g1", "state", "left", "succeeded") == ["succeeded", "0", "2"]


async def test_a_cancelled_active_member_counts_once_and_its_late_ack_is_refused(
    store: Store,
) -> None:
    await store.submit_group(
        group_of("g1", new_job("m1", "resize"), on_complete=(follow_up("f1", "report"),))
    )
    lease = await lease_one(store, types=("resize",))
    assert await store.cancel("m1") == ("cancelled", True)
    first = await stored_fields(store, "f1")
    assert orjson.loads(first["payload"])["group"]["state"] == "cancelled"
    assert await store.ack([("m1", lease.token, "{}")]) == ["stale"]
    assert await store.cancel("m1") == ("cancelled", False)
    assert await stored_fields(store, "f1") == first
    assert await group_fields(store, "g1", "cancelled", "left") == ["1", "0"]


async def test_a_member_requeued_that_dies_again_while_the_group_runs_counts_once(
    store: Store,
) -> None:
    group = group_of(
        "g1",
        new_job("m1", "resize", retries=0),
        new_job("m2", "other"),
        on_failure=(follow_up("f-bad", "alert"),),
    )
    await store.submit_group(group)
    for message in ("first death", "second death"):
        lease = await lease_one(store, types=("resize",))
        item = NackItem("m1", lease.token, "E", message, non_retryable=True)
        assert await store.nack([item]) == ["dead"]
        if message == "first death":
            assert await store.requeue_dead(["m1"]) == 1
    assert await group_fields(store, "g1", "state", "dead", "left") == ["running", "1", "1"]
    await finish(store, "other")
    payload = orjson.loads((await stored_fields(store, "f-bad"))["payload"])
    assert payload["group"]["members"][0]["error"] == "E: second death"
    assert await group_fields(store, "g1", "state", "dead", "succeeded") == ["failed", "1", "1"]


async def test_a_group_past_its_retention_is_not_revived_by_a_requeued_member(
    store: Store,
) -> None:
    await store.submit_group(
        group_of("g1", new_job("m1", "resize", retries=0), on_complete=(follow_up("f1", "r"),))
    )
    lease = await lease_one(store, types=("resize",))
    assert await store.nack([NackItem("m1", lease.token, "E", "x", non_retryable=True)]) == ["dead"]
    # The finished group and its follow-up expire; the dead member (no TTL) stays.
    await store.redis.delete(store.keys.group("g1"), store.keys.job("f1"))
    assert await store.requeue_dead(["m1"]) == 1
    await finish(store, "resize")
    assert not await store.redis.exists(store.keys.group("g1"))
    assert await groups.get_group(store, "g1") is None
    assert await stored_fields(store, "f1") == {}


async def test_a_member_dying_again_does_not_remake_its_expired_on_failure(
    store: Store,
) -> None:
    member = new_job("m1", "resize", retries=0, on_failure=(follow_up("c-bad", "alert"),))
    await store.submit_group(group_of("g1", member, on_complete=(follow_up("f1", "report"),)))
    lease = await lease_one(store, types=("resize",))
    assert await store.nack([NackItem("m1", lease.token, "E", "x", non_retryable=True)]) == ["dead"]
    assert (await stored_fields(store, "c-bad"))["state"] == "enqueued"
    # The member's on_failure job ran and expired (retention, or the finished-jobs cap)
    # while the member sat in the DLQ, which keeps it with no TTL.
    await finish(store, "alert")
    await store.redis.delete(store.keys.job("c-bad"))
    assert await store.requeue_dead(["m1"]) == 1
    lease = await lease_one(store, types=("resize",))
    assert await store.nack([NackItem("m1", lease.token, "E", "y", non_retryable=True)]) == ["dead"]
    assert await stored_fields(store, "c-bad") == {}
    assert (await stored_fields(store, "m1"))["follow_ups"] == "c-bad"
