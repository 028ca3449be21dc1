"""`gopherctl whoami`, `gopherctl throughput`, `gopherctl job run-now` and
`gopherctl job cancel-many`: the contract's operator RPCs, as the dashboard uses them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_pb2

from gopher_cli.common import (
    Output,
    OutputOpt,
    PriorityName,
    ServerOpt,
    StateName,
    TokenOpt,
    connect,
    usage_error,
)
from gopher_cli.jobs import JobIdArg, job_app
from gopher_cli.output import print_json, to_json
from gopher_client import DEFAULT_SERVER


def whoami(
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show who the broker takes this token for, and its roles.

    Example:  gopherctl whoami --token "$GOPHER_TOKEN"
    """
    with connect(server, token) as client:
        caller = client.call(client.admin.GetCaller, admin_pb.GetCallerRequest())
    if output is Output.json:
        print_json(to_json(caller))
        return
    auth = "auth on" if caller.auth_enabled else "auth off"
    rights = "may change state" if caller.can_admin else "read-only for operator actions"
    typer.echo(f"{caller.name} (roles {','.join(caller.roles)}; {auth}; {rights})")


def throughput(
    minutes: Annotated[int, typer.Option(min=1, max=60, help="Minutes to show.")] = 10,
    job_type: Annotated[str, typer.Option("--type", help="Only this job type.")] = "",
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show succeeded, failed, dead and cancelled jobs per minute, oldest first.

    Example:  gopherctl throughput --minutes 30 --type email
    """
    request = admin_pb.GetThroughputRequest(minutes=minutes, type=job_type)
    with connect(server, token) as client:
        response = client.call(client.admin.GetThroughput, request)
    if output is Output.json:
        print_json(to_json(response))
        return
    typer.echo(f"{'minute (UTC)':<17} {'succeeded':>9} {'failed':>7} {'dead':>5} {'cancelled':>9}")
    for row in response.minutes:
        start = dt.datetime.fromtimestamp(row.start.seconds, dt.UTC).strftime("%Y-%m-%d %H:%M")
        typer.echo(
            f"{start:<17} {row.succeeded:>9} {row.failed:>7} {row.dead:>5} {row.cancelled:>9}"
        )


@job_app.command("run-now")
def run_now(
    job_id: JobIdArg,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Run a scheduled or retrying job now instead of at its time.

    Example:  gopherctl job run-now 0b7c2c1e-5a8f-4f43-9d0e-3f3d0c0b9a11
    """
    with connect(server, token, not_found=f"job {job_id}") as client:
        client.call(client.admin.RunJobNow, admin_pb.RunJobNowRequest(job_id=job_id))
    typer.echo(f"job {job_id} is enqueued")


@job_app.command("cancel-many")
def cancel_many(
    job_ids: Annotated[
        list[str] | None, typer.Argument(help="Jobs to cancel.", metavar="ID")
    ] = None,
    state: Annotated[StateName | None, typer.Option(help="Jobs in this state.")] = None,
    job_type: Annotated[str, typer.Option("--type", help="Jobs of this type.")] = "",
    priority: Annotated[PriorityName | None, typer.Option(help="Jobs of this priority.")] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="Every unfinished job.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most per call.")] = 1000,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Cancel the given jobs, or every unfinished job matching a filter.

    Example:  gopherctl job cancel-many --type email --state scheduled --yes
    """
    if not (job_ids or state or job_type or priority or all_jobs):
        usage_error("give job ids, a filter (--state, --type, --priority), or --all")
    if not job_ids and not yes:
        usage_error("cancelling by filter may touch many jobs; add --yes to confirm")
    request = admin_pb.CancelJobsRequest(
        job_ids=job_ids or [],
        type=job_type,
        all=all_jobs,
        limit=limit,
        state=job_pb2.JobState.Value(f"JOB_STATE_{state.value.upper()}") if state else 0,  # type: ignore[arg-type]
        priority=job_pb2.Priority.Value(f"PRIORITY_{priority.value.upper()}") if priority else 0,  # type: ignore[arg-type]
    )
    with connect(server, token) as client:
        response = client.call(client.admin.CancelJobs, request)
    more = " (more match: run it again)" if response.more else ""
    typer.echo(f"cancelled {response.cancelled} job(s){more}")
