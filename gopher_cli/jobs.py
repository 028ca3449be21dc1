"""`gopherctl submit` and `gopherctl job get|list|cancel|watch`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from gopher_cli.common import (
    EXIT_JOB_CANCELLED,
    EXIT_JOB_FAILED,
    EXIT_WAIT_TIMEOUT,
    Output,
    OutputOpt,
    PriorityName,
    ServerOpt,
    StateName,
    TokenOpt,
    collect_pages,
    connect,
    duration_option,
    fail,
    usage_error,
)
from gopher_cli.durations import format_duration, parse_time
from gopher_cli.follow import follow
from gopher_cli.job_views import job_detail, job_table, state_name
from gopher_cli.output import console, print_json, print_messages, to_json
from gopher_cli.payload import PayloadError, read_payload
from gopher_client import (
    DEFAULT_SERVER,
    JobCancelled,
    JobFailed,
    WaitTimeout,
    submit_request,
)

job_app = typer.Typer(
    name="job",
    help="Inspect, cancel and follow jobs.",
    no_args_is_help=True,
)

PayloadOpt = Annotated[
    str | None,
    typer.Option(
        "--payload",
        "-p",
        help="Handler input: a JSON object, @file.json to read a file, or - for stdin.",
        show_default=False,
    ),
]
JobIdArg = Annotated[str, typer.Argument(help="The job's id.", metavar="ID")]


def submit(
    job_type: Annotated[str, typer.Argument(help="Job type, e.g. email.", metavar="TYPE")],
    payload: PayloadOpt = None,
    priority: Annotated[
        PriorityName | None, typer.Option(help="Queue priority (default: normal).")
    ] = None,
    retries: Annotated[
        int | None, typer.Option(help="Retries after the first attempt (default: 3).")
    ] = None,
    delay: Annotated[
        str | None, typer.Option(help="Run no earlier than this from now: 30s, 5m, 2h, 1d.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Run no earlier than this ISO 8601 time (no offset: local)."),
    ] = None,
    idempotency_key: Annotated[
        str, typer.Option(help="A repeat submit with this key returns the first job.")
    ] = "",
    timeout: Annotated[
        str | None, typer.Option(help="Execution time limit per attempt, e.g. 5m.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Follow the job; exit 0 only if it succeeds.")
    ] = False,
    wait_timeout: Annotated[
        str | None, typer.Option(help="With --wait, give up after this long.")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Submit a job and print its id; with --wait, follow it to the end.

    Example:  gopherctl submit email --payload '{"to": "a@b.c"}' --priority high --wait
    """
    if delay is not None and at is not None:
        usage_error("--delay and --at are exclusive; give one")
    try:
        payload_text = read_payload(payload)
    except PayloadError as error:
        usage_error(str(error))
    run_at = None
    if at is not None:
        try:
            run_at = parse_time(at)
        except ValueError as error:
            usage_error(f"--at: {error}")
    request = submit_request(
        job_type,
        payload_text,
        priority=priority.value if priority else None,
        retries=retries,
        run_at=run_at,
        delay_s=duration_option("--delay", delay),
        idempotency_key=idempotency_key,
        timeout_s=duration_option("--timeout", timeout),
    )
    wait_timeout_s = duration_option("--wait-timeout", wait_timeout)
    with connect(server, token) as client:
        response = client.submit(request)
        if response.duplicate:
            typer.echo(f"note: idempotency key matched job {response.job_id}", err=True)
        for warning in response.warnings:  # stderr: stdout stays the id (or the JSON)
            typer.echo(f"warning: {warning}", err=True)
        if output is Output.json and not wait:
            print_json(to_json(response.proto))
        elif output is Output.table:
            typer.echo(response.job_id)
        if wait:
            code = follow(
                client, response.job_id, output, timeout_s=wait_timeout_s, stream_json=False
            )
            raise typer.Exit(code)


