"""Safe defaults: a broker reachable from other machines must authenticate its callers."""

from __future__ import annotations

import ipaddress
import logging

from gopher_server.config import ConfigError, ServerConfig

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach. Names other than "localhost"
    count as exposed: what they resolve to can change."""
    if host.lower() in ("localhost", "ip6-localhost"):
        return True
    if host.startswith("unix:"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(config: ServerConfig, auth_on: bool) -> None:
    """Refuse to serve a non-loopback address without authentication, unless
    `insecure_allow_unauthenticated`; then warn loudly. Raises ConfigError.

    gRPC counts as authenticated with tokens or required client certificates; HTTP with
    tokens (the shim forwards them) or its own required client certificates.
    """
    exposed = []
    if not is_loopback(config.host) and not (auth_on or config.tls_client_ca_file):
        exposed.append(f"gRPC on {config.host}:{config.port}")
    http_guarded = auth_on or config.http_tls_client_ca_file
    if config.http_port is not None and not is_loopback(config.http_host) and not http_guarded:
        exposed.append(f"HTTP on {config.http_host}:{config.http_port}")
    if not exposed:
        return
    what = " and ".join(exposed)
    if not config.insecure_allow_unauthenticated:
        raise ConfigError(
            f"refusing to serve {what} without authentication: anyone who can reach it "
            "could submit, run or delete jobs. Configure tokens (--auth-tokens-file), "
            "or bind 127.0.0.1, or pass --insecure-allow-unauthenticated to accept the risk"
        )
    banner = "!" * 78
    log.warning(
        "\n%s\nINSECURE: serving %s WITHOUT AUTHENTICATION "
        "(--insecure-allow-unauthenticated).\nAnyone who can reach it can submit, run, "
        "cancel and purge jobs.\n%s",
        banner,
        what,
        banner,
    )
