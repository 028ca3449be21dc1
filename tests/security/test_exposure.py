"""Safe defaults: loopback unless told otherwise; an exposed port without auth is
refused unless explicitly allowed, and then the broker warns loudly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gopher_server.auth import check_exposure, is_loopback
from gopher_server.config import ConfigError, ServerConfig
from gopher_server.embedded_redis import free_port
from tests.processes import start_broker


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("broker.example.com", False),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_defaults_bind_loopback_only() -> None:
    config = ServerConfig()
    assert is_loopback(config.host) and is_loopback(config.http_host)
    check_exposure(config, auth_on=False)  # the default needs no auth


@pytest.mark.parametrize(
    ("overrides", "exposed"),
    [
        ({"host": "0.0.0.0"}, "gRPC on 0.0.0.0"),
        ({"http_port": 8080, "http_host": "0.0.0.0"}, "HTTP on 0.0.0.0:8080"),
        # Client certificates guard gRPC, but not the HTTP port that forwards to it.
        (
            {
                "host": "0.0.0.0",
                "tls_client_ca_file": "ca.pem",
                "http_port": 1,
                "http_host": "0.0.0.0",
            },
            "HTTP on 0.0.0.0:1",
        ),
    ],
)
def test_exposed_without_auth_is_refused(overrides: dict[str, object], exposed: str) -> None:
    config = ServerConfig(**overrides)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"refusing to serve {exposed}"):
        check_exposure(config, auth_on=False)
    check_exposure(config, auth_on=True)


def test_required_client_certificates_count_as_auth_for_grpc() -> None:
    check_exposure(ServerConfig(host="0.0.0.0", tls_client_ca_file="ca.pem"), auth_on=False)


def _server(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "gopher_server.main", "--redis-url", redis_url, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_the_server_refuses_a_public_bind_without_auth(redis_url: str) -> None:
    done = _server(redis_url, "--host", "0.0.0.0", "--port", str(free_port()))
    assert done.returncode == 2
    assert "refusing to serve gRPC on 0.0.0.0" in done.stderr
    assert "--insecure-allow-unauthenticated" in done.stderr


def test_the_server_refuses_an_empty_or_bad_tokens_file(redis_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("# nothing here\n")
    done = _server(redis_url, "--auth-tokens-file", str(empty))
    assert done.returncode == 2 and "holds no tokens" in done.stderr
    bad = tmp_path / "bad"
    bad.write_text("ci submit plaintext-token\n")
    done = _server(redis_url, "--auth-tokens-file", str(bad))
    assert done.returncode == 2 and "sha256:" in done.stderr
    done = _server(redis_url, "--auth-tokens-file", str(tmp_path / "missing"))
    assert done.returncode == 2 and "cannot read the auth tokens file" in done.stderr


def test_allowed_insecure_public_bind_starts_and_warns_loudly(redis_url: str) -> None:
    broker, _ = start_broker(
        redis_url, None, "--host", "0.0.0.0", "--insecure-allow-unauthenticated"
    )
    try:
        assert "INSECURE: serving gRPC on 0.0.0.0" in broker.output()
        assert "WITHOUT AUTHENTICATION" in broker.output()
    finally:
        broker.stop()


def test_public_bind_with_tokens_starts_quietly(redis_url: str, tokens_file: Path) -> None:
    broker, _ = start_broker(
        redis_url, None, "--host", "0.0.0.0", "--auth-tokens-file", str(tokens_file)
    )
    try:
        assert "INSECURE" not in broker.output()
    finally:
        broker.stop()
