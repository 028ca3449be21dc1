"""The benchmark's realistic pieces: the one-INCR job body, paced submits, and the
ratio targets' arithmetic (benchmarks/job_io.py, probe.sample_paced, ratios.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from benchmarks import job_io, probe, ratios


@pytest.fixture
def io_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """$BENCH_REDIS_URL at the test Redis, both INCR databases empty, fresh clients."""
    monkeypatch.setenv("BENCH_REDIS_URL", redis_url)
    with redis.Redis.from_url(job_io.io_url(redis_url)) as c:
        c.flushdb()
    job_io._forget_parent_clients()
    yield redis_url
    job_io._forget_parent_clients()


def test_io_url_keeps_host_and_port_and_replaces_the_database() -> None:
    assert job_io.io_url("redis://127.0.0.1:6390/0") == "redis://127.0.0.1:6390/1"
    assert job_io.io_url("redis://h:1") == "redis://h:1/1"


async def test_the_realistic_body_increments_database_1_only_for_io_payloads(
    io_env: str,
) -> None:
    job_io.touch({"io": 1})
    job_io.touch({})
    await job_io.atouch({"io": 1})
    await job_io.atouch({"t": 1.0})
    await job_io.aclose()
    assert job_io.count(io_env) == 2
    with redis.Redis.from_url(io_env) as queue_db:
        assert queue_db.dbsize() == 0  # the queue's database is untouched


def test_paced_submits_never_go_out_before_their_slot(redis_url: str) -> None:
    sent: list[float] = []
    rc = redis.Redis.from_url(redis_url)

    def submit(payload: dict[str, float]) -> None:
        sent.append(time.perf_counter())
        rc.rpush(probe.LATENCY_KEY, repr(time.time() - payload["t"]))

    samples, offered = probe.sample_paced(rc, submit, rate_per_s=500, jobs=40, timeout_s=5)
    assert len(samples) == 40 and all(s >= 0 for s in samples)
    assert all(b - sent[0] >= i / 500 - 1e-4 for i, b in enumerate(sent))
    assert 0 < offered <= 500 * 1.01
    assert rc.llen(probe.LATENCY_KEY) == 0
    rc.close()


def _results(gopher: dict[str, Any], **peers: dict[str, Any]) -> dict[str, Any]:
    systems = [{"system": "gopher", "metrics": gopher}]
    systems += [{"system": name.replace("_", "-"), "metrics": m} for name, m in peers.items()]
    return {"systems": systems}


def _verdict(results: dict[str, Any], what: str) -> dict[str, Any]:
    return next(v for v in ratios.verdicts(results) if v["what"] == what)


def test_a_missed_target_says_by_what_factor() -> None:
    r = _results(
        {"loop_sync_per_s": 300, "floor_grpc_stream_sync_per_s": 2_000, "paced_p50_ms": 2.6},
        taskiq={"paced_p50_ms": 1.0},
    )
    sync = _verdict(r, "sync Client.submit_job loop vs bare grpcio bidi echo (sync)")
    assert sync["ratio"] == 0.15 and sync["met"] is False
    assert sync["verdict"] == "missed: needs 4.00x more"
    p50 = _verdict(r, "idle p50 at 200 jobs/s vs taskiq")
    assert p50["ratio"] == 2.6 and p50["verdict"] == "missed: needs 2.00x less"


def test_best_peer_leaves_out_gopher_and_the_redis_py_floor() -> None:
    r = _results(
        {"e2e_io_per_s": 4_500},
        taskiq={"e2e_io_per_s": 3_000},
        dramatiq={"e2e_io_per_s": 2_000},
        redis_py={"e2e_io_per_s": 5_000},
    )
    best = _verdict(r, "e2e one-INCR jobs/s vs best peer")
    assert best["denominator"] == 3_000 and best["met"] is True and best["verdict"] == "met"
    floor = _verdict(r, "e2e one-INCR jobs/s vs redis-py floor")
    assert floor["ratio"] == 0.9 and floor["met"] is False


def test_a_target_without_both_figures_is_not_measured() -> None:
    r = _results({"rest_16_per_s": 800})
    v = _verdict(r, "POST /api/jobs vs SubmitJob, 16 concurrent clients")
    assert v["met"] is None and v["verdict"] == "not measured"
