"""Each Lua script's contract, declared once: its KEYS and ARGV by name (with types and
units) and the shape of its reply.

Both sides come from these declarations. Python packs a call's arguments with
`Contract.pack` and reads replies with the `Reply` declarations; each script opens
with a generated block (between `-- contract:begin` and `-- contract:end`) that
documents its arguments and reads them into named Lua locals, counts checked. After
changing a declaration, regenerate the blocks with

    python -m gopher_server.store.contracts

(tests/store/test_contracts.py fails while a block is stale, and calls every script
through its declaration against a real Redis).

Every script receives the same KEYS (COMMON_KEYS) and the same first ARGV
(COMMON_ARGV); its own arguments follow from ARGV[A]. An argument is a scalar (`Arg`),
a counted list of records (`Each`: the count n, then n records of its fields), or,
last only, an optional tail (`Tail`, absent or '' when not given).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from gopher_server.store.chains import encode_follow_ups
from gopher_server.store.keys import Keys
from gopher_server.store.records import NewJob


# -- declarations ------------------------------------------------------------------------
@dataclass(frozen=True)
class Arg:
    """One argument. `kind` is its Python type: "str", "int", "float", "flag" (bool,
    sent as '1'/'0'), "opt" (int or float or None, sent as '' for None) or "jobs"
    (follow-up specs, sent as JSON, store/chains.py). In Lua, "int" and "float" read as
    numbers unless `raw` (the script compares the text, e.g. a lease token), "flag"
    as a boolean and the rest as strings. `attr` names the attribute a record's field
    is read from (default: `name`)."""

    name: str
    kind: str
    doc: str
    unit: str = ""
    raw: bool = False
    attr: str = ""


@dataclass(frozen=True)
class Each:
    """A counted list: the count (Lua local `count`), then that many records of
    `fields` (one value for single-field lists). Lua reads record i (1-based) with the
    generated function `reader(i)`: a table keyed by field name, or for one field
    the value itself."""

    name: str
    count: str
    reader: str
    fields: tuple[Arg, ...]
    doc: str


@dataclass(frozen=True)
class Tail:
    """Optional arguments at the end, laid out as `args` (scalars, then at most one
    single-field Each, last): absent, or '' as the first, when not given. Lua gets the
    index of the first in the local `name`, and the library `library` holds the
    generated function `reader(i)` returning the values in declared order."""

    name: str
    library: str
    reader: str
    args: tuple[Arg | Each, ...]
    doc: str


Segment = Arg | Each | Tail


@dataclass(frozen=True)
class Reply:
    """A reply's shape, for the header and for unpacking. `kind`: "int", "pair" (two
    typed values), "rows" (a flat array of records of `fields`, n of them when the
    call says how many, then `rest` values), "seq" (a fixed sequence of `parts`)."""

    kind: str
    doc: str
    fields: tuple[Arg, ...] = ()
    rest: str = ""
    parts: tuple[Reply, ...] = ()


@dataclass(frozen=True)
class Key:
    """One of the fixed KEYS: the Lua local, the Keys method naming it, its type."""

    local: str
    method: str
    redis_type: str
    doc: str


@dataclass(frozen=True)
class Common:
    """One of the fixed ARGV every script receives first, read into Lua local `local`
    (a number when kind is "int")."""

    local: str
    kind: str
    doc: str
    unit: str = ""


COMMON_KEYS: tuple[Key, ...] = (
    Key("K_SCHEDULED", "scheduled", "zset", "SCHEDULED job ids by run_at (ms)"),
    Key("K_RETRY", "retrying", "zset", "RETRYING job ids by next attempt (ms)"),
    Key("K_LEASES", "leases", "zset", "ACTIVE job ids by lease deadline (ms)"),
    Key("K_DEAD", "dead", "zset", "DEAD job ids by time of death (ms)"),
    Key("K_FINISHED", "finished", "zset", "SUCCEEDED/CANCELLED job ids by finish time (ms)"),
    Key("K_PAUSED", "paused", "set", "paused priorities"),
    Key("K_SEQ", "dispatch_seq", "str", "dispatch counter indexing the weighted pattern"),
    Key("K_CURSOR", "type_cursor", "hash", "priority -> counter rotating the first type tried"),
    Key("K_TYPES", "known_types", "set", "every job type ever submitted"),
    Key(
        "K_LIMITS", "rate_limits", "hash", "job type -> JSON {r: rate/s, b: burst, c: concurrency}"
    ),
    Key("K_ACTIVE", "type_active", "hash", "job type -> number of ACTIVE jobs"),
    Key("K_EVENTS", "events", "stream", "the global feed of recent transitions (capped)"),
    Key("K_HOLDS", "worker_holds", "hash", "worker id -> ms until which it gets no new jobs"),
    Key("K_CIRCUITS", "circuits", "hash", '"<worker>\\t<type>" -> "<state>:<until ms>"'),
    Key("K_IDS", "job_ids", "zset", "every stored job id, scored 0 (the id-prefix index)"),
)

COMMON_ARGV: tuple[Common, ...] = (
    Common("P_JOB", "str", "job hash key prefix (+ job id)"),
    Common("P_HIST", "str", "history list key prefix (+ job id), jobs from before hn"),
    Common("P_READY", "str", "ready list key prefix (+ priority ':' type)"),
    Common("P_INFLIGHT", "str", "inflight set key prefix (+ worker id)"),
    Common("P_EV", "str", "job channel prefix (+ job id)"),
    Common("P_TYPES", "str", "ready-types set key prefix (+ priority)"),
    Common("P_BUCKET", "str", "token bucket key prefix (+ job type)"),
    Common("P_IDEM", "str", "idempotency key prefix (+ client key)"),
    Common("NOW", "int", "now (time is injected, never read in a script)", "Unix ms"),
    Common("HIST_CAP", "int", "events kept per job history"),
    Common("CTL", "str", "control channel name"),
    Common("FEED_CAP", "int", "events feed cap, approximate (0 turns the feed off)"),
    Common("IDEM_TTL", "int", "idempotency TTL, for jobs created with a key", "ms"),
    Common("CHUNK_BYTES", "int", "payload chunk size: hash-max-listpack-value", "bytes"),
    Common("MAX_CHUNKS", "int", "most chunks per payload (0 or 1: never split)"),
    Common("P_GROUP", "str", "group hash key prefix (+ group id)"),
    Common("GROUP_RETENTION", "int", "retention of finished groups", "ms"),
)
# Index of the first script-specific argument.
A = len(COMMON_ARGV) + 1


def common_keys(keys: Keys) -> list[str]:
    """The fixed KEYS for namespace `keys`, in declared order."""
    return [getattr(keys, k.method)() for k in COMMON_KEYS]


# The 15 fields of a new job (store/records.py NewJob), as submit and submit_group take
# them; Lua reads each into a create_job table.
JOB_ARGS: tuple[Arg, ...] = (
    Arg("id", "str", "job id"),
    Arg("type", "str", "job type"),
    Arg("prio", "str", "priority word", attr="priority"),
    Arg("payload", "str", "payload JSON"),
    Arg("retries", "int", "retries", raw=True),
    Arg("run_at", "int", "due time (0 = now)", "ms", attr="run_at_ms"),
    Arg("idem", "str", "idempotency key ('' = none)", attr="idempotency_key"),
    Arg("timeout_ms", "int", "handler timeout (0 = none)", "ms", raw=True),
    Arg("lease_ms", "int", "lease TTL (0 = default)", "ms", raw=True),
    Arg("bo_base", "opt", "backoff base ('' = default)", "ms", attr="backoff_base_ms"),
    Arg("bo_factor", "opt", "backoff factor ('' = default)", attr="backoff_factor"),
    Arg("bo_max", "opt", "backoff max ('' = default)", "ms", attr="backoff_max_ms"),
    Arg("trace", "str", "trace context JSON ('' = none)"),
    Arg("on_ok", "jobs", "on_success follow-ups ('' = none)", attr="on_success"),
    Arg("on_fail", "jobs", "on_failure follow-ups ('' = none)", attr="on_failure"),
)

DISPATCH_TAIL = Tail(
    "DISPATCH",
    "_dispatch",
    "dispatch_args",
    (
        Arg("wid", "str", "worker id"),
        Arg("sid", "str", "stream session id (streams release only their own leases)"),
        Arg("capacity", "int", "worker capacity (most in-flight jobs)"),
        Arg("default_lease", "int", "lease TTL of jobs without their own", "ms"),
        Arg("strict", "flag", "strict priority order (else weighted)"),
        Arg(
            "pattern", "str", "weighted pattern: comma-separated priorities (strict: those served)"
        ),
        Arg("grants", "str", "permits lent by limited types' homes: 'type=n,...' ('' = none)"),
        Each("types", "ntypes", "", (Arg("type", "str", "job type"),), "job types"),
    ),
    "the dispatch arguments of a stream (dispatch_to in _dispatch.lua)",
)

LEASE_FIELDS: tuple[Arg, ...] = (
    Arg("job_id", "str", "job id"),
    Arg("type", "str", "job type"),
    Arg("priority", "str", "priority word"),
    Arg("payload", "str", "payload (chunks joined)"),
    Arg("attempt", "int", "attempt number, from 1"),
    Arg("retries", "int", "retries allowed"),
    Arg("token", "int", "lease (fencing) token"),
    Arg("deadline_ms", "int", "lease deadline", "Unix ms"),
    Arg("lease_ms", "int", "lease TTL", "ms"),
    Arg("timeout_ms", "int", "handler timeout (0 = none)", "ms"),
    Arg("created_ms", "int", "submit time", "Unix ms"),
    Arg("ready_ms", "int", "time it became ready", "Unix ms"),
    Arg("trace", "str", "trace context JSON"),
    Arg("parent_id", "str", "parent job id ('' = none)"),
)
DISPATCH_REPLY = Reply(
    "seq",
    "{jobs, wait_ms, rate_limited, limited_types}",
    parts=(
        Reply("rows", "jobs: 14 fields per leased job", fields=LEASE_FIELDS),
        Reply("int", "wait_ms: when > 0, a held-back type may go again in this many ms"),
        Reply("int", "rate_limited: times a type with ready work was held back"),
        Reply("rows", "limited_types: those types", fields=(Arg("type", "str", "job type"),)),
    ),
)
SUBMITTED = (
    Arg("job_id", "str", "job id"),
    Arg("state", "str", "its state (a duplicate's: the earlier job's)"),
    Arg("duplicate", "flag", "1 when an idempotency key matched an earlier job"),
)
CODE_TYPE = (
    Arg("code", "str", "outcome code"),
    Arg("type", "str", "job type ('' when missing)"),
)
ID_STATE = (Arg("job_id", "str", "job id"), Arg("state", "str", "its new state"))
FREED = "ids of the workers whose slots were freed"
STATE_DONE = (
    Arg("state", "str", "state after the call ('missing' for an unknown job)"),
    Arg("done", "flag", "1 when this call changed it"),
)


@dataclass(frozen=True)
class Contract:
    """One script: its name, a one-line summary, its own ARGV and its reply."""

    name: str
    summary: str
    argv: tuple[Segment, ...]
    reply: Reply

    def pack(self, *values: Any) -> list[Any]:
        """The script's own ARGV for `values`, one per top-level argument in declared
        order (an Each takes a sequence of records or tuples; a Tail a list or None)."""
        return _packer(self)(values)


def _item(name: str) -> Arg:
    return Arg(name, "str", name.replace("_", " "))


CONTRACTS: tuple[Contract, ...] = (
    Contract(
        "submit",
        "create a batch of jobs atomically (validated before the call)",
        (
            Each("jobs", "n", "job_at", JOB_ARGS, "jobs to create"),
            Arg("max_types", "int", "most job types the known-types set may hold (0 = no cap)"),
            DISPATCH_TAIL,
        ),
        Reply(
            "rows",
            "n triples; with a hand-off {those, dispatch reply}",
            fields=SUBMITTED,
        ),
    ),
    Contract(
        "dispatch",
        "lease up to (capacity - in-flight) ready jobs to one worker (dispatch_to)",
        (DISPATCH_TAIL,),
        DISPATCH_REPLY,
    ),
    Contract(
        "ack",
        "complete ACTIVE jobs whose lease token matches",
        (
            Arg("retention", "int", "retention of finished jobs", "ms"),
            Each(
                "acks",
                "n",
                "ack_at",
                (
                    Arg("id", "str", "job id"),
                    Arg("token", "int", "lease token", raw=True),
                    Arg("result", "str", "result JSON"),
                ),
                "acks",
            ),
            DISPATCH_TAIL,
        ),
        Reply(
            "rows",
            "n pairs, then " + FREED + "; with a refill {those, dispatch reply}",
            CODE_TYPE,
            FREED,
        ),
    ),
    Contract(
        "nack",
        "record failed (or handed-back) attempts of ACTIVE jobs whose token matches",
        (
            Arg("d_base", "float", "default backoff base", "ms"),
            Arg("d_factor", "float", "default backoff factor"),
            Arg("d_max", "float", "default backoff max", "ms"),
            Arg("hold_ms", "int", "hold after a draining handback", "ms"),
            Each(
                "nacks",
                "n",
                "nack_at",
                (
                    Arg("id", "str", "job id", attr="job_id"),
                    Arg("token", "int", "lease token", raw=True),
                    Arg("error_type", "str", "error type"),
                    Arg("message", "str", "error message"),
                    Arg("traceback", "str", "traceback"),
                    Arg("non_retryable", "flag", "straight to the DLQ"),
                    Arg(
                        "retry_after",
                        "int",
                        "retry delay (-1 = backoff)",
                        "ms",
                        attr="retry_after_ms",
                    ),
                    Arg("handback", "flag", "hand back: requeue at the front, attempt uncounted"),
                    Arg("jitter", "float", "in [0, 1), drawn by the caller"),
                    Arg("draining", "flag", "with handback: hold this worker"),
                ),
                "nacks",
            ),
        ),
        Reply("rows", "n pairs, then " + FREED, CODE_TYPE, FREED),
    ),
    Contract(
        "extend",
        "push out the deadline of ACTIVE leases whose token matches",
        (
            Arg(
                "default_lease",
                "int",
                "lease TTL when an item asks for 0 and the job has none",
                "ms",
            ),
            Each(
                "extensions",
                "n",
                "extension_at",
                (
                    Arg("id", "str", "job id"),
                    Arg("token", "int", "lease token", raw=True),
                    Arg("ttl", "int", "new TTL from now (0 = the job's lease TTL)", "ms"),
                ),
                "extensions",
            ),
        ),
        Reply(
            "rows",
            "n triples",
            (
                Arg("code", "str", "ok | stale | missing"),
                Arg("deadline_ms", "int", "new deadline (0 unless ok)"),
                Arg("type", "str", "the job's type ('' when missing)"),
            ),
        ),
    ),
    Contract(
        "permit",
        "in a limited type's home partition: lend, settle, extend and take back the "
        "permits that let other partitions lease its jobs (store/permits.py)",
        (
            Arg("op", "str", "acquire | settle | extend | release"),
            Arg("jtype", "str", "job type"),
            Arg("want", "int", "acquire: most permits wanted; settle: permits granted"),
            Arg("rid", "str", "acquire, settle: the reservation's id"),
            Arg("ttl", "int", "acquire: how long an unsettled reservation holds", "ms"),
            Each(
                "holders",
                "n",
                "holder_at",
                (
                    Arg("member", "str", "holder: '<partition>:<job id>'"),
                    Arg("deadline", "int", "until when it holds the permit (settle, extend)", "ms"),
                ),
                "settle, extend, release: the holders concerned",
            ),
        ),
        Reply(
            "pair",
            "{granted (acquire) or holders changed, wait_ms}",
            (
                Arg("count", "int", "permits granted, or holders changed"),
                Arg("wait_ms", "int", "acquire: when a token comes next, if none now (ms)"),
            ),
        ),
    ),
    Contract(
        "expire",
        "recover jobs whose lease deadline has passed",
        (
            Arg("limit", "int", "most jobs to recover in this call"),
            Arg("hold_ms", "int", "hold of a worker presumed hung", "ms"),
            Arg("streams_prefix", "str", "stream heartbeat hash prefix (+ worker id)"),
            Arg("fresh_ms", "int", "a heartbeat younger than this means a live stream", "ms"),
        ),
        Reply("rows", "pairs", ID_STATE),
    ),
    Contract(
        "release",
        "a worker's stream closed; recover the jobs leased through it",
        (Arg("wid", "str", "worker id"), Arg("sid", "str", "stream session id")),
        Reply("rows", "pairs", ID_STATE),
    ),
    Contract(
        "promote",
        "move due SCHEDULED and RETRYING jobs to their ready lists",
        (Arg("limit", "int", "most jobs to move per set in this call"),),
        Reply("int", "the number of jobs moved"),
    ),
    Contract(
        "cancel",
        "cancel a job that has not reached a final state",
        (Arg("id", "str", "job id"), Arg("retention", "int", "retention of finished jobs", "ms")),
        Reply("pair", "{state, cancelled}", STATE_DONE),
    ),
    Contract(
        "requeue_dead",
        "move DEAD jobs back to the end of their ready lists, attempts reset",
        (Each("ids", "n", "id_at", (_item("job_id"),), "job ids"),),
        Reply("int", "the number of jobs requeued"),
    ),
    Contract(
        "purge_dead",
        "delete DEAD jobs for good",
        (Each("ids", "n", "id_at", (_item("job_id"),), "job ids"),),
        Reply("int", "the number of jobs deleted"),
    ),
    Contract(
        "trim_finished",
        "delete the oldest finished jobs beyond a count",
        (
            Arg("keep", "int", "most finished jobs to keep"),
            Arg("batch", "int", "most jobs to delete in this call"),
        ),
        Reply("int", "the number of jobs deleted"),
    ),
    Contract(
        "prune_holds",
        "forget worker holds that can no longer matter",
        (
            Arg("streams_prefix", "str", "stream heartbeat hash prefix (+ worker id)"),
            Arg("fresh_ms", "int", "a heartbeat younger than this means a live stream", "ms"),
        ),
        Reply("int", "the number of holds removed"),
    ),
    Contract(
        "submit_group",
        "create a group and its members atomically (validated before the call)",
        (
            Arg("gid", "str", "group id"),
            Arg("idem_key", "str", "group idempotency key name ('' = none)"),
            Arg("idem", "str", "the client's idempotency key ('' = none)"),
            Arg("on_done", "jobs", "on_complete follow-ups"),
            Arg("on_ok", "jobs", "on_success follow-ups"),
            Arg("on_fail", "jobs", "on_failure follow-ups"),
            Arg("trace", "str", "trace context JSON for follow-ups without their own"),
            Arg("max_types", "int", "most job types the known-types set may hold (0 = no cap)"),
            Each("members", "n", "job_at", JOB_ARGS, "members, laid out as submit's jobs"),
        ),
        Reply(
            "rows",
            "{group id, duplicate, then n triples}",
            fields=SUBMITTED,
            rest="",
            parts=(
                Reply("str", "group id"),
                Reply("flag", "duplicate: 1 when the key named an earlier group"),
            ),
        ),
    ),
    Contract(
        "watch",
        "mark a job watched: from now on its transitions publish on its job channel",
        (Arg("id", "str", "job id"),),
        Reply("int", "1 when the job exists (and is now marked), else 0"),
    ),
    Contract(
        "run_now",
        "move one SCHEDULED or RETRYING job to its ready list at once",
        (Arg("id", "str", "job id"),),
        Reply("pair", "{state, moved}", STATE_DONE),
    ),
    Contract(
        "filter_ids",
        "which of the given jobs pass a listing's filters; reads only",
        (
            Arg("want_state", "str", "state word ('' = any)"),
            Arg("want_type", "str", "job type ('' = any)"),
            Arg("want_prio", "str", "priority word ('' = any)"),
            Arg(
                "needle",
                "str",
                "lower-case ASCII text the last error must contain, ASCII letters "
                "compared case-insensitively ('' = any)",
            ),
            Arg("with_error", "flag", "return each passing job's last error (else '')"),
            Each("ids", "n", "id_at", (_item("job_id"),), "job ids, in listing order"),
        ),
        Reply(
            "rows",
            "pairs, in the order given",
            (Arg("job_id", "str", "a passing job"), Arg("last_error", "str", "its last error")),
        ),
    ),
)
CONTRACT: dict[str, Contract] = {c.name: c for c in CONTRACTS}


# -- packing -------------------------------------------------------------------------------
def _opt(value: int | float | None) -> str:
    return "" if value is None else str(value)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _jobs(value: Sequence[NewJob] | str) -> str:
    return value if isinstance(value, str) else encode_follow_ups(value)


# Python value -> script argument, per kind (redis-py encodes str, int and float itself).
_TO_ARG: dict[str, Callable[[Any], Any] | None] = {
    "str": None,
    "int": None,
    "float": None,
    "flag": _flag,
    "opt": _opt,
    "jobs": _jobs,
}


def _each_step(each: Each) -> Callable[[list[Any], Any], None]:
    """Appends the count, then every record's fields in declared order. A record is an
    object with the fields' attributes, a tuple of them in order, or (one field) the
    value itself. The loop is compiled once per declaration from its field list: this
    is the hot path of every submit, ack and nack, so no per-call reflection."""
    env: dict[str, Any] = {"isinstance": isinstance, "tuple": tuple}
    by_attr, by_index = [], []
    for i, f in enumerate(each.fields):
        fn = _TO_ARG[f.kind]
        if fn is not None:
            env[f"_c{i}"] = fn
        wrap = (lambda v, i=i: f"_c{i}({v})") if fn is not None else (lambda v: v)
        by_attr.append(wrap(f"r.{f.attr or f.name}"))
        by_index.append(wrap(f"r[{i}]"))
    if len(each.fields) == 1:
        body = f"""
