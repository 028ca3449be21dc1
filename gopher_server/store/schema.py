"""What the store writes into Redis and what it means, declared once.

- The state and priority words the hashes, lists and scripts use, derived from the
  contract's enums (`JOB_STATE_ENQUEUED` is "enqueued", as the REST shim names it).
- The job hash: every field's name, its type, what an absent field reads as, and
  whether the value is stored when it equals that default (a field left out of a
  queued job's hash is memory saved per job). `decode_job` is the one reader; above
  the store a job is a typed `JobRecord` and no hash field name is seen.
- A job history entry (fields of the job hash) and a feed entry (the global stream).
- The control channel's grammar: one encoder and one parser for every message kind.

The Lua scripts (lua/*.lua) write the same names; tests/store/test_schema.py pins the
two sides together. Adding a job field: declare it in JOB_FIELDS, add the attribute to
`JobRecord` (store/records.py), write it in the scripts that set it, and test it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from gopher.v1 import job_pb2

from gopher_server.store.records import FeedEntry, HistoryEvent, JobRecord


# -- words -------------------------------------------------------------------------
def _words(enum: EnumTypeWrapper, prefix: str) -> dict[str, int]:
    """Word -> value of every non-zero value of a contract enum, in enum order."""
    return {name.removeprefix(prefix).lower(): value for name, value in enum.items() if value}


# Lifecycle state words (scheduled, enqueued, active, ...), in JobState order.
STATES: dict[str, job_pb2.JobState] = _words(job_pb2.JobState, "JOB_STATE_")  # type: ignore[assignment]
STATE_WORDS: dict[int, str] = {v: k for k, v in STATES.items()}
# Priority words, in Priority order, which is also the order strict dispatch serves.
PRIORITIES: dict[str, job_pb2.Priority] = _words(job_pb2.Priority, "PRIORITY_")  # type: ignore[assignment]
PRIORITY_WORDS: tuple[str, ...] = tuple(PRIORITIES)
GROUP_STATES: dict[str, job_pb2.GroupState] = _words(job_pb2.GroupState, "GROUP_STATE_")  # type: ignore[assignment]


def state_word(state: int) -> str:
    """The stored word of a JobState value ('' for UNSPECIFIED or unknown)."""
    return STATE_WORDS.get(state, "")


SCHEDULED = state_word(job_pb2.JOB_STATE_SCHEDULED)
ENQUEUED = state_word(job_pb2.JOB_STATE_ENQUEUED)
ACTIVE = state_word(job_pb2.JOB_STATE_ACTIVE)
RETRYING = state_word(job_pb2.JOB_STATE_RETRYING)
SUCCEEDED = state_word(job_pb2.JOB_STATE_SUCCEEDED)
DEAD = state_word(job_pb2.JOB_STATE_DEAD)
CANCELLED = state_word(job_pb2.JOB_STATE_CANCELLED)
FINAL_STATES = frozenset({SUCCEEDED, DEAD, CANCELLED})


# -- the job hash -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HashField:
    """One field of the job hash. `default` is what an absent field reads as; with
    `stored_when_default` False a value equal to it is left out of the hash (a storage
    constant, not a broker default: changing it changes what stored jobs read as)."""

    name: str  # in the Redis hash (short: every name is stored in every job hash)
    attr: str  # the JobRecord attribute
    kind: str  # "str", "int" (ms unless noted), "float", "int?" / "float?" (None = unset), "ids"
    default: Any
    stored_when_default: bool = True
    doc: str = ""


_F = HashField
JOB_FIELDS: tuple[HashField, ...] = (
    _F("type", "type", "str", "", doc="job type"),
    _F("prio", "priority", "str", "normal", False, "priority word"),
    _F("state", "state", "str", "", doc="lifecycle state word"),
    _F("payload", "payload", "str", "{}", doc="payload JSON (chunked, see PAYLOAD_CHUNKS)"),
    _F("retries", "retries", "int", 3, False, "retries allowed after the first attempt"),
    _F("attempt", "attempt", "int", 0, doc="attempts delivered (counted at lease)"),
    _F("token", "token", "int", 0, doc="fencing token of the latest lease"),
    _F("created", "created_ms", "int", 0, doc="submit time"),
    _F("run_at", "run_at_ms", "int", 0, doc="due time while scheduled or retrying"),
    _F("ready", "ready_ms", "int", 0, doc="last time it became ready (absent: created)"),
    _F("started", "started_ms", "int", 0, doc="latest lease time"),
    _F("finished", "finished_ms", "int", 0, doc="time it reached a final state"),
    _F("deadline", "deadline_ms", "int", 0, doc="lease deadline while active"),
    _F("wid", "worker_id", "str", "", doc="worker of the latest lease"),
    _F("sid", "session_id", "str", "", doc="stream session of the lease while active"),
    _F("idem", "idempotency_key", "str", "", doc="client idempotency key"),
    _F("timeout_ms", "timeout_ms", "int", 0, False, "handler timeout (0: none)"),
    _F("lease_ms", "lease_ms", "int", 0, False, "lease TTL (0: broker default)"),
    _F("bo_base", "backoff_base_ms", "int?", None, doc="retry backoff base (unset: default)"),
    _F("bo_factor", "backoff_factor", "float?", None, doc="retry backoff factor"),
    _F("bo_max", "backoff_max_ms", "int?", None, doc="retry backoff cap"),
    _F("trace", "trace", "str", "", doc="trace context JSON"),
    _F("result", "result", "str", "", doc="result JSON once succeeded"),
    _F("last_error", "last_error", "str", "", doc='"<type>: <message>" of the last failure'),
    _F("on_ok", "on_success", "str", "", doc="follow-up specs JSON (store/chains.py)"),
    _F("on_fail", "on_failure", "str", "", doc="follow-up specs JSON for a death"),
    _F("follow_ups", "follow_up_ids", "ids", (), doc="ids of the follow-ups it submitted"),
    _F("parent", "parent_id", "str", "", doc="job whose outcome submitted it"),
    _F("grp", "group_id", "str", "", doc="group it is a member of"),
    _F("pgrp", "parent_group_id", "str", "", doc="group whose outcome submitted it"),
    _F("watch", "watched", "int", 0, doc="1 once watched: transitions publish (lua/watch.lua)"),
)
JOB_FIELD = {f.attr: f for f in JOB_FIELDS}

# Payload chunking (lua/_job.lua `split_payload`): 'payload' holds the first chunk,
# 'p2', 'p3', ... the rest, and 'pn' their count, present only for two or more.
CHUNK_COUNT_FIELD = "pn"


def chunk_field(index: int) -> str:
    """Name of payload chunk `index` (1-based): 'payload', then 'p2', 'p3', ..."""
    return "payload" if index == 1 else f"p{index}"


def _int(raw: str) -> int:
    return int(float(raw)) if raw else 0


_DECODERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": _int,
    "float": float,
    "int?": lambda raw: int(float(raw)) if raw else None,
    "float?": lambda raw: float(raw) if raw else None,
    "ids": lambda raw: tuple(i for i in raw.split(",") if i),
}
# (hash name, attribute, decoder, default) per field, built once.
_PLAN = tuple((f.name, f.attr, _DECODERS[f.kind], f.default) for f in JOB_FIELDS)
# Values left out of the hash that read as something other than empty or 0 (prio,
# retries), by field name: `joined_fields` fills them in.
UNSTORED: dict[str, str] = {
    f.name: str(f.default)
    for f in JOB_FIELDS
    if not f.stored_when_default and f.default not in ("", 0, None)
}


def joined_fields(raw: Mapping[str, str]) -> dict[str, str]:
    """A job's raw hash with its payload chunks joined into 'payload' and the values
    left out (UNSTORED) filled in: one value per declared field present (the history's
    fields are left out: `job_history` reads them)."""
    fields = {**UNSTORED, **raw}
    count = fields.pop(CHUNK_COUNT_FIELD, None)
    if count is not None:
        parts = [fields.pop(chunk_field(i), "") for i in range(1, int(count) + 1)]
        fields["payload"] = "".join(parts)
    if fields.pop(HISTORY_COUNT_FIELD, None) is not None:
        for name in [k for k in fields if _is_history_field(k)]:
            del fields[name]
    return fields


def decode_job(
    job_id: str,
    raw: Mapping[str, str],
    events: list[HistoryEvent] | None = None,
    history_whole: bool = True,
) -> JobRecord:
    """The typed record of a job from its raw hash (HGETALL) and decoded history."""
    fields = joined_fields(raw)
    values: dict[str, Any] = {}
    for name, attr, decode, default in _PLAN:
        value = fields.get(name)
        values[attr] = default if value is None else decode(value)
    return JobRecord(id=job_id, events=events or [], history_whole=history_whole, **values)


# -- history and feed entries -----------------------------------------------------------
# A job's history is kept in its hash (lua/_history.lua `history_put`): entry n in field
# history_field(n), their count in HISTORY_COUNT_FIELD; past the cap the oldest go. A
# job whose hash has no count was created before, and keeps its history in the list
# Keys.history(id), entries of the same two forms.
HISTORY_COUNT_FIELD = "hn"


def history_field(n: int) -> str:
    """Name of history entry `n` (1-based) in the job hash: 'h1', 'h2', ..."""
    return f"h{n}"


def _is_history_field(name: str) -> bool:
    return name[:1] == "h" and name[1:].isdigit()


# A plain entry: these values in this order, separated by single spaces (none holds a
# space: a worker id with one is written as JSON instead).
HISTORY_PLAIN: tuple[str, ...] = ("time_ms", "from_state", "to_state", "attempt", "worker_id")
# An entry with an error (or an unusual worker id) is JSON with these keys; short, since
# a job keeps up to `history_cap` entries.
HISTORY_FIELDS: dict[str, str] = {
    "t": "time_ms",
    "f": "from_state",
    "s": "to_state",
    "a": "attempt",
    "w": "worker_id",
    "et": "error_type",
    "em": "error_message",
    "tb": "traceback",
}


def decode_history_entry(entry: str) -> HistoryEvent:
    """A history entry from its stored text, plain or JSON."""
    if entry.startswith("{"):
        return decode_event(orjson.loads(entry))
    values = entry.split(" ", len(HISTORY_PLAIN) - 1)
    values += [""] * (len(HISTORY_PLAIN) - len(values))
    at, from_state, to_state, attempt, worker = values
    return HistoryEvent(int(at or "0"), from_state, to_state, int(attempt or "0"), worker)


def job_history(
    raw: Mapping[str, str], listed: Sequence[str], cap: int
) -> tuple[list[HistoryEvent], bool]:
    """A job's history, oldest first, from its raw hash (or, for a job from before the
    history moved into the hash, the entries of its list), and whether it is whole:
    False when the cap may have dropped older entries."""
    count = raw.get(HISTORY_COUNT_FIELD)
    if count is None:
        # The list is trimmed only past its cap, so one under it was never trimmed.
        return [decode_history_entry(e) for e in listed], len(listed) < cap
    n = int(count)
    texts = (raw.get(history_field(i)) for i in range(max(1, n - cap + 1), n + 1))
    events = [decode_history_entry(t) for t in texts if t is not None]
    # Whole when the first entry is among those read and still kept (the cap may have
    # been smaller when the hash was trimmed).
    return events, n == 0 or (n <= cap and history_field(1) in raw)


def decode_event(entry: Mapping[str, Any]) -> HistoryEvent:
    """A history entry as decoded from its JSON."""
    return HistoryEvent(
        time_ms=int(entry.get("t", 0)),
        from_state=str(entry.get("f", "")),
        to_state=str(entry.get("s", "")),
        attempt=int(entry.get("a", 0)),
        worker_id=str(entry.get("w", "")),
        error_type=None if "et" not in entry else str(entry["et"]),
        error_message=str(entry.get("em", "")),
        traceback=str(entry.get("tb", "")),
    )


# A feed entry (a stream entry of Keys.events, lua/_history.lua `feed`) has one field,
# FEED_VALUE: these values in this order, separated by single spaces. None of them
# holds a space (job ids, types and worker ids are names; states and numbers) except
# the error's kind, which is last and takes the rest of the text.
FEED_VALUE = "v"
FEED_PACKED: tuple[str, ...] = (
    "job_id",
    "type",
    "from_state",
    "to_state",
    "attempt",
    "time_ms",
    "worker_id",
    "error_type",
)
# Entries written before the packed form had one field per value, named thus; the
# feed is capped, so they leave it on their own, and are read until then.
FEED_FIELDS: dict[str, str] = {
    "j": "job_id",
    "y": "type",
    "f": "from_state",
    "s": "to_state",
    "a": "attempt",
    "t": "time_ms",
    "w": "worker_id",
    "e": "error_type",
}


def decode_feed_entry(entry_id: str, fields: Mapping[str, str]) -> FeedEntry:
    """A feed entry from its stream id and fields (FEED_VALUE, or FEED_FIELDS)."""
    packed = fields.get(FEED_VALUE)
    if packed is not None:
        values = packed.split(" ", len(FEED_PACKED) - 1)
        values += [""] * (len(FEED_PACKED) - len(values))
        f = dict(zip(FEED_PACKED, values, strict=True))
    else:
        f = {name: fields.get(short, "") for short, name in FEED_FIELDS.items()}
    return FeedEntry(
        id=entry_id,
        job_id=f["job_id"],
        type=f["type"],
        time_ms=int(f["time_ms"] or "0"),
        from_state=f["from_state"],
        to_state=f["to_state"],
        attempt=int(float(f["attempt"] or "0")),
        worker_id=f["worker_id"],
        error_type=f["error_type"],
    )


# -- control channel ------------------------------------------------------------------
# A control message is "<kind> <arg> ... <last arg>": the kind letter, then its
# arguments separated by single spaces; the last argument takes the rest of the text,
# so it may itself hold spaces (a job type may). New kinds are new entries here.
CONTROL_KINDS: dict[str, tuple[str, ...]] = {
    "w": ("job_type",),  # a type got ready work: wake streams waiting for it
    "s": ("worker_id",),  # a worker's slot was freed: wake its streams
    "c": ("worker_id", "job_id"),  # cancel a running job: tell its worker
    "k": ("worker_id", "state"),  # an operator's worker control (store/worker_control.py)
    "t": ("worker_id",),  # a worker registered its types and defaults: re-read them
}
WAKE, SLOT, CANCEL, WORKER_CONTROL, TYPES = "w", "s", "c", "k", "t"


@dataclass(frozen=True, slots=True)
class ControlMessage:
    """One parsed control message: its kind letter and its arguments, in order."""

    kind: str
    args: tuple[str, ...]


def encode_control(kind: str, *args: str) -> str:
    """The text of a control message; raises ValueError for an unknown kind, a wrong
    number of arguments, or a space inside an argument other than the last."""
    names = CONTROL_KINDS.get(kind)
    if names is None:
        raise ValueError(f"unknown control message kind {kind!r}")
    if len(args) != len(names):
        raise ValueError(f"control message {kind!r} takes {names}, got {len(args)} values")
    if any(" " in a for a in args[:-1]):
        raise ValueError(f"only the last argument of a control message may hold spaces: {args}")
    return " ".join((kind, *args))


def parse_control(data: str) -> ControlMessage | None:
    """The message in `data`, or None when it is not one of CONTROL_KINDS (a newer
    broker's kind, say): unknown messages are ignored, never fatal."""
    kind, _, rest = data.partition(" ")
    names = CONTROL_KINDS.get(kind)
    if names is None:
        return None
    args = tuple(rest.split(" ", len(names) - 1))
    if len(args) != len(names):
        return None
    return ControlMessage(kind, args)
