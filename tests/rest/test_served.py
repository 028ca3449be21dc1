"""The shim as users run it: mounted on the broker's HTTP port, and standalone (`serve`)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import BrokerThread, wait_until

DOCUMENTED = {
    "type": "email",
    "payload": {
        "to": "user@example.com",
        "subject": "Welcome!",
        "body": "Thank you for signing up.",
    },
    "priority": "high",
    "retries": 3,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _documented_call(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        response = http.post("/api/jobs", json=DOCUMENTED)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "enqueued"
        job = http.get(f"/api/jobs/{response.json()['job_id']}").json()
        assert job["payload"] == DOCUMENTED["payload"] and job["priority"] == "high"
        assert http.get("/api/docs").status_code == 200
        assert http.get("/api/openapi.json").json()["openapi"].startswith("3.1")


def test_the_brokers_http_port_serves_the_shim(broker: BrokerThread) -> None:
    _documented_call(broker.http_url)


@pytest.fixture
def standalone(broker: BrokerThread, tmp_path: Path) -> Iterator[str]:
    """`serve()` in its own process, pointed at the test broker; yields its base URL."""
    port = _free_port()
    code = f"from gopher_server.rest import serve; serve({broker.address!r}, port={port})"
    log_path = tmp_path / "serve.log"  # a file, not a pipe: uvicorn's log cannot block it
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            return httpx.get(f"{base_url}/api/openapi.json", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answering, timeout_s=20, what="the standalone shim to answer")
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C
        assert process.wait(10) == 0, log_path.read_text()
    output = log_path.read_text()
    assert "Application shutdown complete" in output and "Traceback" not in output


def test_standalone_serve(standalone: str) -> None:
    _documented_call(standalone)
