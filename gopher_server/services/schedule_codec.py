"""Schedules between the contract (Schedule messages) and their stored definitions."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from gopher.v1 import admin_service_pb2 as pb

from gopher_server import schedule_rules
from gopher_server.config import ServerConfig
from gopher_server.convert import PRIORITIES
from gopher_server.errors import InvalidArgument
from gopher_server.store import schedules
from gopher_server.store.job_types import NO_TYPE_DEFAULTS
from gopher_server.store.records import NewJob
from gopher_server.store.store import Store
from gopher_server.validation import Defaults, check_name, check_payload, priority_word

MISSED_WORDS: dict[int, str] = {
    pb.MISSED_TICKS_UNSPECIFIED: "run_once",
    pb.MISSED_TICKS_RUN_ONCE: "run_once",
    pb.MISSED_TICKS_SKIP: "skip",
}
MISSED_VALUES = {"run_once": pb.MISSED_TICKS_RUN_ONCE, "skip": pb.MISSED_TICKS_SKIP}


def _ts(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def definition(s: pb.Schedule, config: ServerConfig) -> dict[str, Any]:
    """Validate a Schedule message into its stored definition. Raises InvalidArgument
    (or TooLarge for the payload) naming the field at fault."""
    check_name(s.name, "schedule.name", "schedule name")
    schedule_rules.validate(s.cron, s.timezone)
    retries = s.job.retries if s.job.HasField("retries") else 3
    if not 0 <= retries <= 100:
        raise InvalidArgument(
            "schedule.job.retries must be between 0 and 100", "schedule.job.retries"
        )
    if s.missed_ticks not in MISSED_WORDS:
        raise InvalidArgument(
            "schedule.missed_ticks must be RUN_ONCE or SKIP", "schedule.missed_ticks"
        )
    return {
        "cron": s.cron.strip(),
        "tz": s.timezone,
        "paused": s.paused,
        "type": check_name(s.job.type, "schedule.job.type"),
        "payload": check_payload(
            s.job.payload_json, "schedule.job.payload_json", config.max_payload_bytes
        ),
        "priority": priority_word(s.job.priority, "schedule.job.priority"),
        "retries": retries,
        "missed": MISSED_WORDS[s.missed_ticks],
        # Template fields left unset take the job type's defaults when a job is made.
        "unset": [
            name
            for name, unset in (
                ("priority", not s.job.priority),
                ("retries", not s.job.HasField("retries")),
            )
            if unset
        ],
    }


def template_job(d: dict[str, Any], key: str, defaults: Defaults) -> NewJob:
    """The job a stored definition submits now, with idempotency key `key` ("" for
    none). Fields the template left unset take the type's defaults (definitions
    stored before "unset" existed keep their stored values)."""
    unset = set(d.get("unset", ()))
    td = defaults.get(d["type"]) or NO_TYPE_DEFAULTS
    priority, retries = d["priority"], d["retries"]
    if "priority" in unset and td.priority is not None:
        priority = td.priority
    if "retries" in unset and td.retries is not None:
        retries = td.retries
    return NewJob(
        id=str(uuid.uuid4()),
        type=d["type"],
        priority=priority,
        payload=d["payload"],
        retries=retries,
        idempotency_key=key,
        timeout_ms=td.timeout_ms or 0,
        lease_ms=td.lease_ms or 0,
        backoff_base_ms=td.backoff_base_ms,
        backoff_factor=td.backoff_factor,
        backoff_max_ms=td.backoff_max_ms,
    )


async def message(store: Store, name: str, d: dict[str, Any]) -> pb.Schedule:
    """The Schedule message for a stored definition, with its next and last run."""
    start = await schedules.last_tick(store, name)
    last_run = await schedules.last_run(store, name)
    now = store.clock.now_ms()
    nxt = schedule_rules.next_tick_ms(d["cron"], d["tz"], max(now, start))
    schedule = pb.Schedule(
        name=name,
        cron=d["cron"],
        timezone=d["tz"],
        job=pb.JobTemplate(
            type=d["type"],
            payload_json=d["payload"],
            priority=PRIORITIES[d["priority"]],
            retries=d["retries"],
        ),
        paused=d["paused"],
        next_run_at=_ts(nxt),
        missed_ticks=MISSED_VALUES[d.get("missed", "run_once")],
    )
    if last_run:
        schedule.last_run_at.CopyFrom(_ts(last_run))
    return schedule
