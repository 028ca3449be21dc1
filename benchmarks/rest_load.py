"""One load-generating client process of the REST-vs-gRPC scenario.

    python -m benchmarks.rest_load --grpc HOST:PORT --http URL --calls N --dir D --index I \\
        --phases grpc,rest,grpc,rest

Connects both clients (sync `gopher_client.Client` and an `httpx.Client`), warms them
up, writes `ready-I`, then for each phase waits for the harness's `go-P` file, makes N
calls one at a time and writes `done-P-I` (JSON: start, end, latencies). Processes,
not threads, so 16 concurrent clients are not 16 threads fighting over one GIL.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.gopher_app import JOB_TYPE
from gopher_client import Client

WARM_CALLS = 20
POLL_S = 0.005
GO_TIMEOUT_S = 120.0


def wait_for(path: Path, timeout_s: float = GO_TIMEOUT_S) -> None:
    """Block until `path` exists (the harness starts every client at once this way)."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout_s:g} s")
        time.sleep(POLL_S)


def callers(grpc_address: str, http_url: str) -> tuple[dict[str, Callable[[], None]], Client]:
    """One submit call per kind: gRPC `SubmitJob` and REST `POST /api/jobs`."""
    client = Client(grpc_address)
    http = httpx.Client(base_url=http_url, timeout=30)
    body = {"type": JOB_TYPE, "payload": {}}

    def rest() -> None:
        response = http.post("/api/jobs", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/jobs: {response.status_code} {response.text[:200]}")

    def grpc() -> None:
        client.submit_job(JOB_TYPE, {})

    return {"grpc": grpc, "rest": rest}, client


def timed(call: Callable[[], None], n: int) -> dict[str, object]:
    """`n` calls one at a time: start and end (monotonic, shared by all processes on
    Linux) and each call's latency in seconds."""
    latencies = []
    start = time.monotonic()
    for _ in range(n):
        t = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t)
    return {"start": start, "end": time.monotonic(), "lat": latencies}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--grpc", required=True)
    p.add_argument("--http", required=True)
    p.add_argument("--calls", type=int, required=True)
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--index", type=int, required=True)
    p.add_argument("--phases", required=True)
    args = p.parse_args()
    calls, client = callers(args.grpc, args.http)
    for call in calls.values():
        for _ in range(WARM_CALLS):
            call()
    (args.dir / f"ready-{args.index}").touch()
    for i, kind in enumerate(args.phases.split(",")):
        wait_for(args.dir / f"go-{i}")
        result = timed(calls[kind], args.calls)
        tmp = args.dir / f"done-{i}-{args.index}.tmp"
        tmp.write_text(json.dumps(result))
        tmp.rename(args.dir / f"done-{i}-{args.index}")
    client.close()


if __name__ == "__main__":
    main()
