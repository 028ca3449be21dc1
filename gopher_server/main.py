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
from gopher_server.config import ServerConfig


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GOPHER_{name}", default)


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
        prefix=a.prefix,
        default_lease_s=a.lease_ttl,
        max_payload_bytes=a.max_payload_bytes,
        max_batch=a.max_batch,
        priority_weights={"high": high, "normal": normal, "low": low},
        strict_priority=a.strict_priority,
        finished_retention_s=a.retention,
        backoff_base_s=a.backoff_base,
        backoff_max_s=a.backoff_max,
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
    except ConnectionError as exc:
        print(f"gopher-server: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
