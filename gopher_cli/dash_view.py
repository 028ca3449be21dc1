"""The `gopherctl dash` screen as a pure function of snapshots, so tests need no terminal.

A Snapshot is what one refresh fetched. Rates come from the difference between the oldest
and newest snapshot of a short window: every job is counted in exactly one of the ready
queues, scheduled, retrying, active, dead or finished, so the growth of the total is the
submit rate, the growth of `finished` the completion rate and of `dead` the failure rate.
Jobs removed by retention in the window make those rates read low, never negative.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gopher_cli.admin_views import by_type, worker_table
from gopher_cli.durations import format_duration
from gopher_cli.job_views import last_error, priority_name
from gopher_cli.output import format_age


@dataclass(frozen=True)
class Snapshot:
    """One refresh: queue stats, workers and newest dead jobs, or the error that stopped it.

    `taken_at_s` is a monotonic clock reading (for rates); `wall_time` is for ages.
    `stats` is None when the fetch failed, and `error` then says why.
    """

    taken_at_s: float
    wall_time: dt.datetime
    stats: Any | None
    workers: Sequence[Any] = ()
    failures: Sequence[Any] = ()
    error: str = ""


@dataclass(frozen=True)
class Rates:
    """Per-second rates over `window_s`, and each priority's depth change per second."""

    window_s: float
    submitted_per_s: float
    finished_per_s: float
    dead_per_s: float
    depth_per_s: dict[int, float] = field(default_factory=dict)


def total_jobs(stats: Any) -> int:
    """Every job the broker knows of: ready, scheduled, retrying, active, dead, finished."""
    ready = sum(queue.depth for queue in stats.queues)
    return int(
        ready + stats.scheduled + stats.retrying + stats.active + stats.dead + stats.finished
    )


def compute_rates(snapshots: Sequence[Snapshot]) -> Rates | None:
    """Rates between the oldest and newest snapshot that have stats; None if fewer than two
    such snapshots exist or no time passed between them."""
    usable = [snap for snap in snapshots if snap.stats is not None]
    if len(usable) < 2:
        return None
    window_s = usable[-1].taken_at_s - usable[0].taken_at_s
    first: Any = usable[0].stats
    last: Any = usable[-1].stats
    if window_s <= 0:
        return None

    def per_s(delta: float) -> float:
        return max(delta, 0.0) / window_s

    before = {queue.priority: queue.depth for queue in first.queues}
    depth_per_s = {
        queue.priority: (queue.depth - before.get(queue.priority, 0)) / window_s
        for queue in last.queues
    }
    return Rates(
        window_s=window_s,
        submitted_per_s=per_s(total_jobs(last) - total_jobs(first)),
        finished_per_s=per_s(last.finished - first.finished),
        dead_per_s=per_s(last.dead - first.dead),
        depth_per_s=depth_per_s,
    )


def _trend(rate: float | None) -> Text:
    if rate is None:
        return Text("…", style="dim")
    if abs(rate) < 0.005:
        return Text("steady", style="dim")
    return Text(f"{rate:+.2f}/s", style="red" if rate > 0 else "green")


def queue_panel(stats: Any, rates: Rates | None) -> Table:
    """Depth, trend, paused flag, oldest-job age and per-type depth for each priority."""
    table = Table(title="Queues", title_justify="left")
    for column in ("priority", "depth", "trend", "paused", "oldest", "by type"):
        table.add_column(column, justify="right" if column in ("depth", "trend") else "left")
    for queue in stats.queues:
        trend = rates.depth_per_s.get(queue.priority) if rates else None
        table.add_row(
            priority_name(queue.priority),
            str(queue.depth),
            _trend(trend),
            Text("PAUSED", style="bold yellow") if queue.paused else Text("no"),
            format_duration(queue.oldest_job_age_s) if queue.depth else "-",
            by_type(queue.depth_by_type),
        )
    return table


def rates_line(stats: Any, rates: Rates | None) -> Text:
    """Counts outside the ready queues, then submit, finish and failure rates."""
    line = Text(
        f"scheduled {stats.scheduled}  retrying {stats.retrying}  active {stats.active}  "
        f"dead {stats.dead}  finished {stats.finished}    "
    )
    if rates is None:
        line.append("rates: measuring…", style="dim")
    else:
        line.append(f"in {rates.submitted_per_s:.1f}/s  ")
        line.append(f"done {rates.finished_per_s:.1f}/s  ", style="green")
        line.append(f"dead {rates.dead_per_s:.1f}/s", style="red" if rates.dead_per_s else "")
        line.append(f"  (over {format_duration(rates.window_s)})", style="dim")
    return line


def failures_panel(jobs: Sequence[Any], now: dt.datetime) -> Table:
    """The newest dead jobs with their last error."""
    table = Table(title="Recent failures (dead letter queue, newest first)", title_justify="left")
    for column in ("id", "type", "died", "attempts", "last error"):
        table.add_column(column, no_wrap=column == "id")
    for job in jobs:
        table.add_row(
            job.id, job.type, format_age(job.finished_at, now), str(job.attempt), last_error(job)
        )
    return table


def render(snapshots: Sequence[Snapshot], server: str) -> RenderableType:
    """The whole dashboard for the newest snapshot, using older ones for rates.

    With no snapshot yet it shows a waiting line; when the newest fetch failed it shows
    the error above the last good data, so a broker restart does not blank the screen.
    """
    header = Text(f"gopher dash  {server}", style="bold")
    if not snapshots:
        return Group(header, Text("connecting…", style="dim"))
    newest = snapshots[-1]
    header.append(f"   {newest.wall_time.astimezone(dt.UTC):%H:%M:%SZ}", style="dim")
    header.append("   press q to quit", style="dim")
    parts: list[RenderableType] = [header]
    if newest.error:
        parts.append(Panel(Text(newest.error, style="bold red"), title="refresh failed"))
    good = [snap for snap in snapshots if snap.stats is not None]
    if not good:
        return Group(*parts)
    shown = good[-1]
    rates = compute_rates(good)
    parts.append(queue_panel(shown.stats, rates))
    parts.append(rates_line(shown.stats, rates))
    if shown.workers:
        parts.append(Text("Workers", style="bold"))
        parts.append(worker_table(shown.workers, shown.wall_time))
    else:
        parts.append(Text("no workers connected", style="yellow"))
    if shown.failures:
        parts.append(failures_panel(shown.failures, shown.wall_time))
    else:
        parts.append(Text("no dead jobs", style="green"))
    return Group(*parts)
