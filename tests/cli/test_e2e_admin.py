"""gopherctl queues, queue, dlq, workers, schedules, ratelimit and dash against a real broker."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gopher_client import Client, JobState
from tests.cli.conftest import Run
from tests.cli.protocol_worker import Fail, ProtocolWorker, Succeed
from tests.support import wait_until

StartWorker = Callable[..., ProtocolWorker]


@pytest.fixture
def dead_jobs(client: Client, start_worker: StartWorker) -> list[str]:
    """Three dead jobs in the order they died: "email", "sms", "email", each failed for
    good. The failing worker is gone afterwards, so requeued jobs stay enqueued."""
    worker = start_worker(["email", "sms"], lambda job: Fail("ValueError", f"bad {job.type}"))
    ids = []
    for n, job_type in enumerate(["email", "sms", "email"]):
        job_id = client.submit_job(job_type, {"n": n})
        wait_until(
            lambda: client.get_job(job_id).state == JobState.DEAD,  # noqa: B023
            what=f"job {n} to die",
        )
        ids.append(job_id)
    worker.stop()
    return ids


def newest_first(jobs: list[dict[str, Any]]) -> bool:
    """True when the jobs' death times never increase down the list."""
    times = [job["finished_at"] for job in jobs]
    return times == sorted(times, reverse=True)


