"""`gopherctl events`: the global feed of recent job transitions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from gopher_cli.common import Output, OutputOpt, ServerOpt, TokenOpt, connect
from gopher_cli.output import console, print_messages
from gopher_client import DEFAULT_SERVER, STATE_NAMES


def events(
    limit: Annotated[int, typer.Option(help="Most events to show (newest last).")] = 50,
    after: Annotated[str, typer.Option(help="Only events after this feed id.")] = "",
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show recent job state changes from the global events feed, oldest first.

    Example:  gopherctl events --limit 20
    """
    with connect(server, token) as client:
        page = client.list_events(after_id=after, limit=limit)
    if output is Output.json:
        print_messages(list(page.events))
        return
    if not page.events:
        typer.echo("no events", err=True)
        return
    table = Table()
    for column in ("time", "job", "type", "transition", "attempt", "worker", "error"):
        table.add_column(column, no_wrap=column in ("time", "job"))
    for event in page.events:
        when = event.time.ToDatetime(tzinfo=dt.UTC)
        table.add_row(
            when.strftime("%H:%M:%S.%f")[:-3],
            event.job_id,
            event.type,
            f"{STATE_NAMES.get(event.from_state, 'submitted')} -> "
            f"{STATE_NAMES.get(event.to_state, '?')}",
            str(event.attempt),
            event.worker_id or "-",
            event.error_type or "-",
        )
    console().print(table)