def step(out, records):
    out.append(len(records))
    for r in records:
        out.append(r if isinstance(r, str) else {by_attr[0]})
"""
    else:
        body = f"""
def step(out, records):
    out.append(len(records))
    if records and isinstance(records[0], tuple):
        for r in records:
            out += ({", ".join(by_index)})
    else:
        for r in records:
            out += ({", ".join(by_attr)})
"""
    # The source holds only the declared attribute names and indices.
    exec(compile(body, f"<contract {each.name}>", "exec"), env)
    step: Callable[[list[Any], Any], None] = env["step"]
    return step


def _scalar_step(convert: Callable[[Any], Any] | None) -> Callable[[list[Any], Any], None]:
    if convert is None:
        return lambda out, value: out.append(value)
    return lambda out, value: out.append(convert(value))


def _tail_step(tail: Tail) -> Callable[[list[Any], Any], None]:
    """Appends a tail's values (a tuple in declared order), or nothing for None."""
    steps = [
        _scalar_step(_TO_ARG[a.kind]) if isinstance(a, Arg) else _each_step(a) for a in tail.args
    ]

    def step(out: list[Any], values: Any) -> None:
        if values is None:
            return
        for inner, value in zip(steps, values, strict=True):
            inner(out, value)

    return step


_PACKERS: dict[str, Callable[[Sequence[Any]], list[Any]]] = {}


