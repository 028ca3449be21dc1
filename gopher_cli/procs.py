"""`gopherctl server`, `gopherctl worker` and `gopherctl rest`: run the other parts.

`server` and `worker` replace this process with the dedicated command, so signals, exit
codes and options are exactly theirs. The CLI never imports broker code, except the REST
shim's one public entry point, loaded lazily in `rest`.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer

from gopher_cli.common import TokenOpt, fail
from gopher_client import DEFAULT_SERVER

# Unknown options and extra arguments pass through untouched to the dedicated command.
PASSTHROUGH: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}


def exec_module(module: str, args: list[str]) -> None:
    """Replace this process with `python -m module args...` (never returns on success)."""
    argv = [sys.executable, "-m", module, *args]
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        fail(f"cannot start {module}: {error.strerror or error}")


def server(ctx: typer.Context) -> None:
    """Run the broker (gopher-server); every argument is passed through to it.

    See `gopher-server --help` for its options.

    Example:  gopherctl server --port 50051 --redis-url redis://localhost:6379/0
    """
    exec_module("gopher_server.main", list(ctx.args))


def worker(ctx: typer.Context) -> None:
    """Run a worker (gopher-worker); every argument is passed through to it.

    See `gopher-worker --help` for its options.

    Example:  gopherctl worker gopher_worker.examples:registry --concurrency 8
    """
    exec_module("gopher_worker.main", list(ctx.args))


def rest(
    server: Annotated[
        str,
        typer.Option("--server", "-s", envvar="GOPHER_SERVER", help="Broker address, host:port."),
    ] = DEFAULT_SERVER,
    host: Annotated[str, typer.Option(help="Address the REST shim listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the REST shim listens on.")] = 8080,
    token: TokenOpt = None,
) -> None:
    """Serve the REST API and its OpenAPI docs in front of a broker.

    The web dashboard is served by the broker itself, on its HTTP port (/ui/).

    Example:  gopherctl rest --server 127.0.0.1:50051 --port 8080
    """
    try:
        rest_module = importlib.import_module("gopher_server.rest")
    except ImportError as error:
        fail(f"the REST shim is not available: {error}")
    rest_module.serve(server, host, port, token)
