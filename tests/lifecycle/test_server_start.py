"""gopher-server at start: a clear refusal when Redis cannot be reached."""

from __future__ import annotations

import subprocess
import sys

from gopher_server.embedded_redis import free_port


def test_server_refuses_to_start_without_redis() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gopher_server.main",
            "--redis-url",
            dead,
            "--port",
            "0",
            "--redis-attempts",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("gopher-server: redis at " + dead + " is unreachable after 3 attempts")