def _packer(contract: Contract) -> Callable[[Sequence[Any]], list[Any]]:
    """The packing function of `contract`, built once."""
    found = _PACKERS.get(contract.name)
    if found is not None:
        return found
    steps: list[Callable[[list[Any], Any], None]] = []
    for seg in contract.argv:
        if isinstance(seg, Arg):
            steps.append(_scalar_step(_TO_ARG[seg.kind]))
        elif isinstance(seg, Each):
            steps.append(_each_step(seg))
        else:
            steps.append(_tail_step(seg))
    name, count = contract.name, len(steps)

    def pack(values: Sequence[Any]) -> list[Any]:
        if len(values) != count:
            raise TypeError(f"script {name} takes {count} arguments, got {len(values)}")
        out: list[Any] = []
        for step, value in zip(steps, values, strict=True):
            step(out, value)
        return out

    _PACKERS[contract.name] = pack
    return pack


# -- unpacking -------------------------------------------------------------------------------
_FROM_REPLY: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "float": float,
    "flag": lambda v: bool(int(v)),
}


def row_reader(fields: tuple[Arg, ...]) -> Callable[[list[Any]], list[Any]]:
    """Reads a flat array of records of `fields` into typed tuples. Compiled once per
    declaration into one comprehension (dispatch and submit replies are hot paths)."""
    width = len(fields)
    env: dict[str, Any] = {"ValueError": ValueError, "len": len, "range": range}
    values = []
    for k, f in enumerate(fields):
        at = "flat[i]" if k == 0 else f"flat[i + {k}]"
        if f.kind == "str":
            values.append(at)
        else:
            env[f"_c{k}"] = _FROM_REPLY[f.kind]
            values.append(f"_c{k}({at})")
    body = f"""
def read(flat):
    if len(flat) % {width}:
        raise ValueError(f"reply of {{len(flat)}} values is not records of {width}")
    return [({", ".join(values)},) for i in range(0, len(flat), {width})]
"""
    # The source holds only indices and the declared conversions.
    exec(compile(body, "<contract reply>", "exec"), env)
    read: Callable[[list[Any]], list[Any]] = env["read"]
    return read


