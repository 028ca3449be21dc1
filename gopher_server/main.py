"""`gopher-server`: run one broker process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from gopher_client._logging import setup_logging
from gopher_client._options import add_option
from gopher_client._tracing import configure_tracing
from gopher_server.app import Broker
from gopher_server.config import ConfigError, ServerConfig
from gopher_server.ports import PortUnavailableError


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GOPHER_{name}", default)


def _add_security_flags(p: argparse.ArgumentParser, d: ServerConfig) -> None:
    """Auth, TLS and limits flags (docs/security.md)."""
    g = p.add_argument_group("security")
    add_option(
        g,
        "--auth-tokens-file",
        "GOPHER_AUTH_TOKENS_FILE",
        d.auth_tokens_file,
        "token table, lines 'NAME ROLE sha256:HEX'; none means auth off "
        "(GOPHER_AUTH_TOKENS holds inline ';'-separated lines)",
    )
    add_option(
        g,
        "--insecure-allow-unauthenticated",
        "GOPHER_INSECURE_ALLOW_UNAUTHENTICATED",
        d.insecure_allow_unauthenticated,
        "serve a non-loopback address without auth (refused otherwise)",
    )
    for prefix, port in (("", "gRPC"), ("http-", "HTTP")):
        env = "GOPHER_" + prefix.upper().replace("-", "_")
        add_option(g, f"--{prefix}tls-cert", f"{env}TLS_CERT", "", f"{port} TLS cert chain, PEM")
        add_option(g, f"--{prefix}tls-key", f"{env}TLS_KEY", "", f"{port} TLS private key, PEM")
        add_option(
            g,
            f"--{prefix}tls-client-ca",
            f"{env}TLS_CLIENT_CA",
            "",
            f"CA of required {port} client certificates (mTLS), PEM",
        )
    for flag, env_name, meaning in (
        ("--redis-tls-ca", "REDIS_TLS_CA", "CA that signed the Redis server's certificate "
         "(rediss:// URLs), PEM; default: the system's CAs"),
        ("--redis-tls-cert", "REDIS_TLS_CERT", "client certificate for Redis over TLS, PEM"),
        ("--redis-tls-key", "REDIS_TLS_KEY", "client key for Redis over TLS, PEM"),
    ):  # fmt: skip
        add_option(g, flag, f"GOPHER_{env_name}", "", meaning)
    limits = (
        ("--max-message-bytes", "MAX_MESSAGE_BYTES", int, d.max_message_bytes,
         "largest gRPC message accepted"),
        ("--max-streams-per-worker", "MAX_STREAMS_PER_WORKER", int, d.max_streams_per_worker,
         "open job streams one worker id may hold on this broker"),
        ("--submit-rate", "SUBMIT_RATE_PER_S", float, d.submit_rate_per_s,
         "submit calls per second per token; 0 means no limit"),
        ("--submit-burst", "SUBMIT_BURST", int, d.submit_burst,
         "submit calls allowed in a burst; 0 means max(1, rate)"),
    )  # fmt: skip
    for flag, env_name, kind, default, meaning in limits:
        add_option(g, flag, f"GOPHER_{env_name}", default, meaning, type=kind)


def _security_settings(a: argparse.Namespace) -> dict[str, object]:
    return {
        "auth_tokens_file": a.auth_tokens_file,
        "auth_tokens": _env("AUTH_TOKENS", ""),
        "insecure_allow_unauthenticated": a.insecure_allow_unauthenticated,
        "tls_cert_file": a.tls_cert,
        "tls_key_file": a.tls_key,
        "tls_client_ca_file": a.tls_client_ca,
        "http_tls_cert_file": a.http_tls_cert,
        "http_tls_key_file": a.http_tls_key,
        "http_tls_client_ca_file": a.http_tls_client_ca,
        "redis_tls_ca_file": a.redis_tls_ca,
        "redis_tls_cert_file": a.redis_tls_cert,
        "redis_tls_key_file": a.redis_tls_key,
        "max_message_bytes": a.max_message_bytes,
        "max_streams_per_worker": a.max_streams_per_worker,
        "submit_rate_per_s": a.submit_rate,
        "submit_burst": a.submit_burst,
    }


def _weights_text(weights: dict[str, int]) -> str:
    return ":".join(str(weights[name]) for name in ("high", "normal", "low"))


# Options outside the security group: (flag, GOPHER_* variable, type, default, help).
# Defaults are ServerConfig's, so --help and the dataclass cannot disagree.
_D = ServerConfig()
OPTIONS: tuple[tuple[str, str, type, object, str], ...] = (
    ("--redis-url", "REDIS_URL", str, _D.redis_url,
     "Redis URL; with --redis-cluster, seed nodes as redis://h1:p1,h2:p2"),
    ("--redis-cluster", "REDIS_CLUSTER", bool, _D.redis_cluster,
     "Redis is a Redis Cluster: spread the namespace over its masters"),
    ("--partitions", "PARTITIONS", int, _D.partitions,
     "partitions of a new namespace (0: the stored count, else 1, or 12 on a cluster)"),
    ("--durable-ack", "DURABLE_ACK", bool, _D.durable_ack,
     "answer submits and acks only once a Redis replica has them (WAIT 1)"),
    ("--host", "HOST", str, _D.host, "gRPC bind address"),
    ("--port", "PORT", int, _D.port, "gRPC port"),
    ("--http-port", "HTTP_PORT", int, -1,
     "HTTP port for REST, /metrics and health; -1 disables"),
    ("--http-host", "HTTP_HOST", str, _D.http_host, "HTTP bind address"),
    ("--ui-base-path", "UI_BASE_PATH", str, _D.ui_base_path,
     "path a reverse proxy serves the broker under, e.g. /gopher (the dashboard is then "
     "at /gopher/ui/; an X-Forwarded-Prefix header overrides it)"),
    ("--ui-read-only", "UI_READ_ONLY", bool, _D.ui_read_only,
     "the web dashboard shows no actions and refuses every change"),
    ("--prefix", "PREFIX", str, _D.prefix, "Redis key namespace"),
    ("--lease-ttl", "LEASE_TTL_S", float, _D.default_lease_s, "default lease length, seconds"),
    ("--max-payload-bytes", "MAX_PAYLOAD_BYTES", int, _D.max_payload_bytes,
     "largest job payload accepted"),
    ("--max-batch", "MAX_BATCH", int, _D.max_batch, "most jobs in one SubmitJobs call"),
    ("--weights", "PRIORITY_WEIGHTS", str, _weights_text(_D.priority_weights),
     "high:normal:low dispatch weights"),
    ("--strict-priority", "STRICT_PRIORITY", bool, _D.strict_priority,
     "always drain higher priorities first"),
    ("--retention", "RETENTION_S", float, _D.finished_retention_s,
     "seconds to keep finished jobs"),
    ("--backoff-base", "BACKOFF_BASE_S", float, _D.backoff_base_s, "first retry delay, seconds"),
    ("--backoff-max", "BACKOFF_MAX_S", float, _D.backoff_max_s, "largest retry delay, seconds"),
    ("--redis-attempts", "REDIS_ATTEMPTS", int, _D.redis_connect_attempts,
     "tries to reach Redis at start (with backoff) before giving up"),
    ("--max-finished", "MAX_FINISHED", int, _D.finished_max_jobs,
     "most finished jobs kept (oldest go first), on top of --retention"),
    ("--events-max-len", "EVENTS_MAX_LEN", int, _D.events_max_len,
     "entries kept in the global events feed; 0 turns it off"),
    ("--log-level", "LOG_LEVEL", str, "INFO", "log level"),
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The gopher-server command line; every option names its default and variable."""
    p = argparse.ArgumentParser(
        prog="gopher-server", description="Run a Gopher broker (gRPC + HTTP)."
    )
    for flag, env, kind, default, meaning in OPTIONS:
        add_option(p, flag, f"GOPHER_{env}", default, meaning, type=kind)
    add_option(
        p, "--log-format", "GOPHER_LOG_FORMAT", "text", "log format", choices=["text", "json"]
    )
    _add_security_flags(p, _D)
    return p


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    """Flags (each with a GOPHER_* environment default) to a ServerConfig."""
    p = build_parser()
    a = p.parse_args(argv)
    try:
        high, normal, low = (int(x) for x in a.weights.split(":"))
    except ValueError:
        p.error(f"--weights must look like 3:2:1, got {a.weights!r}")
    setup_logging(a.log_level, a.log_format)
    return ServerConfig(
        redis_url=a.redis_url,
        redis_cluster=a.redis_cluster,
        partitions=a.partitions,
        durable_ack=a.durable_ack,
        host=a.host,
        port=a.port,
        http_port=None if a.http_port < 0 else a.http_port,
        http_host=a.http_host,
        ui_base_path=a.ui_base_path.rstrip("/"),
        ui_read_only=a.ui_read_only,
        prefix=a.prefix,
        default_lease_s=a.lease_ttl,
        max_payload_bytes=a.max_payload_bytes,
        max_batch=a.max_batch,
        priority_weights={"high": high, "normal": normal, "low": low},
        strict_priority=a.strict_priority,
        finished_retention_s=a.retention,
        backoff_base_s=a.backoff_base,
        backoff_max_s=a.backoff_max,
        events_max_len=a.events_max_len,
        finished_max_jobs=a.max_finished,
        redis_connect_attempts=a.redis_attempts,
        **_security_settings(a),  # type: ignore[arg-type]
    )


async def serve(config: ServerConfig) -> None:
    """Run a broker until SIGINT or SIGTERM, then stop it gracefully."""
    broker = Broker(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await broker.start()
        print(f"gopher-server ready on {broker.address}", flush=True)
        await stop.wait()
    finally:
        # While stopping (after a signal or a failed start) a further SIGINT/SIGTERM
        # acts at once, as by default: the broker can never hang ignoring them.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await broker.stop()


def main(argv: list[str] | None = None) -> None:
    """Console entry point of `gopher-server`."""
    config = parse_args(argv)
    configure_tracing("gopher-server")
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve(config))
    except (ConnectionError, PortUnavailableError) as exc:
        print(f"gopher-server: {exc}", file=sys.stderr)
        sys.exit(1)
    except ConfigError as exc:  # unsafe or invalid settings: refused before serving
        print(f"gopher-server: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
