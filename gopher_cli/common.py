"""What every gopherctl command shares: connection options, exit codes and error reporting."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer

from gopher_cli.durations import parse_duration
from gopher_client import (
    Client,
    ConnectionFailed,
    GopherError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RequestError,
    Unauthenticated,
)

# Exit codes, documented in the app's help; scripts rely on them.
EXIT_OK = 0
EXIT_ERROR = 1  # the broker failed or refused, or could not be reached
EXIT_USAGE = 2  # bad arguments, rejected by gopherctl or by the broker (Click uses 2 too)
EXIT_NOT_FOUND = 3  # the named job, dead job, schedule or rate limit does not exist
EXIT_JOB_FAILED = 4  # a followed job ended dead instead of succeeding
# Distinct from a dead job and from a broker error, so a script can tell them apart.
EXIT_JOB_CANCELLED = 5  # a followed job was cancelled
EXIT_WAIT_TIMEOUT = 6  # a followed job had not finished when the wait's timeout passed

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 error (broker unreachable or refused), 2 usage (bad arguments), "
    "3 not found; for a followed job (submit --wait, job watch, job result): 4 it died, "
    "5 it was cancelled, 6 the wait timed out first."
)


class Output(enum.StrEnum):
    """How read commands print: a human table, or stable JSON for scripts."""

    table = "table"
    json = "json"


class PriorityName(enum.StrEnum):
    """Queue priorities as operators type them."""

    high = "high"
    normal = "normal"
    low = "low"


class StateName(enum.StrEnum):
    """Job states as operators type them."""

    scheduled = "scheduled"
    enqueued = "enqueued"
    active = "active"
    retrying = "retrying"
    succeeded = "succeeded"
    dead = "dead"
    cancelled = "cancelled"


ServerOpt = Annotated[
    str,
    typer.Option(
        "--server", "-s", envvar="GOPHER_SERVER", help="Broker address, host:port.", metavar="ADDR"
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="GOPHER_TOKEN", help="Bearer token for the broker.", show_default=False
    ),
]
OutputOpt = Annotated[
    Output, typer.Option("--output", "-o", help="Print a table, or JSON for scripts.")
]

# Broker field names (from InvalidArgument.field) shown as the option a user typed.
_FIELD_OPTIONS: dict[str, str] = {
    "payload_json": "--payload",
    "priority": "--priority",
    "retries": "--retries",
    "delay_s": "--delay",
    "run_at": "--at",
    "idempotency_key": "--idempotency-key",
    "timeout_s": "--timeout",
    "cron": "--cron",
    "timezone": "--tz",
    "rate_per_s": "--rate",
    "burst": "--burst",
    "max_concurrency": "--max-concurrency",
    "older_than_s": "--older-than",
}


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `error: message` as one line on stderr and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def usage_error(message: str) -> NoReturn:
    """Report a bad argument found before any call, exiting with EXIT_USAGE."""
    fail(message, EXIT_USAGE)


def duration_option(option: str, text: str | None) -> float | None:
    """Parse a duration option's value to seconds (None stays None), or exit with usage."""
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as error:
        usage_error(f"{option}: {error}")


def describe_field(field: str) -> str:
    """Name a broker field the way the user wrote it: "payload_json" becomes "--payload"."""
    last = field.rsplit(".", 1)[-1]
    return _FIELD_OPTIONS.get(last, field)


def report(error: GopherError, server: str, not_found: str = "") -> NoReturn:
    """Turn an SDK error into one line on stderr and the documented exit code.

    `not_found` names the thing looked up ("job 123"); empty uses the broker's words.
    """
    if isinstance(error, ConnectionFailed):
        if str(error).startswith("DEADLINE_EXCEEDED"):
            fail(f"broker at {server} did not answer in time")
        fail(f"cannot reach broker at {server}")
    if isinstance(error, NotFound):
        fail(f"{not_found} not found" if not_found else error.message, EXIT_NOT_FOUND)
    if isinstance(error, InvalidArgument):
        prefix = f"{describe_field(error.field)}: " if error.field else ""
        fail(f"{prefix}{error.message}", EXIT_USAGE)
    if isinstance(error, Unauthenticated):
        fail(f"broker at {server} refused the token ({error.message}); set --token or GOPHER_TOKEN")
    if isinstance(error, PermissionDenied):
        fail(f"permission denied: {error.message}")
    if isinstance(error, RequestError):
        fail(error.message)
    fail(str(error))


# TLS material for every command, from the environment (paths to PEM files): the CA
# that signed the broker's certificate, and a client certificate and key for mTLS.
TLS_ENV = {
    "root_cert": "GOPHER_TLS_CA",
    "cert": "GOPHER_TLS_CLIENT_CERT",
    "key": "GOPHER_TLS_CLIENT_KEY",
}


def tls_settings() -> dict[str, bytes]:
    """PEM bytes for the client's TLS settings from $GOPHER_TLS_CA, $GOPHER_TLS_CLIENT_CERT
    and $GOPHER_TLS_CLIENT_KEY (empty: plaintext). Exits with EXIT_USAGE on a bad path."""
    settings = {}
    for name, variable in TLS_ENV.items():
        path = os.environ.get(variable)
        if path:
            try:
                with open(path, "rb") as pem:
                    settings[name] = pem.read()
            except OSError as error:
                usage_error(f"${variable}: cannot read {path}: {error.strerror}")
    if ("cert" in settings) != ("key" in settings):
        usage_error("$GOPHER_TLS_CLIENT_CERT and $GOPHER_TLS_CLIENT_KEY go together")
    return settings


@contextmanager
def connect(server: str, token: str | None, *, not_found: str = "") -> Iterator[Client]:
    """Open a client for one command; SDK errors inside the block become exit codes.

    `not_found` names what the command looks up, for the NotFound message.
    """
    client = Client(server, token=token, **tls_settings())
    try:
        yield client
    except GopherError as error:
        report(error, server, not_found)
    finally:
        client.close()


def collect_pages(fetch: Callable[[int, str], Any], limit: int) -> list[Any]:
    """Up to `limit` jobs from a paged listing: `fetch(page_size, page_token)` returns a
    response with `jobs` and `next_page_token`; pages are asked for until the limit is
    met or the broker runs out."""
    jobs: list[Any] = []
    page_token = ""
    while len(jobs) < limit:
        page = fetch(min(limit - len(jobs), 1000), page_token)
        jobs.extend(page.jobs)
        page_token = page.next_page_token
        if not page_token:
            break
    return jobs[:limit]
