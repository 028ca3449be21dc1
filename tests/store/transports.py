"""Redis servers reached the other ways a broker can be configured: TLS (`rediss://`,
with certificates made for the test, client certificates required) and a unix socket.
Both take redis-py's own connection path instead of the auto-pipelined TCP one, so the
store suite runs over each (see tests/store/conftest.py)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from gopher_server.embedded_redis import find_redis_binary, free_port
from gopher_server.store.connection import RedisTls
from tests.security.certs import CertificateAuthority


@dataclass
class TransportRedis:
    """A Redis server process, the URL that reaches it, and the TLS files it needs."""

    url: str
    process: subprocess.Popen[bytes]
    tls: RedisTls | None = None

    def sync_client(self) -> redis.Redis:
        """A blocking client, for flushing between tests."""
        if self.tls is None:
            return redis.Redis.from_url(self.url)
        return redis.Redis.from_url(
            self.url,
            ssl_ca_certs=self.tls.ca_file,
            ssl_certfile=self.tls.cert_file,
            ssl_keyfile=self.tls.key_file,
        )

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


def _common_args(directory: Path) -> list[str]:
    return [find_redis_binary(prefer_path=True), "--dir", str(directory), "--save", ""]


def _start(args: list[str], url: str, tls: RedisTls | None, timeout_s: float) -> TransportRedis:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = TransportRedis(url, process, tls)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"redis server ({url}) exited at start: {err.strip()}")
        try:
            with server.sync_client() as client:
                if int(client.info("server")["process_id"]) == process.pid:
                    return server
        except (redis.exceptions.RedisError, OSError):
            pass
        time.sleep(0.05)
    server.stop()
    raise TimeoutError(f"redis server ({url}) did not answer within {timeout_s}s")


def start_tls_redis(directory: Path, timeout_s: float = 20.0) -> TransportRedis:
    """A Redis answering only TLS on a free loopback port, requiring client certificates."""
    ca = CertificateAuthority(directory)
    server_pem = ca.issue("redis-server", server=True)
    client_pem = ca.issue("gopher-broker", server=False)
    port = free_port()
    args = [
        *_common_args(directory),
        "--port", "0",
        "--bind", "127.0.0.1",
        "--tls-port", str(port),
        "--tls-cert-file", str(server_pem.cert_file),
        "--tls-key-file", str(server_pem.key_file),
        "--tls-ca-cert-file", str(ca.pem.cert_file),
        "--tls-auth-clients", "yes",
    ]  # fmt: skip
    tls = RedisTls(str(ca.pem.cert_file), str(client_pem.cert_file), str(client_pem.key_file))
    return _start(args, f"rediss://127.0.0.1:{port}/0", tls, timeout_s)


def start_unix_redis(directory: Path, timeout_s: float = 20.0) -> TransportRedis:
    """A Redis answering only on a unix socket in `directory`."""
    socket = directory / "redis.sock"
    args = [
        *_common_args(directory),
        "--port", "0",
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
    ]  # fmt: skip
    return _start(args, f"unix://{socket}?db=0", None, timeout_s)
