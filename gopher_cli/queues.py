"""`gopherctl queues`, `gopherctl queue pause|resume` and `gopherctl dlq ...`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from gopher.v1 import job_pb2

from gopher_cli.admin_views import queues_view
from gopher_cli.common import (
    EXIT_NOT_FOUND,
    Output,
    OutputOpt,
    PriorityName,
    ServerOpt,
    TokenOpt,
    collect_pages,
    connect,
    duration_option,
    fail,
    usage_error,
)
from gopher_cli.job_views import dead_table, job_detail, state_name
from gopher_cli.output import console, print_json, print_messages, to_json
from gopher_client import DEFAULT_SERVER, NotFound

queue_app = typer.Typer(
    name="queue", help="Pause and resume a priority's queue.", no_args_is_help=True
)
dlq_app = typer.Typer(
    name="dlq", help="Inspect and act on the dead letter queue.", no_args_is_help=True
)

PriorityArg = Annotated[PriorityName, typer.Argument(help="The queue's priority.")]


def queues(
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show depth per priority and type, paused flags, oldest-job age and set sizes.

    Throughput needs two snapshots over time: see `gopherctl dash`.

    Example:  gopherctl queues --output json
    """
    with connect(server, token) as client:
        stats = client.queue_stats()
    if output is Output.json:
        print_json(to_json(stats))
    else:
        console().print(queues_view(stats))


@queue_app.command("pause")
def pause(
    priority: PriorityArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None
) -> None:
    """Stop dispatch from one priority; submits still enqueue.

    Example:  gopherctl queue pause low
    """
    with connect(server, token) as client:
        client.pause_queue(priority.value)
    typer.echo(f"paused queue {priority.value}")


@queue_app.command("resume")
def resume(
    priority: PriorityArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None
) -> None:
    """Restart dispatch from a paused priority.

    Example:  gopherctl queue resume low
    """
    with connect(server, token) as client:
        client.resume_queue(priority.value)
    typer.echo(f"resumed queue {priority.value}")


@dlq_app.command("list")
def dlq_list(
    job_type: Annotated[str, typer.Option("--type", help="Only dead jobs of this type.")] = "",
    limit: Annotated[int, typer.Option(min=1, help="Most jobs to show.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List dead jobs, newest first, with their last error.

    Example:  gopherctl dlq list --type email
    """
    with connect(server, token) as client:
        found = collect_pages(
            lambda size, page_token: client.list_dead_jobs(job_type, size, page_token), limit
        )
    jobs = [job.proto for job in found]  # the CLI prints the contract's form
    if output is Output.json:
        print_messages(jobs)
    elif not jobs:
        typer.echo("the dead letter queue is empty", err=True)
    else:
        console().print(dead_table(jobs, dt.datetime.now(dt.UTC)))


@dlq_app.command("show")
def dlq_show(
    job_id: Annotated[str, typer.Argument(help="The dead job's id.", metavar="ID")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a dead job's full record, with every error and traceback.

    Example:  gopherctl dlq show 0b7c2c1e-5a8f-4f43-9d0e-3f3d0c0b9a11
    """
    with connect(server, token, not_found=f"dead job {job_id}") as client:
        job = client.get_job(job_id).proto
    if job.state != job_pb2.JOB_STATE_DEAD:
        state = state_name(job.state)
        fail(f"job {job_id} is not in the dead letter queue (it is {state})", EXIT_NOT_FOUND)
    if output is Output.json:
        print_json(to_json(job))
    else:
        console().print(job_detail(job, dt.datetime.now(dt.UTC)))


@dlq_app.command("requeue")
def dlq_requeue(
    job_ids: Annotated[
        list[str] | None, typer.Argument(help="Dead jobs to requeue.", metavar="ID")
    ] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="Requeue every dead job.")] = False,
    job_type: Annotated[str, typer.Option("--type", help="Requeue dead jobs of this type.")] = "",
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Move dead jobs back to their ready queues with attempts reset.

    Give ids, or --type T, or --all.

    Example:  gopherctl dlq requeue --type email
    """
    selectors = sum((bool(job_ids), bool(job_type), all_jobs))
    if selectors != 1:
        usage_error("give dead job ids, or --type T, or --all (exactly one of them)")
    with connect(server, token) as client:
        if not job_ids:
            count = client.requeue_dead_jobs(job_type=job_type, all_jobs=all_jobs)
            typer.echo(f"requeued {count} job(s)")
            return
        # One call per id, so each unknown id is named rather than silently skipped.
        missing = []
        for job_id in job_ids:
            try:
                client.requeue_dead_job(job_id)
            except NotFound:
                missing.append(job_id)
                typer.echo(f"error: dead job {job_id} not found", err=True)
            else:
                typer.echo(f"requeued job {job_id}")
    if missing:
        raise typer.Exit(EXIT_NOT_FOUND)


@dlq_app.command("purge")
def dlq_purge(
    older_than: Annotated[
        str | None, typer.Option(help="Only jobs dead for at least this long, e.g. 7d.")
    ] = None,
    job_type: Annotated[str, typer.Option("--type", help="Only dead jobs of this type.")] = "",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm the deletion.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Delete dead jobs for good. Refuses to run without --yes.

    Example:  gopherctl dlq purge --older-than 7d --yes
    """
    older_than_s = duration_option("--older-than", older_than) or 0.0
    if not yes:
        usage_error("purging deletes dead jobs for good; add --yes to confirm")
    with connect(server, token) as client:
        count = client.purge_dead_jobs(job_type, older_than_s)
    typer.echo(f"purged {count} dead job(s)")
