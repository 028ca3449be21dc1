"""The store's schema (store/schema.py) against what the scripts really write: the job
hash's fields and defaults, the state and priority words, the history entries and the
control channel's messages."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from importlib import resources

import pytest
import redis.asyncio as aioredis
from gopher.v1 import job_pb2

from gopher_server.store import schema
from gopher_server.store.records import HistoryEvent, JobRecord, NackItem, NewJob
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import history, job_hash, lease_one, new_job

LUA = resources.files("gopher_server.store") / "lua"
# A call on a job hash: redis.call('HSET' | 'HMGET' | ..., jk | P_JOB .. <id>, names...).
JOB_HASH_CALL = re.compile(
    r"redis\.call\('(HSET|HMGET|HGET|HDEL|HINCRBY|HSETNX)',\s*(?:jk|P_JOB \.\. \w+)\s*,([^)]*)\)"
)
QUOTED = re.compile(r"'([a-z_0-9]+)'")


def lua_sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in LUA.iterdir() if p.name.endswith(".lua")}


def test_record_attributes_are_the_declared_fields() -> None:
    declared = [f.attr for f in schema.JOB_FIELDS]
    attrs = [f.name for f in dataclasses.fields(JobRecord)]
    assert attrs == ["id", *declared, "events", "history_whole"]
    assert len({f.name for f in schema.JOB_FIELDS}) == len(schema.JOB_FIELDS)


def test_every_field_a_script_names_on_a_job_hash_is_declared() -> None:
    declared = {f.name for f in schema.JOB_FIELDS} | {schema.CHUNK_COUNT_FIELD}
    declared.add(schema.HISTORY_COUNT_FIELD)
    seen: set[str] = set()
    for name, text in lua_sources().items():
        for _, args in JOB_HASH_CALL.findall(text):
            names = set(QUOTED.findall(args))
            # Values written (HSET ..., 'state', 'enqueued') are words, not fields.
            names -= set(schema.STATES)
            assert names <= declared, f"{name}: undeclared job fields {names - declared}"
            seen |= names
    # The pattern does see the scripts' calls (a broken pattern would pass vacuously).
    assert {"state", "token", "wid", "attempt", "on_ok"} <= seen


def test_words_come_from_the_contract_enums() -> None:
    assert list(schema.STATES) == [
        "scheduled",
        "enqueued",
        "active",
        "retrying",
        "succeeded",
        "dead",
        "cancelled",
    ]
    assert schema.PRIORITY_WORDS == ("high", "normal", "low")
    assert schema.STATES["dead"] == job_pb2.JOB_STATE_DEAD
    assert schema.state_word(job_pb2.JOB_STATE_UNSPECIFIED) == ""
    assert {"succeeded", "dead", "cancelled"} == schema.FINAL_STATES
    # Every state word a script writes (into a job or a group hash) is one of them.
    words = set(schema.STATES) | set(schema.GROUP_STATES)
    for name, text in lua_sources().items():
        for word in re.findall(r"'HSET',[^)]*?'state', '(\w+)'", text):
            assert word in words, f"{name} writes unknown state {word!r}"


def test_defaults_left_out_agree_with_the_scripts() -> None:
    line = "local PRIO_UNSTORED, RETRIES_UNSTORED = 'normal', 3"
    assert [name for name, text in lua_sources().items() if line in text]
    assert schema.UNSTORED == {"prio": "normal", "retries": "3"}


async def test_a_job_with_every_field_set_reads_back_typed(store: Store, clock: FakeClock) -> None:
    job = NewJob(
        id="full",
        type="email",
        priority="high",
        payload='{"n": 1}',
        retries=5,
        idempotency_key="k1",
        timeout_ms=7000,
        lease_ms=9000,
        backoff_base_ms=250,
        backoff_factor=1.5,
        backoff_max_ms=60_000,
        trace='{"traceparent": "00-ab-cd-01"}',
        on_success=(new_job("child"),),
    )
    await store.submit([job])
    lease = await lease_one(store, "w1", "s1")
    clock.advance(5)
    (code,) = await store.nack(
        [NackItem("full", lease.token, "IOError", "disk", "tb", retry_after_ms=0)]
    )
    assert code == "retrying"
    record = await store.get_job("full")
    assert record is not None
    assert (record.type, record.priority, record.state, record.payload) == (
        "email",
        "high",
        "retrying",
        '{"n": 1}',
    )
    assert (record.retries, record.attempt, record.token) == (5, 1, lease.token)
    assert (record.timeout_ms, record.lease_ms) == (7000, 9000)
    assert (record.backoff_base_ms, record.backoff_factor, record.backoff_max_ms) == (
        250,
        1.5,
        60_000,
    )
    assert (record.idempotency_key, record.worker_id, record.last_error) == (
        "k1",
        "w1",
        "IOError: disk",
    )
    assert record.run_at_ms == clock.now_ms() and record.started_ms == clock.now_ms() - 5
    assert record.created_ms == clock.now_ms() - 5 and record.finished_ms == 0
    assert record.on_success and not record.on_failure and record.follow_up_ids == ()
    assert record.events[-1] == HistoryEvent(
        clock.now_ms(), "active", "retrying", 1, "w1", "IOError", "disk", "tb"
    )
    # The raw entry carries exactly the declared keys.
    assert set((await history(store, "full"))[-1]) <= set(schema.HISTORY_FIELDS)


async def test_defaults_are_not_stored_and_read_back(store: Store) -> None:
    await store.submit([new_job("plain")])
    raw = await job_hash(store, "plain")
    unstored = {f.name for f in schema.JOB_FIELDS if not f.stored_when_default}
    assert not unstored & set(raw)
    record = await store.get_job("plain")
    assert record is not None
    for f in schema.JOB_FIELDS:
        if f.name not in raw and f.attr != "payload":
            assert getattr(record, f.attr) == f.default, f.attr
    assert (record.priority, record.retries, record.backoff_factor) == ("normal", 3, None)


def test_control_messages_round_trip() -> None:
    for kind, names in schema.CONTROL_KINDS.items():
        args = (*tuple(f"{n}-1" for n in names[:-1]), "last with spaces")
        text = schema.encode_control(kind, *args)
        assert schema.parse_control(text) == schema.ControlMessage(kind, args)
    assert schema.parse_control("z what") is None  # a kind this broker does not know
    assert schema.parse_control("c only-one") is None
    with pytest.raises(ValueError, match="takes"):
        schema.encode_control(schema.CANCEL, "w1")
    with pytest.raises(ValueError, match="unknown"):
        schema.encode_control("z", "x")
    with pytest.raises(ValueError, match="spaces"):
        schema.encode_control(schema.CANCEL, "w 1", "j")


@pytest.mark.one_partition
async def test_the_scripts_publish_what_the_parser_reads(
    store: Store, aredis: aioredis.Redis
) -> None:
    pubsub = aredis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(store.keys.control_channel())
    try:
        await store.submit([new_job("a", "my type")])
        lease = await lease_one(store, "w1", types=("my type",))
        await store.submit([new_job("b", "my type")])
        await store.dispatch("w1", "s1", 2, ["my type"])
        await store.cancel("b")
        await store.ack([("a", lease.token, "{}")])
        seen: list[schema.ControlMessage | None] = []
        async with asyncio.timeout(5):
            while len(seen) < 5:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    seen.append(schema.parse_control(str(message["data"])))
    finally:
        await pubsub.aclose()
    assert seen == [
        schema.ControlMessage(schema.WAKE, ("my type",)),
        schema.ControlMessage(schema.WAKE, ("my type",)),
        schema.ControlMessage(schema.CANCEL, ("w1", "b")),
        schema.ControlMessage(schema.SLOT, ("w1",)),  # the cancel freed a slot
        schema.ControlMessage(schema.SLOT, ("w1",)),  # so did the ack
    ]
