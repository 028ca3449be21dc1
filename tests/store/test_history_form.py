"""How a job's history is stored: entries as fields of the job hash, plain text for an
ordinary transition and JSON for one with an error or an unusual worker id; jobs from
before the history moved into the hash keep their list and are read from it."""

from __future__ import annotations

import orjson

from gopher_server.store import schema
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import history_texts, job_hash, lease_one, new_job


async def test_an_ordinary_transition_is_one_short_plain_field(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("j")])
    lease = await lease_one(store, "host-1:77-ab")
    assert await store.ack([("j", lease.token, "{}")]) == ["ok"]
    now = clock.now_ms()
    assert await history_texts(store, "j") == [
        f"{now} enqueued active 1 host-1:77-ab",
        f"{now} active succeeded 1 host-1:77-ab",
    ]
    raw = await job_hash(store, "j")
    assert raw[schema.HISTORY_COUNT_FIELD] == "2"
    # Short enough that the hash keeps Redis' compact encoding (values <= 64 bytes).
    assert await store.redis.object("encoding", store.job_keys("j").job("j")) == "listpack"
    record = await store.get_job("j")
    assert record is not None and record.history_whole
    assert [(e.from_state, e.to_state, e.attempt, e.worker_id) for e in record.events] == [
        ("enqueued", "active", 1, "host-1:77-ab"),
        ("active", "succeeded", 1, "host-1:77-ab"),
    ]
    assert {e.time_ms for e in record.events} == {now}
    # Nothing of the history shows among the job's own fields.
    assert record.payload == "{}" and record.state == "succeeded"


async def test_an_error_or_a_worker_id_with_a_space_is_stored_as_json(store: Store) -> None:
    await store.submit([new_job("j", retries=1, backoff_base_ms=0)])
    first = await lease_one(store, "w 1")
    message = 'quote " and\nnewline'
    await store.nack([NackItem("j", first.token, "Value Error", message, "Traceback ...")])
    texts = await history_texts(store, "j")
    assert [t.startswith("{") for t in texts] == [True, True]
    assert orjson.loads(texts[1])["em"] == message
    record = await store.get_job("j")
    assert record is not None
    leased, failed = record.events
    assert (leased.worker_id, leased.error_type) == ("w 1", None)
    assert (failed.to_state, failed.error_type, failed.error_message, failed.traceback) == (
        "retrying",
        "Value Error",
        message,
        "Traceback ...",
    )


async def test_a_job_from_before_keeps_its_history_list(store: Store, clock: FakeClock) -> None:
    # A job written by a broker from before: no history count in its hash, its
    # entries (JSON) in a list of their own.
    await store.submit([new_job("old"), new_job("new")])
    jk, hk = store.job_keys("old").job("old"), store.job_keys("old").history("old")
    await store.redis.hdel(jk, schema.HISTORY_COUNT_FIELD)
    before = orjson.dumps({"t": "5", "f": "active", "s": "enqueued", "a": 1, "w": "w0"})
    await store.redis.rpush(hk, before)
    leases = {x.job_id: x for x in (await store.dispatch("w1", "s1", 2, ["email"])).leases}
    acked = [(i, leases[i].token, "{}") for i in ("old", "new")]
    assert await store.ack(acked) == ["ok", "ok"]
    now = clock.now_ms()
    assert schema.HISTORY_COUNT_FIELD not in await job_hash(store, "old")
    assert await store.redis.lrange(hk, 0, -1) == [
        before.decode(),
        f"{now} enqueued active 1 w1",
        f"{now} active succeeded 1 w1",
    ]
    # The list goes with the job: the ack gave it the finished job's retention.
    assert await store.redis.pttl(hk) > 0
    records = await store.get_jobs(["old", "new"], with_history=True)
    assert [[e.to_state for e in r.events] for r in records] == [
        ["enqueued", "active", "succeeded"],
        ["active", "succeeded"],
    ]
    assert records[0].events[0] == schema.decode_event(orjson.loads(before))


async def test_a_history_trimmed_under_a_smaller_cap_stays_marked_partial(store: Store) -> None:
    from dataclasses import replace

    store.settings = replace(store.settings, history_cap=2)
    await store.submit([new_job("j", retries=5, backoff_base_ms=0)])
    lease = await lease_one(store)
    await store.nack([NackItem("j", lease.token, "E", "again")])  # enqueued->active->retrying
    await store.promote_due()  # retrying->enqueued: the first entry is trimmed away
    assert len(await history_texts(store, "j")) == 2
    store.settings = replace(store.settings, history_cap=100)
    record = await store.get_job("j")
    assert record is not None and not record.history_whole
    assert [e.to_state for e in record.events] == ["retrying", "enqueued"]
