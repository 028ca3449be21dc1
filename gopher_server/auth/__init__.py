"""Bearer-token auth with roles (submit, work, admin), per-token submit rate limits,
and safe network defaults. One gRPC interceptor enforces it, so gopherctl (over gRPC)
and the REST shim (over gRPC, or in process through the same interceptors) inherit it.
See docs/security.md."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from gopher_server.auth.exposure import check_exposure, is_loopback
from gopher_server.auth.interceptor import AuthInterceptor
from gopher_server.auth.rate import SubmitRateLimiter
from gopher_server.auth.tokens import ROLES, TokenEntry, TokenTable, hash_token
from gopher_server.config import ServerConfig

__all__ = [
    "ROLES",
    "AuthInterceptor",
    "SubmitRateLimiter",
    "TokenEntry",
    "TokenTable",
    "auth_interceptor",
    "check_exposure",
    "hash_token",
    "is_loopback",
]


def auth_interceptor(
    config: ServerConfig, registry: CollectorRegistry | None = None
) -> AuthInterceptor:
    """The interceptor for a broker's settings; refuses unsafe exposure first.
    Raises ConfigError for a bad token table or an unauthenticated public bind."""
    tokens = TokenTable.from_config(config)
    check_exposure(config, auth_on=tokens is not None)
    limiter = None
    if config.submit_rate_per_s > 0:
        limiter = SubmitRateLimiter(config.submit_rate_per_s, config.submit_burst)
    return AuthInterceptor(tokens, limiter, registry)
