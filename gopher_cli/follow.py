"""Following one job to its end over WatchJob, shared by `submit --wait` and `job watch`."""

from __future__ import annotations

import datetime as dt

import typer
from gopher.v1 import job_pb2

from gopher_cli.common import (
    EXIT_ERROR,
    EXIT_JOB_CANCELLED,
    EXIT_JOB_FAILED,
    EXIT_OK,
    EXIT_WAIT_TIMEOUT,
    Output,
    fail,
)
from gopher_cli.durations import format_duration
from gopher_cli.job_views import last_error, state_name, watch_line
from gopher_cli.output import print_json, print_json_line, to_json
from gopher_client import Client, ConnectionFailed


def follow(
    client: Client,
    job_id: str,
    output: Output,
    *,
    timeout_s: float | None = None,
    stream_json: bool = True,
) -> int:
    """Print the job's snapshots until it is final; return the exit code to use.

    Table output prints one line per change. JSON output prints one JSON document per
    snapshot when `stream_json`, else only the final full record. Returns EXIT_OK when the
    job succeeded, EXIT_JOB_FAILED when it died and EXIT_JOB_CANCELLED when it was
    cancelled, after printing why on stderr. `timeout_s` bounds the wait (None: forever);
    running out of it exits with EXIT_WAIT_TIMEOUT.
    Raises GopherError for the caller's `connect()` to report.
    """
    last: job_pb2.Job | None = None
    try:
        for snapshot in client.watch_job(job_id, timeout_s=timeout_s):
            job = last = snapshot.proto
            if output is Output.table:
                if job.state == job_pb2.JOB_STATE_RETRYING and not job.errors:
                    # Snapshots carry no error history; a retry is worth naming its cause.
                    job = client.get_job(job_id).proto
                typer.echo(watch_line(job, dt.datetime.now(dt.UTC)))
            elif stream_json:
                print_json_line(to_json(job))
    except ConnectionFailed as error:
        # The SDK reports our own deadline as DEADLINE_EXCEEDED; name it as the wait timing out.
        if timeout_s is not None and str(error).startswith("DEADLINE_EXCEEDED"):
            fail(
                f"job {job_id} did not finish within {format_duration(timeout_s)}",
                EXIT_WAIT_TIMEOUT,
            )
        raise
    if last is None or last.state not in (
        job_pb2.JOB_STATE_SUCCEEDED,
        job_pb2.JOB_STATE_DEAD,
        job_pb2.JOB_STATE_CANCELLED,
    ):
        fail(f"the broker stopped reporting on job {job_id} before it finished")
    # Watch snapshots omit the error history; the full record names the last error.
    final = client.get_job(job_id).proto
    if output is Output.json and not stream_json:
        print_json(to_json(final))
    return outcome(final)


def outcome(job: job_pb2.Job) -> int:
    """Exit code for a final job, printing the reason on stderr when it did not succeed."""
    if job.state == job_pb2.JOB_STATE_SUCCEEDED:
        return EXIT_OK
    if job.state == job_pb2.JOB_STATE_DEAD:
        typer.echo(
            f"error: job {job.id} is dead after {job.attempt} attempt(s): {last_error(job)}",
            err=True,
        )
        return EXIT_JOB_FAILED
    if job.state == job_pb2.JOB_STATE_CANCELLED:
        typer.echo(f"error: job {job.id} was cancelled", err=True)
        return EXIT_JOB_CANCELLED
    typer.echo(f"error: job {job.id} is still {state_name(job.state)}", err=True)
    return EXIT_ERROR