# -- the generated Lua blocks ------------------------------------------------------------------
BEGIN_MARK = "-- contract:begin"
BEGIN = BEGIN_MARK + " (generated from gopher_server/store/contracts.py; do not edit)"
END = "-- contract:end"
LUA = resources.files("gopher_server.store") / "lua"


def _unit(a: Arg | Common) -> str:
    return f", {a.unit}" if a.unit else ""


def _lua_value(a: Arg, index: str) -> str:
    if a.kind in ("int", "float") and not a.raw:
        return f"num_arg({index}, '{a.name}')"
    if a.kind == "flag":
        return f"ARGV[{index}] == '1'"
    return f"ARGV[{index}]"


def _item_value(a: Arg, index: str) -> str:
    # Record fields are read without the count check (the hot loops stay lean).
    if a.kind in ("int", "float") and not a.raw:
        return f"tonumber(ARGV[{index}])"
    if a.kind == "flag":
        return f"ARGV[{index}] == '1'"
    return f"ARGV[{index}]"


def _reply_lines(reply: Reply, indent: str = "--   ") -> list[str]:
    lines = [f"{indent}{reply.doc}"]
    if reply.kind == "rows" and reply.fields:
        lines.append(
            indent
            + "  record: "
            + ", ".join(f"{f.name} ({f.kind}{_unit(f)})" for f in reply.fields)
        )
    for part in reply.parts:
        lines += _reply_lines(part, indent + "  ")
    return lines


