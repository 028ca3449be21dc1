"""`gopherctl dev` and the embedded Redis never use a Redis server they did not start."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gopher_server.embedded_redis import EmbeddedRedis, find_redis_binary, free_port
from gopher_server.ports import PortUnavailableError
from tests.support import wait_until

GOPHERCTL = [sys.executable, "-m", "gopher_cli"]


@pytest.fixture
def foreign_redis(tmp_path: Path) -> Iterator[redis.Redis]:
    """Somebody else's redis-server, on a port of its own; a client to inspect it."""
    port = free_port()
    binary = find_redis_binary(prefer_path=True)
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(tmp_path),
    ]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        wait_until(lambda: _pings(client), timeout_s=30)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(15)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


def _port(client: redis.Redis) -> int:
    return int(client.connection_pool.connection_kwargs["port"])


def test_embedded_redis_refuses_a_port_another_redis_holds(foreign_redis: redis.Redis) -> None:
    port = _port(foreign_redis)
    embedded = EmbeddedRedis(port=port, binary=find_redis_binary(prefer_path=True))
    try:
        with pytest.raises(PortUnavailableError, match=f"Redis port 127.0.0.1:{port} is already"):
            embedded.start()
    finally:
        embedded.cleanup()
    assert foreign_redis.keys("*") == []


def test_dev_refuses_a_redis_port_another_redis_holds(foreign_redis: redis.Redis) -> None:
    port = _port(foreign_redis)
    argv = [*GOPHERCTL, "dev", "--redis-port", str(port)]
    argv += ["--port", str(free_port()), "--http-port", str(free_port())]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert (
        f"Redis port 127.0.0.1:{port} is already in use; choose another with --redis-port" in output
    )
    assert "Gopher is running" not in output
    assert "Traceback" not in output
    assert foreign_redis.keys("*") == []  # nothing of Gopher's was written into it


def _parent_pid(pid: int) -> int:
    # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ")".
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_dev_without_a_redis_port_runs_its_own_redis_on_a_free_port() -> None:
    argv = [*GOPHERCTL, "dev", "--port", str(free_port()), "--http-port", str(free_port())]
    dev = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert dev.stdout is not None
        url = None
        for line in dev.stdout:
            if match := re.search(r"^\s*redis\s+(redis://\S+)$", line):
                url = match.group(1)
            if "Press Ctrl-C to stop." in line:
                break
        assert url is not None
        client = redis.Redis.from_url(url)
        try:
            server_pid = int(client.info("server")["process_id"])
        finally:
            client.close()
        # The server answering is the grandchild of dev (dev -> embedded_redis -> server).
        assert _parent_pid(_parent_pid(server_pid)) == dev.pid
    finally:
        dev.send_signal(signal.SIGINT)
        dev.communicate(timeout=60)
    assert dev.returncode == 0
