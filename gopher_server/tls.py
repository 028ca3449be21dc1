"""TLS and mTLS for the broker's gRPC and HTTP ports, from PEM files in the config.

gRPC and HTTP are configured apart: the HTTP port may face browsers with a public
certificate while gRPC uses a private CA that also signs the workers' client
certificates. A client CA makes client certificates mandatory on that port.

The broker's own REST shim and dashboard call the services in process
(gopher_server.inproc), so gRPC on TLS, even with client certificates required, needs
no other way in for them.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from gopher_server.config import ConfigError, ServerConfig


@dataclass(frozen=True)
class TlsFiles:
    """PEM material of one port: certificate chain, private key, optional client CA."""

    cert: bytes
    key: bytes
    client_ca: bytes | None
    cert_file: str
    key_file: str
    client_ca_file: str


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc}") from None


def load(cert_file: str, key_file: str, client_ca_file: str, port: str) -> TlsFiles | None:
    """The TLS material of `port` ("gRPC" or "HTTP"), or None when no certificate is
    set. Raises ConfigError for half a pair, a client CA without TLS, or unreadable files."""
    if not (cert_file or key_file):
        if client_ca_file:
            raise ConfigError(f"{port}: a client CA needs TLS (a certificate and key) too")
        return None
    if not (cert_file and key_file):
        raise ConfigError(f"{port}: TLS needs both a certificate and a private key file")
    return TlsFiles(
        cert=_read(cert_file, f"{port} TLS certificate"),
        key=_read(key_file, f"{port} TLS private key"),
        client_ca=_read(client_ca_file, f"{port} client CA") if client_ca_file else None,
        cert_file=cert_file,
        key_file=key_file,
        client_ca_file=client_ca_file,
    )


def grpc_tls(config: ServerConfig) -> TlsFiles | None:
    """The gRPC port's TLS material, or None for plaintext."""
    return load(config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file, "gRPC")


def http_tls(config: ServerConfig) -> TlsFiles | None:
    """The HTTP port's TLS material, or None for plaintext."""
    return load(
        config.http_tls_cert_file,
        config.http_tls_key_file,
        config.http_tls_client_ca_file,
        "HTTP",
    )


def bind_grpc(server: grpc.aio.Server, address: str, files: TlsFiles | None) -> int:
    """Add the gRPC listening port, with TLS when `files` is set; returns the bound
    port (0 when binding failed, as grpc reports it)."""
    if files is None:
        return server.add_insecure_port(address)
    credentials = grpc.ssl_server_credentials(
        [(files.key, files.cert)],
        root_certificates=files.client_ca,
        require_client_auth=files.client_ca is not None,
    )
    return server.add_secure_port(address, credentials)


def uvicorn_options(files: TlsFiles | None) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config` serving HTTPS (empty for plain HTTP)."""
    if files is None:
        return {}
    options: dict[str, Any] = {"ssl_certfile": files.cert_file, "ssl_keyfile": files.key_file}
    if files.client_ca_file:
        options |= {"ssl_ca_certs": files.client_ca_file, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options