def script_block(contract: Contract) -> str:
    """The generated block opening `contract`'s .lua file."""
    doc = [BEGIN, f"-- {contract.name}: {contract.summary}.", "--"]
    code: list[str] = []
    index = "A"
    offset = 0
    fixed = True  # whether the end of the arguments is known without a count

    def at() -> str:
        return index if offset == 0 else f"{index} + {offset}"

    for seg in contract.argv:
        if isinstance(seg, Arg):
            doc.append(f"-- ARGV[{at()}]  {seg.name} ({seg.kind}{_unit(seg)}): {seg.doc}")
            code.append(f"local {seg.name} = {_lua_value(seg, at())}")
            offset += 1
        elif isinstance(seg, Each):
            width = len(seg.fields)
            base = f"{seg.name.upper()}_AT"
            doc.append(
                f"-- ARGV[{at()}]  {seg.count}: number of {seg.doc}, "
                f"then {seg.count} records of {width}:"
            )
            for f in seg.fields:
                doc.append(f"--   {f.name} ({f.kind}{_unit(f)}): {f.doc}")
            code.append(f"local {seg.count} = num_arg({at()}, '{seg.count}')")
            offset += 1
            code.append(f"local {base} = {at()}")
            if width == 1:
                code.append(f"local function {seg.reader}(i) return ARGV[{base} + i - 1] end")
            else:
                code.append(f"local function {seg.reader}(i)")
                code.append(f"  local b = {base} + (i - 1) * {width}")
                code.append("  return {")
                for k, f in enumerate(seg.fields):
                    index_k = "b" if k == 0 else f"b + {k}"
                    code.append(f"    {f.name} = {_item_value(f, index_k)},")
                code.append("  }")
                code.append("end")
            index, offset = (
                f"{base} + {seg.count} * {width}" if width > 1 else f"{base} + {seg.count}",
                0,
            )
        else:
            names = ", ".join(a.name for a in seg.args)
            doc.append(f"-- ARGV[{at()} ...]  optional {seg.name}: {seg.doc}:")
            doc.append(f"--   {names} (read by {seg.reader} in {seg.library}.lua)")
            code.append(f"local {seg.name} = {at()}")
            fixed = False
    doc.append("--")
    doc.append("-- Returns:")
    doc += _reply_lines(contract.reply)
    # The count: the index of the last argument (one before the next one's).
    last = index if offset == 1 else f"{index} - 1" if offset == 0 else f"{index} + {offset - 1}"
    code.append(f"check_argc({last})" if fixed else f"check_argc_at_least({last})")
    return "\n".join([*doc, *code, END])


