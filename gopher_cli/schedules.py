"""`gopherctl schedules list|add|rm|pause|resume`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from gopher.v1 import admin_service_pb2 as admin_pb

from gopher_cli.admin_views import schedule_table
from gopher_cli.common import (
    Output,
    OutputOpt,
    PriorityName,
    ServerOpt,
    TokenOpt,
    connect,
    usage_error,
)
from gopher_cli.output import console, print_messages
from gopher_cli.payload import PayloadError, read_payload
from gopher_client import DEFAULT_SERVER

schedules_app = typer.Typer(
    name="schedules", help="Manage cron schedules that submit jobs.", no_args_is_help=True
)
NameArg = Annotated[str, typer.Argument(help="The schedule's name.", metavar="NAME")]


def _show(schedules: list[admin_pb.Schedule], output: Output) -> None:
    if output is Output.json:
        print_messages(schedules)
    else:
        console().print(schedule_table(schedules, dt.datetime.now(dt.UTC)))


@schedules_app.command("list")
def list_(
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List every schedule with its next and last run.

    Example:  gopherctl schedules list --output json
    """
    with connect(server, token) as client:
        schedules = client.list_schedules()
    if not schedules and output is Output.table:
        typer.echo("no schedules", err=True)
        return
    _show(schedules, output)


@schedules_app.command("add")
def add(
    name: NameArg,
    cron: Annotated[
        str, typer.Option(help='Five-field cron rule ("*/5 * * * *") or "@every 30s".')
    ],
    job_type: Annotated[str, typer.Option("--type", help="Job type to submit.")],
    tz: Annotated[str, typer.Option("--tz", help="IANA zone the rule is read in.")] = "UTC",
    payload: Annotated[
        str | None,
        typer.Option("--payload", "-p", help="JSON object, @file.json, or - for stdin."),
    ] = None,
    priority: Annotated[
        PriorityName | None, typer.Option(help="Queue priority (default: normal).")
    ] = None,
    retries: Annotated[
        int | None, typer.Option(help="Retries after the first attempt (default: 3).")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Create a schedule, or replace the one with the same name.

    Example:  gopherctl schedules add digest --cron "0 8 * * *" --tz Europe/Paris --type email
    """
    try:
        payload_text = read_payload(payload)
    except PayloadError as error:
        usage_error(str(error))
    template = admin_pb.JobTemplate(
        type=job_type,
        payload_json=payload_text,
        priority=f"PRIORITY_{priority.value.upper()}" if priority else None,
    )
    if retries is not None:
        template.retries = retries
    schedule = admin_pb.Schedule(
        name=name, cron=cron, timezone="" if tz == "UTC" else tz, job=template
    )
    with connect(server, token) as client:
        stored = client.create_schedule(schedule)
    _show([stored], output)


@schedules_app.command("rm")
def remove(name: NameArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Delete a schedule. Jobs it already submitted are not touched.

    Example:  gopherctl schedules rm digest
    """
    with connect(server, token, not_found=f"schedule {name}") as client:
        client.delete_schedule(name)
    typer.echo(f"removed schedule {name}")


@schedules_app.command("pause")
def pause(name: NameArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Stop a schedule from firing until it is resumed.

    Example:  gopherctl schedules pause digest
    """
    with connect(server, token, not_found=f"schedule {name}") as client:
        client.call(client.admin.PauseSchedule, admin_pb.PauseScheduleRequest(name=name))
    typer.echo(f"paused schedule {name}")


@schedules_app.command("trigger")
def trigger(name: NameArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Submit the schedule's job now, outside its ticks (its next tick does not move).

    Example:  gopherctl schedules trigger digest
    """
    with connect(server, token, not_found=f"schedule {name}") as client:
        request = admin_pb.TriggerScheduleRequest(name=name)
        response = client.call(client.admin.TriggerSchedule, request)
    typer.echo(response.job_id)


@schedules_app.command("resume")
def resume(name: NameArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Let a paused schedule fire again.

    Example:  gopherctl schedules resume digest
    """
    with connect(server, token, not_found=f"schedule {name}") as client:
        client.call(client.admin.ResumeSchedule, admin_pb.ResumeScheduleRequest(name=name))
    typer.echo(f"resumed schedule {name}")
