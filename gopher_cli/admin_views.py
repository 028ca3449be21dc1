"""Tables for queues, workers, schedules and rate limits. Pure: messages in, tables out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gopher_cli.durations import format_duration
from gopher_cli.job_views import priority_name
from gopher_cli.output import compact_json, format_age, format_time


def by_type(depths: Any) -> str:
    """A depth_by_type map as "email=3, sms=1", largest first; "-" when empty."""
    if not depths:
        return "-"
    ordered = sorted(depths.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name}={count}" for name, count in ordered)


def queue_table(stats: Any) -> Table:
    """One row per priority: depth, paused, oldest ready job's age, depth per type."""
    table = Table(title="Ready queues", title_justify="left")
    for column in ("priority", "depth", "paused", "oldest", "by type"):
        table.add_column(column, justify="right" if column == "depth" else "left")
    for queue in stats.queues:
        table.add_row(
            priority_name(queue.priority),
            str(queue.depth),
            Text("paused", style="bold yellow") if queue.paused else Text("no"),
            format_duration(queue.oldest_job_age_s) if queue.depth else "-",
            by_type(queue.depth_by_type),
        )
    return table


def totals_line(stats: Any) -> Text:
    """The job counts outside the ready queues, on one line."""
    return Text(
        f"scheduled {stats.scheduled}   retrying {stats.retrying}   active {stats.active}   "
        f"dead {stats.dead}   finished {stats.finished}\n"
        f"throughput (last minute): {stats.finished_last_minute / 60:.1f} finished/s, "
        f"{stats.dead_last_minute / 60:.1f} dead/s"
    )


def queues_view(stats: Any) -> RenderableType:
    """What `gopherctl queues` prints: the queue table and the totals line."""
    return Group(queue_table(stats), totals_line(stats))


def utilisation(worker: Any) -> float:
    """Fraction of the worker's capacity in use (0 when it declared none)."""
    return worker.in_flight / worker.capacity if worker.capacity > 0 else 0.0


def worker_table(workers: Sequence[Any], now: dt.datetime) -> Table:
    """One row per worker: state (running, quiet, stopping), host, types, capacity,
    in-flight, utilisation, last heartbeat, open circuit breakers."""
    table = Table()
    columns = (
        "id",
        "state",
        "host",
        "pid",
        "types",
        "capacity",
        "in flight",
        "util",
        "heartbeat",
        "streams",
        "circuits",
    )
    for column in columns:
        table.add_column(column, no_wrap=column == "id")
    for worker in workers:
        share = utilisation(worker)
        style = "red" if share >= 1.0 else "yellow" if share >= 0.8 else ""
        table.add_row(
            worker.worker_id,
            worker_state(worker),
            worker.hostname or "-",
            str(worker.pid) if worker.pid else "-",
            ", ".join(worker.job_types) or "-",
            str(worker.capacity),
            str(worker.in_flight),
            Text(f"{share:.0%}", style=style),
            format_age(worker.last_heartbeat, now),
            str(worker.streams),
            Text(circuits(worker), style="red") if worker.circuits else "-",
        )
    return table


def worker_state(worker: Any) -> Text:
    """The state an operator set: running, or quiet / stopping highlighted."""
    word = {2: "quiet", 3: "stopping"}.get(worker.state, "running")
    return Text(word, style="" if word == "running" else "yellow")


def circuits(worker: Any) -> str:
    """Job types whose breaker on this worker is not closed, e.g. "charge=open"."""
    words = {2: "open", 3: "half-open"}
    return ", ".join(f"{t}={words.get(s, s)}" for t, s in sorted(worker.circuits.items()))


def schedule_table(schedules: Sequence[Any], now: dt.datetime) -> Table:
    """One row per schedule: rule, zone, job template, state, next and last run."""
    table = Table()
    columns = (
        "name",
        "cron",
        "tz",
        "type",
        "priority",
        "retries",
        "payload",
        "state",
        "next",
        "last",
    )
    for column in columns:
        table.add_column(column, no_wrap=column in ("name", "cron"))
    for schedule in schedules:
        job = schedule.job
        table.add_row(
            schedule.name,
            schedule.cron,
            schedule.timezone or "UTC",
            job.type,
            priority_name(job.priority) if job.priority else "normal",
            str(job.retries) if job.HasField("retries") else "3",
            compact_json(job.payload_json or "{}", 40),
            Text("paused", style="bold yellow") if schedule.paused else Text("active"),
            _next(schedule.next_run_at, now),
            format_age(schedule.last_run_at, now),
        )
    return table


def _next(stamp: Any, now: dt.datetime) -> str:
    text = format_time(stamp)
    return text if text == "-" else f"{text} ({format_age(stamp, now)})"


def rate_limit_table(limits: Sequence[Any]) -> Table:
    """One row per job type with limits: rate, burst and concurrency cap."""
    table = Table()
    for column in ("type", "rate", "burst", "max concurrency"):
        table.add_column(column)
    for limit in limits:
        table.add_row(
            limit.type,
            f"{limit.rate_per_s:g}/s" if limit.rate_per_s else "unlimited",
            str(limit.burst) if limit.burst else "auto",
            str(limit.max_concurrency) if limit.max_concurrency else "unlimited",
        )
    return table
