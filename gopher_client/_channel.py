"""Channel settings shared by the sync and asyncio clients."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import grpc

DEFAULT_SERVER = "127.0.0.1:50051"
# Largest message either side accepts; the broker enforces its own, smaller, limits.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

# Keepalive pings find dead connections (a broker that vanished without a FIN) within
# about 20 s, so a worker reconnects elsewhere instead of waiting forever.
KEEPALIVE_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # Reconnect quickly after a broker restart instead of grpc's default 20 s ceiling.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


@dataclass(frozen=True)
class ChannelConfig:
    """Where and how to reach a broker.

    `server` is host:port (default $GOPHER_SERVER or 127.0.0.1:50051); `token` is sent as
    a bearer token when set (default $GOPHER_TOKEN); `root_cert`, `cert` and `key` are
    PEM bytes for TLS and mTLS. `timeout_s` bounds every unary call (and the wait for
    each submit's answer). `submit_stream` sends `submit_job` and `submit` over one shared
    SubmitJobStream (the default); False sends one unary SubmitJob per job.
    """

    server: str = field(default_factory=lambda: os.environ.get("GOPHER_SERVER", DEFAULT_SERVER))
    token: str | None = field(default_factory=lambda: os.environ.get("GOPHER_TOKEN") or None)
    root_cert: bytes | None = None
    cert: bytes | None = None
    key: bytes | None = None
    timeout_s: float = 10.0
    submit_stream: bool = True

    @property
    def secure(self) -> bool:
        """True when the channel uses TLS."""
        return self.root_cert is not None or self.cert is not None

    def credentials(self) -> grpc.ChannelCredentials:
        """TLS credentials from the configured PEM material."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_cert, private_key=self.key, certificate_chain=self.cert
        )

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata: the bearer token, if any."""
        if self.token:
            return (("authorization", f"Bearer {self.token}"),)
        return ()
