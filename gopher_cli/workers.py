"""`gopherctl workers [list|quiet|stop|resume]` and `gopherctl ratelimit set|list|rm`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import worker_service_pb2 as worker_pb

from gopher_cli.admin_views import rate_limit_table, worker_table
from gopher_cli.common import Output, OutputOpt, ServerOpt, TokenOpt, connect, usage_error
from gopher_cli.durations import parse_rate
from gopher_cli.output import console, print_json, print_messages, to_json
from gopher_client import DEFAULT_SERVER

ratelimit_app = typer.Typer(
    name="ratelimit", help="Limit how fast and how many jobs of a type run.", no_args_is_help=True
)
# `gopherctl workers` alone lists (as it always did); its subcommands steer one worker.
workers_app = typer.Typer(
    name="workers",
    help="List workers, or quiet, stop or resume one.",
    invoke_without_command=True,
)
TypeArg = Annotated[str, typer.Argument(help="Job type.", metavar="TYPE")]
WorkerArg = Annotated[str, typer.Argument(help="Worker id, as `workers` lists it.", metavar="ID")]


@workers_app.callback()
def workers_default(
    ctx: typer.Context,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List workers seen recently (the same as `workers list`), or steer one.

    Example:  gopherctl workers --output json
    """
    if ctx.invoked_subcommand is None:
        workers(server, token, output)
        return
    given = [
        name
        for name in ("server", "token", "output")
        # By name: Typer's own click copy has its own ParameterSource enum.
        if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
    ]
    if given:
        # They would silently not apply to the subcommand (it has its own).
        usage_error(
            f"put --{given[0]} after the subcommand, e.g. "
            f"`gopherctl workers {ctx.invoked_subcommand} ID --server HOST:PORT`"
        )


@workers_app.command("list")
def workers(
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List workers seen recently: state, host, types, capacity, in-flight jobs,
    utilisation.

    Example:  gopherctl workers list --output json
    """
    with connect(server, token) as client:
        found = client.list_workers()
    if output is Output.json:
        print_messages(found)
    elif not found:
        typer.echo("no workers connected", err=True)
    else:
        console().print(worker_table(found, dt.datetime.now(dt.UTC)))


def _control(worker_id: str, action: int, server: str, token: str | None) -> None:
    request = admin_pb.ControlWorkerRequest(worker_id=worker_id, action=action)  # type: ignore[arg-type]
    with connect(server, token) as client:
        response = client.call(client.admin.ControlWorker, request)
    state = admin_pb.WorkerState.Name(response.state).removeprefix("WORKER_STATE_").lower()
    later = "" if response.connected else " (not connected now: it is told when it connects)"
    typer.echo(f"worker {worker_id} is {state}{later}")


@workers_app.command("quiet")
def quiet(worker_id: WorkerArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Stop a worker taking new jobs; the ones it runs finish, ones it received but had
    not started go back to their queue. `workers resume` undoes it.

    Example:  gopherctl workers quiet host-1234-a1b2c3
    """
    _control(worker_id, worker_pb.WORKER_CONTROL_ACTION_QUIET, server, token)


@workers_app.command("stop")
def stop(worker_id: WorkerArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Quiet a worker, then make it exit once its running jobs are done (its graceful
    drain, with its --grace limit). Cannot be undone once the worker has begun.

    Example:  gopherctl workers stop host-1234-a1b2c3
    """
    _control(worker_id, worker_pb.WORKER_CONTROL_ACTION_STOP, server, token)


@workers_app.command("resume")
def resume(
    worker_id: WorkerArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None
) -> None:
    """Let a quiet worker take jobs again.

    Example:  gopherctl workers resume host-1234-a1b2c3
    """
    _control(worker_id, worker_pb.WORKER_CONTROL_ACTION_RESUME, server, token)


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
