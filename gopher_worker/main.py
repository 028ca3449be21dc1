"""`gopher-worker`: run a worker process for a registry of handlers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading

from gopher_client import DEFAULT_SERVER
from gopher_client._logging import setup_logging
from gopher_client._options import add_option
from gopher_client._tracing import configure_tracing
from gopher_worker._registry import Registry
from gopher_worker._worker import Worker


def load_registry(spec: str) -> Registry:
    """Import "package.module:attribute" and return the Registry it names."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"gopher-worker: registry must look like module:attribute, got {spec!r}")
    sys.path.insert(0, os.getcwd())
    try:
        registry = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"gopher-worker: cannot load {spec}: {exc}") from None
    if not isinstance(registry, Registry):
        raise SystemExit(f"gopher-worker: {spec} is a {type(registry).__name__}, not a Registry")
    return registry


async def run(worker: Worker) -> None:
    """Run until SIGINT/SIGTERM, then drain gracefully; or until an operator's stop
    (`gopherctl workers stop`) has drained the worker."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    print(
        f"gopher-worker {worker.worker_id} running {', '.join(worker.registry.job_types)}",
        flush=True,
    )
    signalled = asyncio.create_task(stop.wait())
    stopped = asyncio.create_task(worker.done.wait())
    await asyncio.wait({signalled, stopped}, return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    stopped.cancel()
    await worker.drain()  # after an operator's stop: returns at once, already drained


# TLS flags: (flag, environment variable, ChannelConfig field), files holding PEM.
TLS_OPTIONS = (
    ("--tls-ca", "GOPHER_TLS_CA", "root_cert", "CA that signed the broker's certificate"),
    ("--tls-client-cert", "GOPHER_TLS_CLIENT_CERT", "cert", "client certificate (mTLS)"),
    ("--tls-client-key", "GOPHER_TLS_CLIENT_KEY", "key", "client private key (mTLS)"),
)


def tls_config(args: argparse.Namespace) -> dict[str, bytes]:
    """PEM bytes for the client's TLS settings from the --tls-* files (empty: plaintext).
    Exits with a message when a file cannot be read or half a key pair is given."""
    config = {}
    for flag, _, name, _ in TLS_OPTIONS:
        path = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if path:
            try:
                with open(path, "rb") as pem:
                    config[name] = pem.read()
            except OSError as exc:
                message = f"gopher-worker: {flag}: cannot read {path}: {exc.strerror}"
                raise SystemExit(message) from None
    if ("cert" in config) != ("key" in config):
        raise SystemExit("gopher-worker: --tls-client-cert and --tls-client-key go together")
    return config


def build_parser() -> argparse.ArgumentParser:
    """The gopher-worker command line; every option names its default and variable."""
    p = argparse.ArgumentParser(prog="gopher-worker", description="Run Gopher job handlers.")
    p.add_argument(
        "registry", help="handlers to run, as module:attribute (a gopher_worker.Registry)"
    )
    add_option(
        p, "--server", "GOPHER_SERVER", DEFAULT_SERVER, "broker address(es), comma-separated"
    )
    add_option(p, "--concurrency", "GOPHER_CONCURRENCY", 16, "jobs run at once", type=int)
    add_option(
        p,
        "--prefetch",
        "GOPHER_PREFETCH",
        "auto",
        "lease up to concurrency x prefetch jobs, so the next ones are already here "
        "when a slot frees (1: no buffer; auto: 8 while handlers take under 5 ms, else 1)",
        type=prefetch_arg,
    )
    add_option(p, "--worker-id", "GOPHER_WORKER_ID", None, "worker id (none: a fresh one)")
    add_option(
        p, "--grace", "GOPHER_GRACE_S", 30.0, "seconds to let running jobs finish on SIGTERM",
        type=float,
    )  # fmt: skip
    add_option(p, "--token", "GOPHER_TOKEN", None, "auth token", secret=True)
    for flag, env, _, meaning in TLS_OPTIONS:
        add_option(p, flag, env, None, f"{meaning}, PEM file")
    add_option(
        p,
        "--metrics-port",
        "GOPHER_METRICS_PORT",
        None,
        "serve /metrics, /healthz and /readyz on this port (0: any free port; none: off)",
        type=int,
    )
    add_option(p, "--log-level", "GOPHER_LOG_LEVEL", "INFO", "log level")
    add_option(
        p, "--log-format", "GOPHER_LOG_FORMAT", "text", "log format", choices=["text", "json"]
    )
    return p


def prefetch_arg(text: str) -> int | None:
    """`--prefetch`: "auto" (None: adapt to the handlers' times) or 1..100."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither auto nor a number") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 100")
    return value


def main(argv: list[str] | None = None) -> None:
    """Console entry point of `gopher-worker`."""
    p = build_parser()
    args = p.parse_args(argv)
    configure_tracing("gopher-worker")
    setup_logging(args.log_level, args.log_format)
    worker = Worker(
        load_registry(args.registry),
        args.server,
        concurrency=args.concurrency,
        prefetch=args.prefetch,
        worker_id=args.worker_id,
        grace_s=args.grace,
        token=args.token,
        client_config=tls_config(args),
        metrics_port=args.metrics_port,
    )
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(run(worker))
    busy = [t for t in threading.enumerate() if t.name.startswith("gopher-job") and t.is_alive()]
    if busy:
        # Sync handlers cannot be interrupted; their jobs were handed back already.
        # Exiting normally would wait for those threads, so leave without them.
        logging.getLogger("gopher_worker").warning(
            "exiting with %d sync handler thread(s) still running; their jobs were handed back",
            len(busy),
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
