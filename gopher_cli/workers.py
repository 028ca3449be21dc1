"""`gopherctl workers` and `gopherctl ratelimit set|list|rm`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from gopher_cli.admin_views import rate_limit_table, worker_table
from gopher_cli.common import Output, OutputOpt, ServerOpt, TokenOpt, connect, usage_error
from gopher_cli.durations import parse_rate
from gopher_cli.output import console, print_json, print_messages, to_json
from gopher_client import DEFAULT_SERVER

ratelimit_app = typer.Typer(
    name="ratelimit", help="Limit how fast and how many jobs of a type run.", no_args_is_help=True
)
TypeArg = Annotated[str, typer.Argument(help="Job type.", metavar="TYPE")]


def workers(
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List workers seen recently: host, types, capacity, in-flight jobs, utilisation.

    Example:  gopherctl workers --output json
    """
    with connect(server, token) as client:
        found = client.list_workers()
    if output is Output.json:
        print_messages(found)
    elif not found:
        typer.echo("no workers connected", err=True)
    else:
        console().print(worker_table(found, dt.datetime.now(dt.UTC)))


@ratelimit_app.command("set")
def set_(
    job_type: TypeArg,
    rate: Annotated[
        str | None, typer.Option(help="Sustained rate: 10, 10/s, 600/m or 1000/h.")
    ] = None,
    burst: Annotated[
        int, typer.Option(min=0, help="Dispatches allowed above the rate; 0: max(1, rate).")
    ] = 0,
    max_concurrency: Annotated[
        int, typer.Option(min=0, help="Most jobs of the type active at once; 0: no cap.")
    ] = 0,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Set a job type's cluster-wide rate and concurrency limits (replacing old ones).

    Example:  gopherctl ratelimit set email --rate 600/m --max-concurrency 5
    """
    rate_per_s = 0.0
    if rate is not None:
        try:
            rate_per_s = parse_rate(rate)
        except ValueError as error:
            usage_error(f"--rate: {error}")
    if rate is None and max_concurrency == 0:
        usage_error("give --rate, --max-concurrency or both (to remove limits use `ratelimit rm`)")
    with connect(server, token) as client:
        stored = client.set_rate_limit(job_type, rate_per_s, burst, max_concurrency)
    if output is Output.json:
        print_json(to_json(stored))
    else:
        console().print(rate_limit_table([stored]))


@ratelimit_app.command("list")
def list_(
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List every job type's limits.

    Example:  gopherctl ratelimit list
    """
    with connect(server, token) as client:
        limits = client.list_rate_limits()
    if output is Output.json:
        print_messages(limits)
    elif not limits:
        typer.echo("no rate limits", err=True)
    else:
        console().print(rate_limit_table(limits))


@ratelimit_app.command("rm")
def remove(job_type: TypeArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Remove a job type's limits.

    Example:  gopherctl ratelimit rm email
    """
    with connect(server, token, not_found=f"rate limit for {job_type}") as client:
        client.delete_rate_limit(job_type)
    typer.echo(f"removed rate limit for {job_type}")