def read(gopherctl: Run, *args: str) -> Any:
    """Run a read command with --output json and parse what it printed."""
    result = gopherctl(*args, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_queues_show_depths_by_priority_and_type(
    gopherctl: Run, broker: Any, client: Client
) -> None:
    client.submit_job("email", priority="high")
    client.submit_job("email", priority="high")
    client.submit_job("sms", priority="high")
    client.submit_job("report", priority="low")
    client.submit_job("later", delay_s=600)
    stats = read(gopherctl, "queues", "-s", broker.address)
    by_priority = {queue["priority"]: queue for queue in stats["queues"]}
    assert by_priority["high"]["depth"] == 3
    assert by_priority["high"]["depth_by_type"] == {"email": 2, "sms": 1}
    assert by_priority["low"]["depth"] == 1 and by_priority["normal"]["depth"] == 0
    assert stats["scheduled"] == 1 and stats["dead"] == 0
    table = gopherctl("queues", "-s", broker.address).stdout
    assert "email=2, sms=1" in table and "scheduled 1" in table


def test_pause_and_resume_a_queue(gopherctl: Run, broker: Any) -> None:
    paused = gopherctl("queue", "pause", "low", "-s", broker.address)
    assert (paused.exit_code, paused.stdout) == (0, "paused queue low\n")
    queues = read(gopherctl, "queues", "-s", broker.address)["queues"]
    assert [q["paused"] for q in queues] == [False, False, True]
    assert "paused" in gopherctl("queues", "-s", broker.address).stdout
    gopherctl("queue", "resume", "low", "-s", broker.address)
    queues = read(gopherctl, "queues", "-s", broker.address)["queues"]
    assert not any(q["paused"] for q in queues)
    bad = gopherctl("queue", "pause", "urgent", "-s", broker.address)
    assert bad.exit_code == 2


def test_dlq_list_newest_first_with_last_error(
    gopherctl: Run, broker: Any, dead_jobs: list[str]
) -> None:
    listed = read(gopherctl, "dlq", "list", "-s", broker.address)
    # Jobs that died in the same millisecond may list in either order.
    assert sorted(job["id"] for job in listed) == sorted(dead_jobs) and newest_first(listed)
    assert {job["errors"][-1]["message"] for job in listed} == {"bad email", "bad sms"}
    emails = read(gopherctl, "dlq", "list", "--type", "email", "-s", broker.address)
    assert {job["id"] for job in emails} == {dead_jobs[0], dead_jobs[2]} and newest_first(emails)
    assert len(read(gopherctl, "dlq", "list", "--limit", "1", "-s", broker.address)) == 1
    table = gopherctl("dlq", "list", "-s", broker.address).stdout
    assert "ValueError: bad sms" in table and dead_jobs[1] in table


def test_dlq_show(gopherctl: Run, broker: Any, client: Client, dead_jobs: list[str]) -> None:
    shown = gopherctl("dlq", "show", dead_jobs[1], "-s", broker.address)
    assert shown.exit_code == 0
    assert "bad sms" in shown.stdout and "Traceback" in shown.stdout
    data = read(gopherctl, "dlq", "show", dead_jobs[1], "-s", broker.address)
    assert (data["state"], data["payload"]) == ("dead", {"n": 1})
    alive = client.submit_job("other")
    not_dead = gopherctl("dlq", "show", alive, "-s", broker.address)
    assert not_dead.exit_code == 3
    assert (
        not_dead.stderr == f"error: job {alive} is not in the dead letter queue (it is enqueued)\n"
    )
    missing = gopherctl("dlq", "show", "nope", "-s", broker.address)
    assert (missing.exit_code, missing.stderr) == (3, "error: dead job nope not found\n")


def test_dlq_requeue_by_id(
    gopherctl: Run, broker: Any, client: Client, dead_jobs: list[str]
) -> None:
    result = gopherctl("dlq", "requeue", dead_jobs[0], "nope", "-s", broker.address)
    assert result.exit_code == 3  # one of the ids was unknown, and it is named
    assert result.stdout == f"requeued job {dead_jobs[0]}\n"
    assert result.stderr == "error: dead job nope not found\n"
    job = client.get_job(dead_jobs[0])
    assert (job.state, job.attempt) == (JobState.ENQUEUED, 0)


def test_dlq_requeue_by_type_and_all(
    gopherctl: Run, broker: Any, client: Client, dead_jobs: list[str]
) -> None:
    by_type = gopherctl("dlq", "requeue", "--type", "sms", "-s", broker.address)
    assert by_type.stdout == "requeued 1 job(s)\n"
    assert client.get_job(dead_jobs[1]).state != JobState.DEAD
    everything = gopherctl("dlq", "requeue", "--all", "-s", broker.address)
    assert everything.stdout == "requeued 2 job(s)\n"
    assert read(gopherctl, "dlq", "list", "-s", broker.address) == []


def test_dlq_purge(gopherctl: Run, broker: Any, dead_jobs: list[str]) -> None:
    refused = gopherctl("dlq", "purge", "-s", broker.address)
    assert refused.exit_code == 2
    assert len(read(gopherctl, "dlq", "list", "-s", broker.address)) == 3  # nothing deleted
    recent = gopherctl("dlq", "purge", "--older-than", "7d", "--yes", "-s", broker.address)
    assert recent.stdout == "purged 0 dead job(s)\n"
    by_type = gopherctl("dlq", "purge", "--type", "sms", "--yes", "-s", broker.address)
    assert by_type.stdout == "purged 1 dead job(s)\n"
    rest = gopherctl("dlq", "purge", "--yes", "-s", broker.address)
    assert rest.stdout == "purged 2 dead job(s)\n"
    assert read(gopherctl, "dlq", "list", "-s", broker.address) == []


def test_workers_lists_a_connected_worker(
    gopherctl: Run, broker: Any, client: Client, start_worker: StartWorker
) -> None:
    start_worker(["email", "sms"], lambda job: Succeed(), worker_id="w-cli", capacity=3)
    wait_until(lambda: client.list_workers(), what="the worker to register")
    (worker,) = read(gopherctl, "workers", "-s", broker.address)
    assert worker["worker_id"] == "w-cli" and worker["hostname"] == "test-host"
    assert (worker["job_types"], worker["capacity"], worker["in_flight"]) == (
        ["email", "sms"],
        3,
        0,
    )
    table = gopherctl("workers", "-s", broker.address).stdout
    assert "w-cli" in table and "email, sms" in table and "0%" in table and "ago" in table


def test_workers_when_none(gopherctl: Run, broker: Any) -> None:
    result = gopherctl("workers", "-s", broker.address)
    assert (result.exit_code, result.stderr) == (0, "no workers connected\n")
    assert read(gopherctl, "workers", "-s", broker.address) == []


def test_schedules_add_list_pause_rm(gopherctl: Run, broker: Any) -> None:
    added = gopherctl(
        "schedules", "add", "digest", "--cron", "*/5 * * * *", "--tz", "Europe/Paris",
        "--type", "email", "--payload", '{"kind": "digest"}', "--priority", "high",
        "--retries", "2", "-s", broker.address,
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert "digest" in added.stdout and "Europe/Paris" in added.stdout
    gopherctl("schedules", "add", "tick", "--cron", "@every 30s", "--type", "t",
              "-s", broker.address)  # fmt: skip
    listed = read(gopherctl, "schedules", "list", "-s", broker.address)
    digest = next(s for s in listed if s["name"] == "digest")
    assert digest["job"] == {
        "type": "email",
        "payload": {"kind": "digest"},
        "priority": "high",
        "retries": 2,
    }
    assert digest["timezone"] == "Europe/Paris" and "next_run_at" in digest
    assert gopherctl("schedules", "pause", "digest", "-s", broker.address).exit_code == 0
    listed = read(gopherctl, "schedules", "list", "-s", broker.address)
    assert next(s for s in listed if s["name"] == "digest")["paused"] is True
    assert gopherctl("schedules", "resume", "digest", "-s", broker.address).exit_code == 0
    removed = gopherctl("schedules", "rm", "digest", "-s", broker.address)
    assert removed.stdout == "removed schedule digest\n"
    names = [s["name"] for s in read(gopherctl, "schedules", "list", "-s", broker.address)]
    assert names == ["tick"]


def test_schedule_errors(gopherctl: Run, broker: Any) -> None:
    bad = gopherctl("schedules", "add", "x", "--cron", "nope", "--type", "t", "-s", broker.address)
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --cron: ")
    zone = gopherctl("schedules", "add", "x", "--cron", "@every 1m", "--tz", "Mars/Base",
                     "--type", "t", "-s", broker.address)  # fmt: skip
    assert zone.exit_code == 2 and zone.stderr.startswith("error: --tz: ")
    missing = gopherctl("schedules", "rm", "ghost", "-s", broker.address)
    assert (missing.exit_code, missing.stderr) == (3, "error: schedule ghost not found\n")
    assert gopherctl("schedules", "pause", "ghost", "-s", broker.address).exit_code == 3


def test_ratelimit_set_list_rm(gopherctl: Run, broker: Any) -> None:
    stored = read(gopherctl, "ratelimit", "set", "email", "--rate", "600/m", "--burst", "20",
                  "--max-concurrency", "5", "-s", broker.address)  # fmt: skip
    assert stored == {"type": "email", "rate_per_s": 10.0, "burst": 20, "max_concurrency": 5}
    gopherctl("ratelimit", "set", "sms", "--max-concurrency", "1", "-s", broker.address)
    limits = read(gopherctl, "ratelimit", "list", "-s", broker.address)
    assert [limit["type"] for limit in limits] == ["email", "sms"]
    table = gopherctl("ratelimit", "list", "-s", broker.address).stdout
    assert "10/s" in table and "unlimited" in table
    assert gopherctl("ratelimit", "rm", "email", "-s", broker.address).exit_code == 0
    missing = gopherctl("ratelimit", "rm", "email", "-s", broker.address)
    assert (missing.exit_code, missing.stderr) == (3, "error: rate limit for email not found\n")


def test_dash_once_renders_live_state(
    gopherctl: Run, broker: Any, client: Client, start_worker: StartWorker, dead_jobs: list[str]
) -> None:
    client.submit_job("queued-only", priority="low")
    wait_until(lambda: client.list_workers(), what="the worker to register")
    frame = gopherctl("dash", "--once", "-s", broker.address)
    assert frame.exit_code == 0, frame.stderr
    for expected in ("Queues", "queued-only=1", "cli-test-worker", "ValueError: bad email",
                     dead_jobs[2], "dead 3"):  # fmt: skip
        assert expected in frame.stdout


def test_events_show_the_feed(gopherctl: Run, broker: Any, dead_jobs: list[str]) -> None:
    table = gopherctl("events", "--limit", "100", "-s", broker.address)
    assert table.exit_code == 0, table.stderr
    assert dead_jobs[0] in table.stdout and "active -> dead" in table.stdout
    events = read(gopherctl, "events", "--limit", "100", "-s", broker.address)
    assert {e["job_id"] for e in events} >= set(dead_jobs)
    assert [e["to_state"] for e in events if e["job_id"] == dead_jobs[0]][-1] == "dead"


def test_queues_show_throughput_of_the_last_minute(
    gopherctl: Run, broker: Any, dead_jobs: list[str]
) -> None:
    stats = read(gopherctl, "queues", "-s", broker.address)
    assert stats["dead_last_minute"] == 3  # the fixture's jobs all died just now
    table = gopherctl("queues", "-s", broker.address).stdout
    assert "throughput (last minute): 0.0 finished/s, 0.1 dead/s" in table