@job_app.command("get")
def get(
    job_id: JobIdArg,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a job's full record: state, attempts, payload, result, errors and history.

    Example:  gopherctl job get 0b7c2c1e-5a8f-4f43-9d0e-3f3d0c0b9a11 --output json
    """
    with connect(server, token, not_found=f"job {job_id}") as client:
        job = client.get_job(job_id).proto
    if output is Output.json:
        print_json(to_json(job))
    else:
        console().print(job_detail(job, dt.datetime.now(dt.UTC)))


@job_app.command("list")
def list_(
    state: Annotated[StateName | None, typer.Option(help="Only jobs in this state.")] = None,
    job_type: Annotated[str, typer.Option("--type", help="Only jobs of this type.")] = "",
    priority: Annotated[
        PriorityName | None, typer.Option(help="Only jobs of this priority.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most jobs to show.")] = 50,
    id_prefix: Annotated[str, typer.Option(help="Only jobs whose id starts with this.")] = "",
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List jobs, optionally filtered by state, type, priority and id prefix.

    Example:  gopherctl job list --state retrying --type email --limit 20
    """
    with connect(server, token) as client:
        found = collect_pages(
            lambda size, page_token: client.list_jobs(
                state=state.value if state else None,
                job_type=job_type,
                priority=priority.value if priority else None,
                page_size=size,
                page_token=page_token,
                id_prefix=id_prefix,
            ),
            limit,
        )
    jobs = [job.proto for job in found]
    if output is Output.json:
        print_messages(jobs)
    elif not jobs:
        typer.echo("no jobs match", err=True)
    else:
        console().print(job_table(jobs, dt.datetime.now(dt.UTC)))


@job_app.command("cancel")
def cancel(
    job_id: JobIdArg,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Cancel a job that has not finished; a finished job is left as it is.

    Example:  gopherctl job cancel 0b7c2c1e-5a8f-4f43-9d0e-3f3d0c0b9a11
    """
    with connect(server, token, not_found=f"job {job_id}") as client:
        response = client.cancel_job(job_id)
    if output is Output.json:
        print_json(to_json(response))
    elif response.cancelled:
        typer.echo(f"cancelled job {job_id}")
    else:
        state = state_name(response.state)
        typer.echo(f"job {job_id} already {state}; left as it is")


@job_app.command("watch")
def watch(
    job_id: JobIdArg,
    timeout: Annotated[str | None, typer.Option(help="Give up after this long, e.g. 10m.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Follow a job's state changes until it finishes (JSON: one document per line).

    Exits 0 if the job succeeded, 4 if it died, 5 if it was cancelled, 6 if --timeout
    passed first.

    Example:  gopherctl job watch 0b7c2c1e-5a8f-4f43-9d0e-3f3d0c0b9a11
    """
    timeout_s = duration_option("--timeout", timeout)
    with connect(server, token, not_found=f"job {job_id}") as client:
        code = follow(client, job_id, output, timeout_s=timeout_s)
    raise typer.Exit(code)


@job_app.command("result")
def result(
    job_id: JobIdArg,
    timeout: Annotated[str | None, typer.Option(help="Give up after this long, e.g. 10m.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Wait for a job to finish and print its result as JSON.

    Exits 0 with the result on stdout if the job succeeded; with the reason on stderr, 4
    if it died, 5 if it was cancelled, 6 if --timeout passed first.

    Example:  gopherctl job result 0b7c2c1e-5a8f-4f43-9d0e-3f3d0c0b9a11 --timeout 30s
    """
    timeout_s = duration_option("--timeout", timeout)
    with connect(server, token, not_found=f"job {job_id}") as client:
        try:
            value = client.result(job_id, timeout_s=timeout_s)
        except WaitTimeout:
            limit = format_duration(timeout_s or 0)
            fail(f"job {job_id} did not finish within {limit}", EXIT_WAIT_TIMEOUT)
        except JobFailed as failed:
            reason = str(failed.error) if failed.error else "no error recorded"
            attempts = failed.job.attempt
            fail(f"job {job_id} is dead after {attempts} attempt(s): {reason}", EXIT_JOB_FAILED)
        except JobCancelled:
            fail(f"job {job_id} was cancelled", EXIT_JOB_CANCELLED)
    print_json(value)
