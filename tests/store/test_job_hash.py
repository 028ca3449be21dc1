"""The job hash's compact layout: long payloads split into listpack-sized chunks and
joined back byte for byte by every reader; 'prio' normal and 'retries' 3 left out."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
import redis.asyncio as aioredis
from gopher.v1 import job_pb2

from gopher_server.convert import job_message
from gopher_server.store.job_hash import PayloadChunking, read_chunking
from gopher_server.store.records import NewJob
from gopher_server.store.store import Store, StoreSettings
from tests.conftest import FakeClock
from tests.store.helpers import job_hash, lease_one, new_job, stored_fields

CHUNK = 64
# The compact hash encoding: listpack since Redis 7, ziplist before.
COMPACT = ("listpack", "ziplist")


@pytest.fixture
def chunked(aredis: aioredis.Redis, clock: FakeClock, make_store: Callable[..., Store]) -> Store:
    """A store splitting payloads into chunks of 64 bytes, at most 16 (Redis' defaults,
    whatever the test server's configuration)."""
    return make_store(StoreSettings(chunking=PayloadChunking(CHUNK, 16)))


def payload_of(size: int, filler: str = "x") -> str:
    """A JSON object exactly `size` bytes long in UTF-8 (`filler` is 1 to 4 bytes)."""
    head = '{"k":"'
    room = size - len(head) - 2
    width = len(filler.encode())
    text = filler * (room // width) + "y" * (room % width)
    body = head + text + '"}'
    assert len(body.encode()) == size
    return body


async def submit_one(store: Store, payload: str, job_id: str = "j1", **extra: object) -> None:
    job = NewJob(id=job_id, type="email", priority="normal", payload=payload, retries=3, **extra)  # type: ignore[arg-type]
    await store.submit([job])


@pytest.mark.one_partition
async def test_a_payload_at_the_value_limit_stays_one_field(chunked: Store) -> None:
    payload = payload_of(CHUNK)
    await submit_one(chunked, payload)
    raw = await job_hash(chunked, "j1")
    assert raw["payload"] == payload and "pn" not in raw and "p2" not in raw
    assert await chunked.redis.object("encoding", chunked.keys.job("j1")) in COMPACT


@pytest.mark.one_partition
async def test_one_byte_over_the_limit_splits_in_two_and_round_trips(chunked: Store) -> None:
    payload = payload_of(CHUNK + 1)
    await submit_one(chunked, payload)
    raw = await job_hash(chunked, "j1")
    assert (raw["payload"], raw["p2"], raw["pn"]) == (payload[:CHUNK], payload[CHUNK:], "2")
    assert await chunked.redis.object("encoding", chunked.keys.job("j1")) in COMPACT
    assert (await stored_fields(chunked, "j1"))["payload"] == payload
    assert (await lease_one(chunked)).payload == payload


@pytest.mark.parametrize("filler", ["é", "€", "😀"])
async def test_multibyte_utf8_is_never_cut_and_round_trips(chunked: Store, filler: str) -> None:
    payload = payload_of(700, filler)
    await submit_one(chunked, payload)
    raw = await job_hash(chunked, "j1")
    count = int(raw["pn"])
    chunks = [raw["payload"], *(raw[f"p{i}"] for i in range(2, count + 1))]
    # Each chunk decoded on its own (the client did so above), none over the limit.
    assert all(len(c.encode()) <= CHUNK for c in chunks)
    assert "".join(chunks) == payload
    assert (await lease_one(chunked)).payload == payload
    record = await chunked.get_job("j1")
    assert record is not None
    assert job_message(record).payload_json == payload  # GetJob


async def test_a_payload_needing_too_many_chunks_stays_one_field(chunked: Store) -> None:
    payload = payload_of(CHUNK * 16 + 1)
    await submit_one(chunked, payload)
    raw = await job_hash(chunked, "j1")
    assert raw["payload"] == payload and "pn" not in raw
    assert (await lease_one(chunked)).payload == payload


async def test_the_largest_chunked_payload_uses_sixteen_chunks(chunked: Store) -> None:
    payload = payload_of(CHUNK * 16)
    await submit_one(chunked, payload)
    assert (await job_hash(chunked, "j1"))["pn"] == "16"
    assert (await lease_one(chunked)).payload == payload


async def test_chunking_off_keeps_one_field(
    aredis: aioredis.Redis, clock: FakeClock, make_store: Callable[..., Store]
) -> None:
    store = make_store(StoreSettings(chunking=PayloadChunking(CHUNK, 0)))
    payload = payload_of(200)
    await submit_one(store, payload)
    assert (await job_hash(store, "j1"))["payload"] == payload


async def test_a_released_job_is_delivered_again_with_its_chunked_payload(
    chunked: Store,
) -> None:
    payload = payload_of(300, "é")
    await submit_one(chunked, payload)
    await lease_one(chunked)
    assert await chunked.release("w1", "s1") == [("j1", "enqueued")]
    lease = await lease_one(chunked)
    assert lease.payload == payload and lease.attempt == 2


@pytest.mark.one_partition
async def test_follow_ups_of_a_chunked_parent_get_their_own_payload(chunked: Store) -> None:
    spec = NewJob(id="c1", type="notify", priority="high", payload=payload_of(150), retries=5)
    await submit_one(chunked, payload_of(500, "€"), on_success=(spec,))
    lease = await lease_one(chunked)
    result = orjson.dumps({"r": "ü" * 100}).decode()
    assert await chunked.ack([("j1", lease.token, result)]) == ["ok"]
    child = await stored_fields(chunked, "c1")
    assert "pn" in await job_hash(chunked, "c1")  # its payload is over 64 bytes too
    assert orjson.loads(child["payload"])["parent"]["result"] == {"r": "ü" * 100}
    assert (child["prio"], child["retries"]) == ("high", "5")
    (follow,) = (await chunked.dispatch("w2", "s2", 1, ["notify"])).leases
    assert follow.payload == child["payload"] and follow.retries == 5


async def test_normal_priority_and_three_retries_are_left_out(store: Store) -> None:
    await store.submit([new_job("n", retries=3), new_job("h", priority="high", retries=0)])
    assert {"prio", "retries"}.isdisjoint(await job_hash(store, "n"))
    assert {"prio": "high", "retries": "0"}.items() <= (await job_hash(store, "h")).items()
    fields = await stored_fields(store, "n")
    assert (fields["prio"], fields["retries"]) == ("normal", "3")
    record = await store.get_job("n")
    assert record is not None
    message = job_message(record)
    assert (message.retries, message.priority) == (3, job_pb2.PRIORITY_NORMAL)
    leases = {
        lease.job_id: lease for lease in (await store.dispatch("w1", "s1", 2, ["email"])).leases
    }
    assert (leases["n"].priority, leases["n"].retries) == ("normal", 3)
    assert (leases["h"].priority, leases["h"].retries) == ("high", 0)


async def test_a_job_left_out_retries_dies_after_four_attempts(store: Store) -> None:
    await store.submit([new_job("n", retries=3)])
    for _ in range(4):
        lease = await lease_one(store)
        await store.release("w1", "s1")
    assert lease.attempt == 4
    assert (await stored_fields(store, "n"))["state"] == "dead"


async def test_broker_reads_the_encoding_limits(aredis: aioredis.Redis) -> None:
    config = await aredis.config_get("hash-max-*")
    # Redis 7 names the setting hash-max-listpack-value; older servers, ziplist.
    name = next(n for n in ("hash-max-listpack-value", "hash-max-ziplist-value") if n in config)
    limit = int(str(config[name]))
    chunking = await read_chunking(aredis)
    assert chunking.chunk_bytes == limit and chunking.max_chunks == 16


async def test_unreadable_config_assumes_redis_defaults() -> None:
    class Refusing:
        async def config_get(self, pattern: str) -> dict[str, str]:
            raise PermissionError("NOPERM this user has no permissions to run 'config'")

    assert await read_chunking(Refusing()) == PayloadChunking(64, 16)  # type: ignore[arg-type]


def test_limits_leave_room_for_other_fields() -> None:
    assert PayloadChunking.for_limits(64, 128) == PayloadChunking(64, 16)
    assert PayloadChunking.for_limits(256, 48) == PayloadChunking(256, 8)
    assert PayloadChunking.for_limits(64, 32).max_chunks == 0
    assert PayloadChunking.for_limits(8, 128).max_chunks == 0
