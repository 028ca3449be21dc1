"""`gopher-server`: run one broker process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from gopher_client._logging import setup_logging
from gopher_client._tracing import configure_tracing
from gopher_server.app import Broker
from gopher_server.config import ConfigError, ServerConfig
from gopher_server.ports import PortUnavailableError


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GOPHER_{name}", default)


def _add_security_flags(p: argparse.ArgumentParser, d: ServerConfig) -> None:
    """Auth, TLS and limits flags (docs/security.md)."""
    g = p.add_argument_group("security")
    g.add_argument(
        "--auth-tokens-file",
        default=_env("AUTH_TOKENS_FILE", ""),
        help="token table, lines 'NAME ROLE sha256:HEX'; none means auth off "
        "[GOPHER_AUTH_TOKENS_FILE; GOPHER_AUTH_TOKENS holds inline ';'-separated lines]",
    )
    g.add_argument(
        "--insecure-allow-unauthenticated",
        action="store_true",
        default=_env("INSECURE_ALLOW_UNAUTHENTICATED", "") == "1",
        help="serve a non-loopback address without auth (refused otherwise)",
    )
    for prefix, port in (("", "gRPC"), ("http-", "HTTP")):
        env = prefix.upper().replace("-", "_")
        g.add_argument(
            f"--{prefix}tls-cert",
            default=_env(f"{env}TLS_CERT", ""),
            help=f"{port} TLS certificate chain, PEM [GOPHER_{env}TLS_CERT]",
        )
        g.add_argument(
            f"--{prefix}tls-key",
            default=_env(f"{env}TLS_KEY", ""),
            help=f"{port} TLS private key, PEM [GOPHER_{env}TLS_KEY]",
        )
        g.add_argument(
            f"--{prefix}tls-client-ca",
            default=_env(f"{env}TLS_CLIENT_CA", ""),
            help=f"CA of required {port} client certificates (mTLS), PEM "
            f"[GOPHER_{env}TLS_CLIENT_CA]",
        )
    g.add_argument(
        "--max-message-bytes",
        type=int,
        default=int(_env("MAX_MESSAGE_BYTES", str(d.max_message_bytes))),
        help="largest gRPC message accepted",
    )
    g.add_argument(
        "--max-streams-per-worker",
        type=int,
        default=int(_env("MAX_STREAMS_PER_WORKER", str(d.max_streams_per_worker))),
        help="open job streams one worker id may hold on this broker",
    )
    g.add_argument(
        "--submit-rate",
        type=float,
        default=float(_env("SUBMIT_RATE_PER_S", str(d.submit_rate_per_s))),
        help="submit calls per second per token; 0 means no limit",
    )
    g.add_argument(
        "--submit-burst",
        type=int,
        default=int(_env("SUBMIT_BURST", str(d.submit_burst))),
        help="submit calls allowed in a burst; 0 means max(1, rate)",
    )


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
        "max_message_bytes": a.max_message_bytes,
        "max_streams_per_worker": a.max_streams_per_worker,
        "submit_rate_per_s": a.submit_rate,
        "submit_burst": a.submit_burst,
    }


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    """Flags (each with a GOPHER_* environment default) to a ServerConfig."""
    d = ServerConfig()
    p = argparse.ArgumentParser(
        prog="gopher-server", description="Run a Gopher broker (gRPC + HTTP)."
    )
    p.add_argument(
        "--redis-url", default=_env("REDIS_URL", d.redis_url), help="Redis URL [GOPHER_REDIS_URL]"
    )
    p.add_argument("--host", default=_env("HOST", d.host), help="gRPC bind address [GOPHER_HOST]")
    p.add_argument(
        "--port", type=int, default=int(_env("PORT", str(d.port))), help="gRPC port [GOPHER_PORT]"
    )
    p.add_argument(
        "--http-port",
        type=int,
        default=int(_env("HTTP_PORT", "-1")),
        help="HTTP port for REST, /metrics and health; -1 disables [GOPHER_HTTP_PORT]",
    )
    p.add_argument("--http-host", default=_env("HTTP_HOST", d.http_host), help="HTTP bind address")
    p.add_argument(
        "--ui-base-path",
        default=_env("UI_BASE_PATH", d.ui_base_path),
        help="path a reverse proxy serves the broker under, e.g. /gopher (the dashboard is then "
        "at /gopher/ui/; an X-Forwarded-Prefix header overrides it) [GOPHER_UI_BASE_PATH]",
    )
    p.add_argument(
        "--ui-read-only",
        action="store_true",
        default=_env("UI_READ_ONLY", "") in ("1", "true", "yes"),
        help="the web dashboard shows no actions and refuses every change [GOPHER_UI_READ_ONLY]",
    )
    p.add_argument("--prefix", default=_env("PREFIX", d.prefix), help="Redis key namespace")
    p.add_argument(
        "--lease-ttl",
        type=float,
        default=float(_env("LEASE_TTL_S", str(d.default_lease_s))),
        help="default lease length, seconds",
    )
    p.add_argument(
        "--max-payload-bytes",
        type=int,
        default=int(_env("MAX_PAYLOAD_BYTES", str(d.max_payload_bytes))),
    )
    p.add_argument("--max-batch", type=int, default=int(_env("MAX_BATCH", str(d.max_batch))))
    p.add_argument(
        "--weights",
        default=_env("PRIORITY_WEIGHTS", "3:2:1"),
        help="high:normal:low dispatch weights, e.g. 3:2:1",
    )
    p.add_argument(
        "--strict-priority",
        action="store_true",
        default=_env("STRICT_PRIORITY", "") == "1",
        help="always drain higher priorities first",
    )
    p.add_argument(
        "--retention",
        type=float,
        default=float(_env("RETENTION_S", str(d.finished_retention_s))),
        help="seconds to keep finished jobs",
    )
    p.add_argument(
        "--backoff-base", type=float, default=d.backoff_base_s, help="first retry delay, seconds"
    )
    p.add_argument(
        "--backoff-max", type=float, default=d.backoff_max_s, help="largest retry delay, seconds"
    )
    _add_security_flags(p, d)
    p.add_argument(
        "--redis-attempts",
        type=int,
        default=int(_env("REDIS_ATTEMPTS", str(d.redis_connect_attempts))),
        help="tries to reach Redis at start (with backoff) before giving up",
    )
    p.add_argument(
        "--max-finished",
        type=int,
        default=int(_env("MAX_FINISHED", str(d.finished_max_jobs))),
        help="most finished jobs kept (oldest go first), on top of --retention",
    )
    p.add_argument(
        "--events-max-len",
        type=int,
        default=int(_env("EVENTS_MAX_LEN", str(d.events_max_len))),
        help="entries kept in the global events feed; 0 turns it off",
    )
    p.add_argument("--log-level", default=_env("LOG_LEVEL", "INFO"))
    p.add_argument("--log-format", choices=["text", "json"], default=_env("LOG_FORMAT", "text"))
    a = p.parse_args(argv)
    try:
        high, normal, low = (int(x) for x in a.weights.split(":"))
    except ValueError:
        p.error(f"--weights must look like 3:2:1, got {a.weights!r}")
    setup_logging(a.log_level, a.log_format)
    return ServerConfig(
        redis_url=a.redis_url,
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
