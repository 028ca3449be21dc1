"""REST `POST /api/jobs` against gRPC `SubmitJob` on the same broker: one client (p50
and rate, the two interleaved in chunks) and `rest_clients` concurrent client
processes (benchmarks/rest_load.py), gRPC and REST phases alternating twice. Sync
clients only (`gopher_client.Client`, `httpx.Client`), one call at a time each."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import procs, rest_load
from benchmarks.config import Sizes
from benchmarks.gopher_stack import LOG_DIR, GopherStack, StackSettings
from benchmarks.procs import RedisServer
from benchmarks.stats import percentile

Metrics = dict[str, Any]
CHUNK = 100  # single-client calls per kind before switching to the other kind
PHASES = ["grpc", "rest", "grpc", "rest"]


def _single(grpc_address: str, http_url: str, n: int) -> Metrics:
    calls, client = rest_load.callers(grpc_address, http_url)
    lat: dict[str, list[float]] = {"grpc": [], "rest": []}
    busy: dict[str, float] = {"grpc": 0.0, "rest": 0.0}
    try:
        for call in calls.values():
            for _ in range(rest_load.WARM_CALLS):
                call()
        for _ in range(0, n, CHUNK):
            for kind, call in calls.items():
                r = rest_load.timed(call, CHUNK)
                lat[kind] += r["lat"]  # type: ignore[arg-type]
                busy[kind] += float(r["end"]) - float(r["start"])  # type: ignore[arg-type]
    finally:
        client.close()
    out: Metrics = {}
    for kind in calls:
        out[f"{kind}_1_p50_ms"] = round(percentile(lat[kind], 50) * 1000, 3)
        out[f"{kind}_1_p99_ms"] = round(percentile(lat[kind], 99) * 1000, 3)
        out[f"{kind}_1_per_s"] = round(len(lat[kind]) / busy[kind])
    return out


def _wait_files(folder: Path, prefix: str, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(list(folder.glob(f"{prefix}*[0-9]"))) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(folder.glob(prefix + '*')))} of {count} {prefix}")
        time.sleep(0.02)


def _concurrent(grpc_address: str, http_url: str, clients: int, calls: int) -> Metrics:
    folder = Path(tempfile.mkdtemp(prefix="gopher-bench-rest-"))
    children = []
    try:
        for i in range(clients):
            args = [sys.executable, "-m", "benchmarks.rest_load", "--grpc", grpc_address]
            args += ["--http", http_url, "--calls", str(calls), "--dir", str(folder)]
            args += ["--index", str(i), "--phases", ",".join(PHASES)]
            children.append(procs.spawn(args, log=LOG_DIR / f"rest-load-{i}.log"))
        _wait_files(folder, "ready-", clients, 120)
        rates: dict[str, list[float]] = {"grpc": [], "rest": []}
        p50s: dict[str, list[float]] = {"grpc": [], "rest": []}
        for phase, kind in enumerate(PHASES):
            (folder / f"go-{phase}").touch()
            _wait_files(folder, f"done-{phase}-", clients, 120)
            results = [
                json.loads((folder / f"done-{phase}-{i}").read_text()) for i in range(clients)
            ]
            span = max(r["end"] for r in results) - min(r["start"] for r in results)
            rates[kind].append(clients * calls / span)
            p50s[kind].append(percentile([x for r in results for x in r["lat"]], 50))
        for child in children:
            child.wait(30)
    finally:
        for child in children:
            procs.stop(child)
        shutil.rmtree(folder, ignore_errors=True)
    out: Metrics = {}
    for kind in ("grpc", "rest"):
        out[f"{kind}_{clients}_per_s"] = round(max(rates[kind]))
        out[f"{kind}_{clients}_rounds_per_s"] = [round(r) for r in rates[kind]]
        out[f"{kind}_{clients}_p50_ms"] = round(min(p50s[kind]) * 1000, 3)
    return out


def rest(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """POST /api/jobs vs SubmitJob, 1 client and `rest_clients` concurrent ones."""
    redis.flush()
    http_port = procs.free_port()
    with_http = StackSettings(
        workers=settings.workers,
        concurrency=settings.concurrency,
        prefetch=settings.prefetch,
        server_flags=["--http-port", str(http_port), "--http-host", "127.0.0.1"],
    )
    with GopherStack(redis.url, with_http, "rest") as stack:
        procs.wait_port(http_port, 20)
        url = f"http://127.0.0.1:{http_port}"
        out = _single(stack.address, url, sizes.rest_single_calls)
        conc = _concurrent(stack.address, url, sizes.rest_clients, sizes.rest_calls_per_client)
    return {
        **out,
        **conc,
        "rest_clients": sizes.rest_clients,
        "rest_note": f"best of {PHASES.count('rest')} alternating phases of"
        f" {sizes.rest_calls_per_client} calls per client",
    }
