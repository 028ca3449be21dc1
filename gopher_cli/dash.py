"""`gopherctl dash`: a full-screen live view, refreshed until q or Ctrl-C."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import select
import sys
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.live import Live

from gopher_cli.common import ServerOpt, TokenOpt, connect, duration_option
from gopher_cli.dash_view import Snapshot, render
from gopher_cli.output import console
from gopher_client import DEFAULT_SERVER, Client, ConnectionFailed, GopherError

# Rates are measured over this many refreshes, smoothing single-tick noise.
RATE_WINDOW_SNAPSHOTS = 10
# A refresh must not hang on a stuck broker: each call gets at most this long.
CALL_TIMEOUT_S = 2.0


def fetch_snapshot(client: Client, failures: int) -> Snapshot:
    """Fetch stats, workers and the newest `failures` dead jobs. Raises GopherError."""
    started_s = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    stats = client.queue_stats()
    workers = client.list_workers()
    dead = [j.proto for j in client.list_dead_jobs(page_size=failures).jobs] if failures else []
    return Snapshot(started_s, now, stats, workers, dead)


def take_snapshot(client: Client, failures: int) -> Snapshot:
    """Like fetch_snapshot, but an error is recorded in the snapshot instead of raised,
    so the live view survives a broker restart."""
    started_s = time.monotonic()
    try:
        return fetch_snapshot(client, failures)
    except GopherError as error:
        reason = "unreachable" if isinstance(error, ConnectionFailed) else str(error)
        return Snapshot(started_s, dt.datetime.now(dt.UTC), None, error=reason)


def _sleep(timeout_s: float) -> str:
    # The refresh interval of a live view is a pacing delay, not a wait for a condition.
    time.sleep(timeout_s)
    return ""


@contextlib.contextmanager
def key_reader() -> Iterator[collections.abc.Callable[[float], str]]:
    """Yield `wait(timeout_s) -> key` reading single keys from a terminal without Enter.

    Without a terminal (or termios) `wait` just sleeps and returns "".
    """
    if not sys.stdin.isatty():
        yield _sleep
        return
    try:
        import termios
        import tty
    except ImportError:  # not a POSIX terminal
        yield _sleep
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)

    def wait(timeout_s: float) -> str:
        ready, _, _ = select.select([sys.stdin], [], [], timeout_s)
        return sys.stdin.read(1) if ready else ""

    try:
        tty.setcbreak(fd)  # keys arrive at once, and Ctrl-C still interrupts
        yield wait
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def dash(
    interval: Annotated[str, typer.Option(help="Time between refreshes.")] = "1s",
    failures: Annotated[int, typer.Option(min=0, help="Dead jobs to list.")] = 8,
    once: Annotated[
        bool, typer.Option("--once", help="Print one frame and exit (no live screen).")
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Live view of queue depths, rates, workers and recent failures. Press q to quit.

    Example:  gopherctl dash --interval 2s
    """
    interval_s = duration_option("--interval", interval) or 1.0
    history: collections.deque[Snapshot] = collections.deque(maxlen=RATE_WINDOW_SNAPSHOTS)
    if once:
        with connect(server, token) as client:
            snapshot = fetch_snapshot(client, failures)
        console().print(render([snapshot], server))
        return
    # Ctrl-C is the other documented way out, so it ends the view quietly.
    with (
        Client(server, token=token, timeout_s=CALL_TIMEOUT_S) as client,
        contextlib.suppress(KeyboardInterrupt),
    ):
        _run_live(client, server, failures, interval_s, history)


def _run_live(
    client: Client,
    server: str,
    failures: int,
    interval_s: float,
    history: collections.deque[Snapshot],
) -> None:
    with (
        key_reader() as wait,
        Live(render([], server), console=console(), screen=True, auto_refresh=False) as live,
    ):
        while True:
            history.append(take_snapshot(client, failures))
            live.update(render(list(history), server), refresh=True)
            # Wait out the rest of the interval, so slow fetches do not stretch it.
            remaining_s = max(0.0, interval_s - (time.monotonic() - history[-1].taken_at_s))
            if wait(remaining_s).lower() == "q":
                return
