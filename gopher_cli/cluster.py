"""`gopherctl cluster status`: the partitions each Redis master holds, the depth of
every partition, and how even both are (AdminService/GetClusterStatus)."""

from __future__ import annotations

from typing import Any

import typer
from gopher.v1 import admin_service_pb2 as admin_pb
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gopher_cli.common import Output, OutputOpt, ServerOpt, TokenOpt, connect
from gopher_cli.output import console, print_json, to_json
from gopher_client import DEFAULT_SERVER

cluster_app = typer.Typer(
    name="cluster",
    help="See how the namespace is spread over Redis (a cluster's masters, or one server).",
    no_args_is_help=True,
)


def _indexes(indexes: Any) -> str:
    return ", ".join(str(k) for k in indexes) or "-"


def masters_table(status: Any) -> Table:
    """One row per master: its slots, replicas, partitions and their load."""
    table = Table(title="Masters", title_justify="left")
    for column in ("master", "slots", "ranges", "replicas", "partitions", "count", "load"):
        table.add_column(column, justify="left" if column in ("master", "partitions") else "right")
    top = status.balance.max_partitions_per_master
    even = status.balance.mean_partitions_per_master == top
    for master in status.masters:
        held = len(master.partitions)
        # The master holding the most, when the spread is uneven, is the one to look at.
        style = "" if even or held < top else "bold yellow"
        table.add_row(
            master.address,
            str(master.slots) if status.cluster else "all",
            str(master.slot_ranges) if status.cluster else "-",
            str(master.replicas),
            _indexes(master.partitions),
            Text(str(held), style=style),
            str(master.load),
        )
    return table


def partitions_table(status: Any) -> Table:
    """One row per partition: where it lives and its job counts."""
    table = Table(title="Partitions", title_justify="left")
    columns = ("#", "tag", "slot", "master", "ready", "scheduled", "retrying", "active", "dead")
    for column in columns:
        table.add_column(column, justify="left" if column in ("tag", "master") else "right")
    for part in status.partitions:
        table.add_row(
            str(part.index),
            part.tag,
            str(part.slot),
            part.master or Text("no master", style="bold red"),
            str(part.ready),
            str(part.scheduled),
            str(part.retrying),
            str(part.active),
            str(part.dead),
        )
    return table


def summary_line(status: Any) -> Text:
    """What the namespace runs on, and the balance figures, in two lines."""
    b = status.balance
    where = (
        f"Redis Cluster: {status.partition_count} partition(s) over {len(status.masters)} master(s)"
        if status.cluster
        else f"one Redis server: {status.partition_count} partition(s)"
    )
    return Text(
        f"{where}\n"
        f"balance: partitions per master mean {b.mean_partitions_per_master:g}, "
        f"max {b.max_partitions_per_master}; load (ready+active) per partition "
        f"mean {b.mean_partition_load:.1f}, max {b.max_partition_load}"
    )


def status_view(status: Any) -> RenderableType:
    """What `gopherctl cluster status` prints."""
    return Group(summary_line(status), masters_table(status), partitions_table(status))


@cluster_app.command("status")
def status(
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show the partitions each master holds, the balance, and the depth per partition.

    Example:  gopherctl cluster status --output json
    """
    with connect(server, token) as client:
        found = client.call(client.admin.GetClusterStatus, admin_pb.GetClusterStatusRequest())
    if output is Output.json:
        print_json(to_json(found))
    else:
        console().print(status_view(found))
