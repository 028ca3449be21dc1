"""Helpers for driving the real gopherctl app in-process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
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


def wait_until(condition: Callable[[], object], timeout_s: float = 10.0, what: str = "") -> None:
    """Poll `condition` until it is truthy; fail the test naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what or condition}")
        time.sleep(0.02)


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


# TODO: provisional, until tests/conftest.py provides the shared `broker` fixture.
class _ThreadBroker:
    """A real broker on a flushed Redis, run on its own event loop in a thread."""

    def __init__(self, redis_url: str) -> None:
        from gopher_server.app import Broker
        from gopher_server.config import ServerConfig

        self.broker = Broker(ServerConfig(redis_url=redis_url, port=0))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def address(self) -> str:
        return self.broker.address

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.broker.start(), self.loop).result(timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.broker.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def broker(redis_url: str) -> Iterator[_ThreadBroker]:
    """A running broker (`.address`) on a Redis flushed for this test."""
    running = _ThreadBroker(redis_url)
    running.start()
    yield running
    running.stop()