def tail_block(tail: Tail) -> str:
    """The generated block of the library that reads `tail`: its reader function."""
    doc = [BEGIN, f"-- {tail.reader}(i): {tail.doc}, from ARGV[i]:"]
    code = [f"local function {tail.reader}(i)"]
    names: list[str] = []
    k = 0
    for a in tail.args:
        at = "i" if k == 0 else f"i + {k}"
        if isinstance(a, Arg):
            doc.append(f"--   {a.name} ({a.kind}{_unit(a)}): {a.doc}")
            code.append(f"  local {a.name} = {_lua_value(a, at)}")
            names.append(a.name)
            k += 1
        else:
            if a is not tail.args[-1] or len(a.fields) != 1:
                raise ValueError(f"{tail.name}: only a last, single-field list is supported")
            doc.append(f"--   {a.count} (int), then {a.count} values: {a.doc}")
            code.append(f"  local {a.count} = num_arg({at}, '{a.count}')")
            code.append(f"  local {a.name} = {{}}")
            code.append(f"  for k = 1, {a.count} do {a.name}[k] = ARGV[{at} + k] end")
            code.append(f"  check_argc({at} + {a.count})")
            names.append(a.name)
    doc.append(f"-- Returns {', '.join(names)}.")
    code.append(f"  return {', '.join(names)}")
    code.append("end")
    return "\n".join([*doc, *code, END])


