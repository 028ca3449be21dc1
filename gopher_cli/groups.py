"""`gopherctl group get`: a group's state, its members by state and its follow-ups."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from gopher.v1 import job_pb2
from rich.table import Table

from gopher_cli.common import Output, OutputOpt, ServerOpt, TokenOpt, connect
from gopher_cli.job_views import styled_state
from gopher_cli.output import console, format_age, format_time, print_json, to_json
from gopher_client import DEFAULT_SERVER

group_app = typer.Typer(
    name="group",
    help="Inspect groups (fan-out jobs with follow-ups once all are final).",
    no_args_is_help=True,
)

GROUP_STATE_WORDS = {
    job_pb2.GROUP_STATE_RUNNING: "running",
    job_pb2.GROUP_STATE_SUCCEEDED: "succeeded",
    job_pb2.GROUP_STATE_FAILED: "failed",
    job_pb2.GROUP_STATE_CANCELLED: "cancelled",
}


def group_detail(group: job_pb2.Group, now: dt.datetime) -> Table:
    """One group as a two-column table."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", group.id)
    table.add_row("state", GROUP_STATE_WORDS.get(group.state, "unspecified"))
    table.add_row("members", str(len(group.member_ids)))
    for count in group.counts:
        table.add_row("", styled_state(count.state).append(f"  {count.count}"))
    table.add_row(
        "created", f"{format_time(group.created_at)} ({format_age(group.created_at, now)})"
    )
    if group.HasField("finished_at"):
        table.add_row("finished", format_time(group.finished_at))
    if group.idempotency_key:
        table.add_row("idempotency key", group.idempotency_key)
    table.add_row("follow-ups", ", ".join(group.follow_up_ids) or "-")
    table.add_row("member ids", "\n".join(group.member_ids))
    return table


@group_app.command("get")
def get(
    group_id: Annotated[str, typer.Argument(help="The group's id.", metavar="ID")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a group: its state, members counted by state, and the follow-ups its outcome
    submitted.

    Example:  gopherctl group get 6f1c0a8e-2b7d-4c55-9a11-0e3d2f4b8c90 --output json
    """
    with connect(server, token, not_found=f"group {group_id}") as client:
        group = client.get_group(group_id).proto
    if output is Output.json:
        print_json(to_json(group))
    else:
        console().print(group_detail(group, dt.datetime.now(dt.UTC)))
