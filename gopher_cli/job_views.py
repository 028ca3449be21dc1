"""Tables for jobs: one job in full, a list of jobs, the dead letter queue, watch lines.

Every function is pure: messages and `now` in, a rich renderable or text out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from gopher.v1 import job_pb2
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gopher_cli.durations import format_duration
from gopher_cli.output import compact_json, format_age, format_time, parse_json_text
from gopher_client import PRIORITY_NAMES, STATE_NAMES

# Colours make a state readable at a glance; final failures stand out.
STATE_STYLES: dict[str, str] = {
    "scheduled": "cyan",
    "enqueued": "blue",
    "active": "yellow",
    "retrying": "magenta",
    "succeeded": "green",
    "dead": "bold red",
    "cancelled": "dim",
}


def state_name(value: int) -> str:
    """A JobState enum value as its lowercase word ("unspecified" for 0)."""
    return STATE_NAMES.get(value, "unspecified")


def priority_name(value: int) -> str:
    """A Priority enum value as its lowercase word ("unspecified" for 0)."""
    return PRIORITY_NAMES.get(value, "unspecified")


def styled_state(value: int) -> Text:
    """The state word, coloured by STATE_STYLES."""
    name = state_name(value)
    return Text(name, style=STATE_STYLES.get(name, ""))


def _when(stamp: Any, now: dt.datetime) -> str:
    text = format_time(stamp)
    return text if text == "-" else f"{text} ({format_age(stamp, now)})"


def _pretty_json(text: str) -> str:
    value = parse_json_text(text)
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def job_detail(job: Any, now: dt.datetime) -> RenderableType:
    """A job's full record: fields, payload, result, error history and state history."""
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("id", job.id),
        ("type", job.type),
        ("state", styled_state(job.state)),
        ("priority", priority_name(job.priority)),
        ("attempt", f"{job.attempt} of {job.retries + 1}"),
        ("created", _when(job.created_at, now)),
        ("run at", _when(job.run_at, now)),
        ("started", _when(job.started_at, now)),
        ("finished", _when(job.finished_at, now)),
        ("worker", job.worker_id or "-"),
        ("idempotency key", job.idempotency_key or "-"),
        ("timeout", format_duration(job.timeout_s) if job.timeout_s else "none"),
        ("lease ttl", format_duration(job.lease_ttl_s) if job.lease_ttl_s else "default"),
        ("payload", _pretty_json(job.payload_json)),
        ("result", _pretty_json(job.result_json)),
    ]
    for label, value in rows:
        fields.add_row(label, value)
    parts: list[RenderableType] = [fields]
    if job.errors:
        parts.append(error_table(job.errors))
        last = job.errors[-1]
        if last.traceback:
            parts.append(Text(f"Traceback of attempt {last.attempt}:", style="bold"))
            parts.append(Text(last.traceback.rstrip(), style="red"))
    if job.events:
        parts.append(event_table(job.events))
    return Group(*parts)


def error_table(errors: Sequence[Any]) -> Table:
    """Failed attempts, oldest first."""
    table = Table(title="Errors", title_justify="left")
    for column in ("attempt", "error", "message", "worker", "time"):
        table.add_column(column)
    for error in errors:
        table.add_row(
            str(error.attempt),
            error.error_type or "-",
            error.message or "-",
            error.worker_id or "-",
            format_time(error.time),
        )
    return table


def event_table(events: Sequence[Any]) -> Table:
    """State transitions, oldest first."""
    table = Table(title="History", title_justify="left")
    for column in ("time", "transition", "attempt", "worker", "error"):
        table.add_column(column)
    for event in events:
        transition = Text(state_name(event.from_state) + " → ")
        transition.append_text(styled_state(event.to_state))
        if event.from_state == 0:
            transition = Text("submitted → ").append_text(styled_state(event.to_state))
        table.add_row(
            format_time(event.time),
            transition,
            str(event.attempt),
            event.worker_id or "-",
            event.error or "",
        )
    return table


def job_table(jobs: Sequence[Any], now: dt.datetime) -> Table:
    """One row per job, as `job list` shows them."""
    table = Table()
    for column in ("id", "type", "priority", "state", "attempt", "created", "run at", "worker"):
        table.add_column(column, no_wrap=column == "id")
    for job in jobs:
        table.add_row(
            job.id,
            job.type,
            priority_name(job.priority),
            styled_state(job.state),
            f"{job.attempt}/{job.retries + 1}",
            format_age(job.created_at, now),
            # run_at equals created_at unless the job was delayed; only a delay is news.
            format_age(job.run_at, now) if job.run_at != job.created_at else "-",
            job.worker_id or "-",
        )
    return table


def last_error(job: Any) -> str:
    """The job's most recent failure as "Type: message", or "-" when it has none."""
    if not job.errors:
        return "-"
    error = job.errors[-1]
    return f"{error.error_type}: {error.message}" if error.error_type else error.message


def dead_table(jobs: Sequence[Any], now: dt.datetime) -> Table:
    """One row per dead job, newest first as the broker returns them, with its last error."""
    table = Table()
    for column in ("id", "type", "priority", "attempts", "died", "last error", "payload"):
        table.add_column(column, no_wrap=column == "id")
    for job in jobs:
        table.add_row(
            job.id,
            job.type,
            priority_name(job.priority),
            str(job.attempt),
            format_age(job.finished_at, now),
            last_error(job),
            compact_json(job.payload_json, 40),
        )
    return table


def watch_line(job: Any, now: dt.datetime) -> str:
    """One line for a job snapshot received at `now`, as `job watch` and `submit --wait`
    print them: time, state, attempt, worker, and the result or last error."""
    parts = [now.astimezone(dt.UTC).strftime("%H:%M:%SZ"), state_name(job.state)]
    parts.append(f"attempt {job.attempt}/{job.retries + 1}")
    if job.worker_id:
        parts.append(f"worker {job.worker_id}")
    if job.state == job_pb2.JOB_STATE_SUCCEEDED:
        parts.append(f"result {compact_json(job.result_json, 200)}")
    elif job.errors:
        parts.append(f"last error {last_error(job)}")
    return "  ".join(parts)
