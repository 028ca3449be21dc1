"""The broker's listening ports, claimed before anything starts.

A port that is taken must be a one-line refusal naming the port and the flag that
changes it, before the broker connects to Redis or reports itself serving. The HTTP
socket is bound here and handed to uvicorn (so nobody can take it in between, and
uvicorn never reaches its own bind failure, which exits the process from inside a
task); gRPC binds its own socket, so its port is probed here and grpc's late failure
is mapped to the same error.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass


class PortUnavailableError(OSError):
    """A port the broker must listen on is taken or cannot be bound."""


@dataclass(frozen=True)
class PortSpec:
    """One listening port: what it serves, and how a user changes it."""

    what: str  # "gRPC", "HTTP", "Redis"
    host: str
    port: int
    flag: str  # the command-line flag that sets the port
    env: str = ""  # the environment variable that sets it, if there is one

    def unavailable(self, reason: str) -> PortUnavailableError:
        """The one-line error for this port."""
        also = f" (or {self.env})" if self.env else ""
        return PortUnavailableError(
            f"{self.what} port {self.host}:{self.port} {reason}; "
            f"choose another with {self.flag}{also}"
        )


def listen(spec: PortSpec) -> socket.socket:
    """A listening TCP socket on the spec's address (SO_REUSEADDR, as servers set it).
    Raises PortUnavailableError with a one-line message when it cannot be bound."""
    try:
        infos = socket.getaddrinfo(
            spec.host, spec.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise spec.unavailable(f"has an address that does not resolve ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        in_use = exc.errno == errno.EADDRINUSE
        raise spec.unavailable(
            "is already in use" if in_use else f"cannot be bound ({exc.strerror})"
        ) from None
    sock.setblocking(False)
    return sock


def check_free(spec: PortSpec) -> None:
    """Raise PortUnavailableError unless the spec's port can be bound right now.
    Port 0 (any free port) always can."""
    if spec.port != 0:
        listen(spec).close()
