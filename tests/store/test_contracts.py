"""Every script's contract (store/contracts.py) against the scripts themselves: the
generated blocks are current, every script runs through its declaration against a
real Redis with the declared reply shape, and a call that passes too few or too many
arguments, or text where a number belongs, is refused before it changes anything."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from gopher_server.store import contracts
from gopher_server.store import lua_sources as scripts
from gopher_server.store.contracts import CONTRACT, Arg, Each, Reply
from gopher_server.store.records import Lease, NewJob, SubmitResult
from gopher_server.store.store import Store
from tests.store.helpers import new_job

# One valid call per script, its own arguments in declared order ("j1" exists, leased
# to worker w1; other ids name no job).
SAMPLES: dict[str, tuple[Any, ...]] = {
    "submit": ([new_job("s1"), new_job("s2", priority="high")], 0, None),
    "dispatch": (("w2", "s2", 4, 30_000, False, "high,normal,low", "", ("email",)),),
    "ack": (60_000, [("j1", 1, "{}"), ("nope", 1, "{}")], None),
    "nack": (
        1000.0,
        2.0,
        60_000.0,
        1000,
        [("j1", 1, "E", "m", "tb", False, -1, False, 0.5, False)],
    ),
    "extend": (30_000, [("j1", 1, 0), ("nope", 1, 0)]),
    "expire": (100, 1000, "p:", 15_000),
    "release": ("w1", "s1"),
    "promote": (100,),
    "cancel": ("j1", 60_000),
    "requeue_dead": (["j1", "nope"],),
    "purge_dead": (["j1", "nope"],),
    "trim_finished": (10, 10),
    "prune_holds": ("p:", 15_000),
    "submit_group": ("g1", "", "", (), (), (), "", 0, [new_job("m1"), new_job("m2")]),
    "run_now": ("j1",),
    "watch": ("j1",),
    "filter_ids": ("", "email", "", "", True, ["j1", "nope"]),
    "permit": ("settle", "email", 2, "r1", 0, [("1:j1", 1_800_000_060_000)]),
}


def test_every_script_has_a_contract_and_a_sample() -> None:
    assert set(scripts.SCRIPT_NAMES) == set(CONTRACT) == set(SAMPLES)


@pytest.mark.parametrize("name", contracts.GENERATED)
def test_the_generated_block_is_current(name: str) -> None:
    text = (contracts.LUA / f"{name}.lua").read_text()
    assert text == contracts.expected_text(name), (
        f"lua/{name}.lua is stale: run `python -m gopher_server.store.contracts`"
    )


def test_records_follow_the_declared_rows() -> None:
    names = [f.name for f in dataclasses.fields(Lease)]
    assert names == [a.name for a in contracts.LEASE_FIELDS]
    assert [f.name for f in dataclasses.fields(SubmitResult)] == [
        "job_id",
        "state",
        "duplicate",
    ]
    job_attrs = {f.name for f in dataclasses.fields(NewJob)}
    assert {a.attr or a.name for a in contracts.JOB_ARGS} <= job_attrs


def test_the_common_keys_are_the_store_keys(store: Store) -> None:
    assert store.keys.script_keys() == contracts.common_keys(store.keys)
    assert (
        len(store._common_argv(store.parts[0], 0)) == len(contracts.COMMON_ARGV) == contracts.A - 1
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())


def _conforms(reply: Reply, raw: Any, fields_ok: bool = True) -> None:
    """Fails unless `raw` has the shape `reply` declares."""
    if reply.kind in ("int", "flag"):
        assert isinstance(raw, int), (reply.doc, raw)
    elif reply.kind == "str":
        assert isinstance(raw, str), (reply.doc, raw)
    elif reply.kind == "pair":
        assert isinstance(raw, list) and len(raw) == 2, raw
        for field, value in zip(reply.fields, raw, strict=True):
            _value(field, value)
    elif reply.kind == "seq":
        assert isinstance(raw, list) and len(raw) == len(reply.parts), raw
        for part, value in zip(reply.parts, raw, strict=True):
            _conforms(part, value)
    else:  # rows, after any fixed head (`parts`)
        assert isinstance(raw, list), raw
        for part, value in zip(reply.parts, raw, strict=False):
            _conforms(part, value)
        rows = raw[len(reply.parts) :]
        width = len(reply.fields)
        if reply.rest:
            return  # the caller knows how many rows come before the rest
        assert len(rows) % width == 0, (reply.doc, rows)
        for start in range(0, len(rows), width):
            for field, value in zip(reply.fields, rows[start : start + width], strict=True):
                _value(field, value)


def _value(field: Arg, value: Any) -> None:
    if field.kind in ("int", "flag"):
        assert _is_int(value), (field.name, value)
    else:
        assert isinstance(value, str), (field.name, value)


async def _prepare(store: Store) -> None:
    await store.submit([new_job("j1")])
    leased = await store.dispatch("w1", "s1", 1, ["email"])
    assert [lease.token for lease in leased.leases] == [1]


async def _call(store: Store, name: str, argv: list[Any]) -> Any:
    common = store._common_argv(store.parts[0], store.clock.now_ms())
    return await store._scripts.run(name, store.parts[0].script_keys, [*common, *argv])


async def _snapshot(aredis: aioredis.Redis) -> dict[str, Any]:
    return {str(key): await aredis.dump(key) for key in sorted(await aredis.keys("*"))}


@pytest.mark.parametrize("name", scripts.SCRIPT_NAMES)
async def test_every_script_runs_through_its_contract(store: Store, name: str) -> None:
    await _prepare(store)
    contract = CONTRACT[name]
    raw = await _call(store, name, contract.pack(*SAMPLES[name]))
    if name == "dispatch":  # a job to lease, so a lease row is checked too
        raw = await _call(store, "submit", CONTRACT["submit"].pack([new_job("j2")], 0, None))
        raw = await _call(store, name, contract.pack(*SAMPLES[name]))
        assert len(raw[0]) == len(contracts.LEASE_FIELDS)
    if contract.reply.rest:  # n records first, then the rest
        n = len(SAMPLES[name][next(i for i, s in enumerate(contract.argv) if isinstance(s, Each))])
        rows = raw[: n * len(contract.reply.fields)]
        _conforms(dataclasses.replace(contract.reply, rest=""), rows)
        assert all(isinstance(v, str) for v in raw[len(rows) :])
    else:
        _conforms(contract.reply, raw)


@pytest.mark.parametrize("name", scripts.SCRIPT_NAMES)
async def test_a_call_missing_its_last_argument_is_refused(
    store: Store, aredis: aioredis.Redis, name: str
) -> None:
    await _prepare(store)
    argv = CONTRACT[name].pack(*SAMPLES[name])
    before = await _snapshot(aredis)
    with pytest.raises(ResponseError, match="ARGV"):
        await _call(store, name, argv[:-1])
    assert await _snapshot(aredis) == before


FIXED = [n for n, c in CONTRACT.items() if not isinstance(c.argv[-1], contracts.Tail)]


@pytest.mark.parametrize("name", FIXED)
async def test_a_call_with_an_extra_argument_is_refused(
    store: Store, aredis: aioredis.Redis, name: str
) -> None:
    await _prepare(store)
    argv = CONTRACT[name].pack(*SAMPLES[name])
    before = await _snapshot(aredis)
    with pytest.raises(ResponseError, match="ARGV"):
        await _call(store, name, [*argv, "extra"])
    assert await _snapshot(aredis) == before


NUMBERS = [
    (name, i, seg.name)
    for name, c in CONTRACT.items()
    for i, seg in enumerate(c.argv)
    if isinstance(seg, Arg) and seg.kind in ("int", "float") and not seg.raw
]


@pytest.mark.parametrize(("name", "index", "arg"), NUMBERS)
async def test_text_where_a_number_belongs_is_refused(
    store: Store, aredis: aioredis.Redis, name: str, index: int, arg: str
) -> None:
    await _prepare(store)
    values = list(SAMPLES[name])
    values[index] = "ten"  # e.g. two arguments passed in the wrong order
    argv = CONTRACT[name].pack(*values)
    before = await _snapshot(aredis)
    with pytest.raises(ResponseError, match=f"{arg} must be a number"):
        await _call(store, name, argv)
    assert await _snapshot(aredis) == before


def test_packing_counts_the_arguments() -> None:
    with pytest.raises(TypeError, match="takes 3 arguments"):
        CONTRACT["submit"].pack([new_job("x")], 0)
