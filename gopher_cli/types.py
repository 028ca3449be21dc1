"""`gopherctl types`: job types with their handler defaults, live workers and depth."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from gopher_cli.common import Output, OutputOpt, ServerOpt, TokenOpt, connect
from gopher_cli.durations import format_duration
from gopher_cli.job_views import priority_name
from gopher_cli.output import console, print_messages
from gopher_client import DEFAULT_SERVER


def defaults_text(info: Any) -> str:
    """A type's defaults as "retries=5 timeout=30s ..."; "-" when it has none."""
    if not info.HasField("defaults"):
        return "-"
    d = info.defaults
    parts = []
    if d.priority:
        parts.append(f"priority={priority_name(d.priority)}")
    if d.HasField("retries"):
        parts.append(f"retries={d.retries}")
    if d.HasField("timeout_s"):
        parts.append(f"timeout={format_duration(d.timeout_s) if d.timeout_s else 'none'}")
    if d.HasField("lease_ttl_s"):
        parts.append(f"lease={format_duration(d.lease_ttl_s)}")
    policy = d.retry_policy
    backoff = [
        f"{name}={format_duration(getattr(policy, field))}"
        for name, field in (("base", "base_delay_s"), ("max", "max_delay_s"))
        if policy.HasField(field)
    ]
    if policy.HasField("factor"):
        backoff.insert(1 if policy.HasField("base_delay_s") else 0, f"x{policy.factor:g}")
    if backoff:
        parts.append("backoff(" + " ".join(backoff) + ")")
    return " ".join(parts) or "-"


def types_table(found: list[Any]) -> Table:
    """One row per job type: defaults, live workers, ready depth."""
    table = Table(title="Job types", title_justify="left")
    for column in ("type", "defaults", "workers", "depth"):
        table.add_column(column, justify="right" if column == "depth" else "left")
    for info in found:
        if info.worker_ids:
            workers = Text(", ".join(info.worker_ids))
        elif info.known:
            workers = Text("none live", style="yellow")
        else:
            workers = Text("never registered", style="bold red")
        table.add_row(info.type, defaults_text(info), workers, str(info.depth))
    return table


def types(
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List job types: the defaults their handlers registered, live workers, ready depth.

    Example:  gopherctl types --output json
    """
    with connect(server, token) as client:
        found = client.list_job_types()
    if output is Output.json:
        print_messages(found)
    elif not found:
        typer.echo("no job types: no worker registered one and no job waits", err=True)
    else:
        console().print(types_table(found))
