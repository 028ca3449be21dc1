"""Cluster readiness: after a workload that runs every script, every key in Redis
carries the namespace hash tag first, so all of them map to one cluster slot."""

from __future__ import annotations

import pytest

from gopher_server.store import admin, schedules
from gopher_server.store import workers as registry
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import lease_one, new_job

CLUSTER_SLOTS = 16384


def crc16_xmodem(data: bytes) -> int:
    """CRC16-CCITT (XMODEM), the checksum Redis Cluster uses for key slots."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key: str) -> int:
    """The cluster slot of `key`, honouring the first non-empty {hash tag}."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc16_xmodem(key.encode()) % CLUSTER_SLOTS


def test_slot_function_matches_redis_reference_values() -> None:
    assert key_slot("foo") == 12182
    assert key_slot("123456789") == 12739
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers")
    assert key_slot("foo{}{bar}") == crc16_xmodem(b"foo{}{bar}") % CLUSTER_SLOTS  # empty tag


async def all_keys(store: Store) -> set[str]:
    return {str(k) async for k in store.redis.scan_iter(match="*", count=1000)}


async def run_every_script(store: Store, clock: FakeClock) -> set[str]:
    """Drive submit, dispatch, ack, nack, extend, expire, release, promote, cancel,
    requeue and purge, plus rate limits, the worker registry and schedules; return
    every key that existed at some point along the way."""
    now = clock.now_ms()
    await store.submit(
        [new_job(f"j{n}", job_type=t) for n, t in enumerate(["a", "a", "b", "b", "c", "c"])]
        + [
            new_job("later", run_at_ms=now + 1000, idempotency_key="{evil}key"),
            new_job("hi", priority="high", idempotency_key="plain"),
            new_job("lo", "c", priority="low", retries=0),
        ]
    )
    await admin.set_rate_limit(store, "c", 100.0, 2, 5)
    await registry.register_stream(
        store, "w1", "s1", hostname="h", pid=1, job_types=["a", "b", "c"], capacity=10
    )
    await registry.heartbeat(store, [("w1", "s1")])
    await schedules.put(store, "nightly", {"type": "a", "cron": "0 0 * * *"})
    await schedules.claim_tick(store, "nightly", now)
    leases = (await store.dispatch("w1", "s1", 5, ["a", "b", "c", "email"])).leases
    assert len(leases) == 5
    seen = await all_keys(store)
    await store.ack([(leases[0].job_id, leases[0].token, "{}")])
    await store.nack([NackItem(leases[1].job_id, leases[1].token, "E", "retry me")])
    await store.nack([NackItem(leases[2].job_id, leases[2].token, "E", "dead", non_retryable=True)])
    await store.extend([(leases[3].job_id, leases[3].token, 60_000)])
    seen |= await all_keys(store)
    clock.advance(30_000)
    await store.expire_leases()
    await store.release("w1", "s1")
    await store.promote_due()
    await store.cancel("hi")
    lost = await lease_one(store, "w2", "s9", types=("c",))
    clock.advance(60_000)
    await store.expire_leases()
    await store.requeue_dead([leases[2].job_id])
    await store.purge_dead([lost.job_id])
    await admin.set_paused(store, "low", True)
    return seen | await all_keys(store)


@pytest.mark.one_partition
async def test_every_key_has_the_namespace_tag_and_one_slot(store: Store, clock: FakeClock) -> None:
    keys = await run_every_script(store, clock)
    tag = store.keys.tag
    assert keys and all(k.startswith(tag + ":") for k in keys), keys
    assert {key_slot(k) for k in keys} == {key_slot(tag)}
    kinds = {k[len(tag) + 1 :].split(":")[0] for k in keys}
    expected = {"job", "idem", "ready", "types", "scheduled", "retry", "leases"}
    expected |= {"finished", "paused", "seq", "cursor", "limits", "bucket", "inflight"}
    expected |= {"workers", "worker", "streams", "schedules", "ticks"}
    assert expected <= kinds, expected - kinds
    assert "hist" not in kinds  # a job's history lives in its hash: one key per job


async def test_script_keys_and_prefixes_all_carry_the_tag(store: Store) -> None:
    tag = store.keys.tag
    for name in [*store.keys.script_keys(), *store.keys.script_prefixes()]:
        assert name.startswith(tag + ":"), name
    for channel in (store.keys.control_channel(), store.keys.job_channel("x")):
        assert channel.startswith(tag + ":")
