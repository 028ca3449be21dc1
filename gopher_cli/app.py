"""The `gopherctl` Typer application: every command registered in one place."""

from __future__ import annotations

import signal

import typer

from gopher_cli import (
    cluster,
    dash,
    events,
    groups,
    jobs,
    operator,
    procs,
    queues,
    schedules,
    types,
    workers,
)
from gopher_cli.common import EXIT_CODES_HELP
from gopher_cli.dev import dev

app = typer.Typer(
    name="gopherctl",
    help=(
        "Operate Gopher, the distributed task queue: submit and follow jobs, inspect "
        "queues, workers and the dead letter queue, manage schedules and rate limits.\n\n"
        "Every command takes --server (or $GOPHER_SERVER, default 127.0.0.1:50051) and "
        "--token (or $GOPHER_TOKEN); read commands take --output table|json.\n\n"
        f"{EXIT_CODES_HELP}"
    ),
    epilog='Example:  gopherctl submit email --payload \'{"to": "a@b.c"}\' --wait',
    no_args_is_help=True,
    # Tracebacks with local variables would print payloads and tokens; errors are
    # reported as one line by the commands instead.
    pretty_exceptions_show_locals=False,
)

app.command("submit")(jobs.submit)
app.add_typer(jobs.job_app)
app.add_typer(groups.group_app)
app.command("queues")(queues.queues)
app.add_typer(queues.queue_app)
app.add_typer(queues.dlq_app)
app.add_typer(workers.workers_app)
app.command("types")(types.types)
app.add_typer(schedules.schedules_app)
app.add_typer(workers.ratelimit_app)
app.command("dash")(dash.dash)
app.command("events")(events.events)
app.command("whoami")(operator.whoami)
app.command("throughput")(operator.throughput)
app.add_typer(cluster.cluster_app)
app.command("server", context_settings=procs.PASSTHROUGH)(procs.server)
app.command("worker", context_settings=procs.PASSTHROUGH)(procs.worker)
app.command("rest")(procs.rest)
app.command("dev")(dev)


def main() -> None:
    """Console-script entry point for `gopherctl`."""
    # Ctrl-C stops every command (dash, job watch, submit --wait...) wherever it runs: a
    # shell starts background jobs, nohup and some CI runners with SIGINT ignored, and
    # Python keeps an inherited SIG_IGN. Commands that stop in an order of their own
    # (`dev`, and the broker and worker that `server` and `worker` become) install
    # their own handlers over this one.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    app()


if __name__ == "__main__":
    main()