TAILS = {DISPATCH_TAIL.library: DISPATCH_TAIL}
GENERATED = ("_prelude", *TAILS, *(c.name for c in CONTRACTS))


def prelude_block() -> str:
    """The generated block opening _prelude.lua: the KEYS and ARGV every script gets."""
    lines = [BEGIN, "-- KEYS (the same fixed list for every script, all in one hash-tag slot):"]
    for i, k in enumerate(COMMON_KEYS, start=1):
        lines.append(f"--   KEYS[{i}]  {k.local} ({k.redis_type}, Keys.{k.method}): {k.doc}")
    lines.append("-- ARGV, the same head for every script:")
    for i, c in enumerate(COMMON_ARGV, start=1):
        lines.append(f"--   ARGV[{i}]  {c.local} ({c.kind}{_unit(c)}): {c.doc}")
    lines.append(f"-- Script-specific arguments start at ARGV[A] (A = {A}).")
    for i, k in enumerate(COMMON_KEYS, start=1):
        lines.append(f"local {k.local} = KEYS[{i}]")
    for i, c in enumerate(COMMON_ARGV, start=1):
        value = f"tonumber(ARGV[{i}])" if c.kind == "int" else f"ARGV[{i}]"
        lines.append(f"local {c.local} = {value}")
    lines.append(f"local A = {A}")
    lines.append(END)
    return "\n".join(lines)


def _replace_block(text: str, block: str, name: str) -> str:
    begin, end = text.find(BEGIN_MARK), text.find(END)
    if begin < 0 or end < begin:
        raise ValueError(f"{name} has no contract block ({BEGIN_MARK!r} ... {END!r})")
    return text[:begin] + block + text[end + len(END) :]


def expected_text(name: str) -> str:
    """The text lua/<name>.lua should have: its own with the block regenerated."""
    text = (LUA / f"{name}.lua").read_text()
    if name == "_prelude":
        block = prelude_block()
    elif name in TAILS:
        block = tail_block(TAILS[name])
    else:
        block = script_block(CONTRACT[name])
    return _replace_block(text, block, name)


def main(argv: Sequence[str]) -> int:
    """Rewrite every script's block from the declarations."""
    del argv
    for name in GENERATED:
        path = Path(str(LUA / f"{name}.lua"))
        path.write_text(expected_text(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
