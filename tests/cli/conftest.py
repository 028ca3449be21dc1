"""Helpers for driving the real gopherctl app in-process."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gopher_cli.app import app
from gopher_client import Client
from tests.cli.protocol_worker import Handler, ProtocolWorker

Run = Callable[..., Result]


@pytest.fixture
def gopherctl() -> Run:
    """Run gopherctl with arguments (and optional stdin `input`); returns the Click result
    with `.exit_code`, `.stdout` and `.stderr` kept apart."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def dead_address() -> str:
    """host:port where nothing listens: a port the OS just handed out and took back."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


@pytest.fixture
def client(broker: Any) -> Iterator[Client]:
    """A client SDK connection to the test broker, to arrange state and check results."""
    with Client(broker.address) as sdk:
        yield sdk


@pytest.fixture
def start_worker(broker: Any) -> Iterator[Callable[..., ProtocolWorker]]:
    """Start ProtocolWorkers on the test broker: start_worker(types, handler, **kw).

    Every worker started is stopped at the end of the test."""
    started: list[ProtocolWorker] = []

    def start(job_types: list[str], handler: Handler, **kwargs: Any) -> ProtocolWorker:
        worker = ProtocolWorker(broker.address, job_types, handler, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
