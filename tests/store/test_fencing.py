"""Fencing tokens: a stale ack, nack or extension changes nothing; extensions and
per-job lease lengths move the deadline in the leases zset."""

from __future__ import annotations

import pytest

from gopher_server.store.records import Lease, NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import job_hash, lease_one, new_job

DEFAULT_LEASE_MS = 30_000


async def outcomes_with(store: Store, lease: Lease) -> tuple[list[str], list[str], list[str]]:
    """Try ack, nack and extend with `lease`'s token; return their codes."""
    acked = await store.ack([(lease.job_id, lease.token, '{"late": true}')])
    nacked = await store.nack([NackItem(lease.job_id, lease.token, "E", "late failure")])
    extended = await store.extend([(lease.job_id, lease.token, 60_000)])
    return acked, nacked, [code for code, _ in extended]


@pytest.mark.one_partition
async def test_token_of_an_expired_and_released_lease_is_stale(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("j")])
    old = await lease_one(store, "w1")
    clock.advance(DEFAULT_LEASE_MS + 1)
    assert await store.expire_leases() == [("j", "enqueued")]
    new = await lease_one(store, "w2")
    assert new.token > old.token and new.attempt == 2
    before = await job_hash(store, "j")  # its history included: fields of the hash
    assert await outcomes_with(store, old) == (["stale"], ["stale"], ["stale"])
    assert await job_hash(store, "j") == before
    assert await store.redis.zscore(store.job_keys("j").leases(), "j") == new.deadline_ms
    assert await store.redis.smembers(store.keys.inflight("w2")) == {"j"}
    assert await store.ack([("j", new.token, "{}")]) == ["ok"]


async def test_token_of_a_recovered_lease_is_stale_before_any_new_lease(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("j")])
    old = await lease_one(store)
    clock.advance(DEFAULT_LEASE_MS)
    await store.expire_leases()
    before = await job_hash(store, "j")
    assert before["state"] == "enqueued"
    assert await outcomes_with(store, old) == (["stale"], ["stale"], ["stale"])
    assert await job_hash(store, "j") == before


async def test_token_after_ack_is_stale(store: Store) -> None:
    await store.submit([new_job("j")])
    lease = await lease_one(store)
    assert await store.ack([("j", lease.token, '{"n": 1}')]) == ["ok"]
    before = await job_hash(store, "j")
    assert await outcomes_with(store, lease) == (["stale"], ["stale"], ["stale"])
    assert await job_hash(store, "j") == before
    assert before["result"] == '{"n": 1}'


async def test_wrong_token_on_a_live_lease_is_stale(store: Store) -> None:
    await store.submit([new_job("j")])
    lease = await lease_one(store)
    before = await job_hash(store, "j")
    forged = Lease(**{**{s: getattr(lease, s) for s in Lease.__slots__}, "token": lease.token + 1})
    assert await outcomes_with(store, forged) == (["stale"], ["stale"], ["stale"])
    assert await job_hash(store, "j") == before
    assert await store.redis.zscore(store.job_keys("j").leases(), "j") == lease.deadline_ms


async def test_unknown_job_is_missing(store: Store) -> None:
    ghost = Lease("ghost", "email", "normal", "{}", 1, 3, 1, 0, 0, 0, 0, 0, "")
    assert await outcomes_with(store, ghost) == (["missing"], ["missing"], ["missing"])
    assert await store.redis.dbsize() == 0


async def test_mixed_batch_answers_each_item(store: Store) -> None:
    await store.submit([new_job("a"), new_job("b")])
    result = await store.dispatch("w1", "s1", 2, ["email"])
    tokens = {lease.job_id: lease.token for lease in result.leases}
    codes = await store.ack(
        [("a", tokens["a"], "{}"), ("b", tokens["b"] + 7, "{}"), ("nope", 1, "{}")]
    )
    assert codes == ["ok", "stale", "missing"]
    assert (await job_hash(store, "b"))["state"] == "active"


async def test_extension_moves_the_deadline(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("j")])
    lease = await lease_one(store)
    assert lease.deadline_ms == clock.now_ms() + DEFAULT_LEASE_MS
    clock.advance(20_000)
    [(code, deadline)] = await store.extend([("j", lease.token, 45_000)])
    assert (code, deadline) == ("ok", clock.now_ms() + 45_000)
    assert await store.redis.zscore(store.job_keys("j").leases(), "j") == deadline
    assert (await job_hash(store, "j"))["deadline"] == str(deadline)
    clock.advance(44_999)
    assert await store.expire_leases() == []
    clock.advance(1)
    assert await store.expire_leases() == [("j", "enqueued")]


async def test_extension_by_zero_uses_the_job_or_default_lease(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("own", lease_ms=4000), new_job("dflt")])
    leases = (await store.dispatch("w1", "s1", 2, ["email"])).leases
    clock.advance(1000)
    results = await store.extend([(x.job_id, x.token, 0) for x in leases])
    by_id = dict(zip([x.job_id for x in leases], results, strict=True))
    assert by_id["own"] == ("ok", clock.now_ms() + 4000)
    assert by_id["dflt"] == ("ok", clock.now_ms() + DEFAULT_LEASE_MS)


async def test_per_job_lease_ttl_sets_the_deadline(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("short", lease_ms=2500), new_job("dflt")])
    leases = {x.job_id: x for x in (await store.dispatch("w1", "s1", 2, ["email"])).leases}
    now = clock.now_ms()
    assert (leases["short"].lease_ms, leases["short"].deadline_ms) == (2500, now + 2500)
    assert (leases["dflt"].lease_ms, leases["dflt"].deadline_ms) == (30_000, now + 30_000)
    assert await store.redis.zscore(store.job_keys("short").leases(), "short") == now + 2500
    clock.advance(2500)
    assert await store.expire_leases() == [("short", "enqueued")]
