"""gopherctl submit and job get|list|cancel|watch against a real broker and Redis."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from gopher_client import Client
from tests.cli.conftest import Run
from tests.cli.protocol_worker import Fail, Succeed
from tests.support import wait_until, worker_stream


def job_json(gopherctl: Run, address: str, job_id: str) -> dict[str, Any]:
    """`gopherctl job get ID -o json`, parsed."""
    result = gopherctl("job", "get", job_id, "-s", address, "-o", "json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_submit_prints_the_id_and_stores_every_option(
    gopherctl: Run, broker: Any, client: Client
) -> None:
    result = gopherctl(
        "submit", "email", "--payload", '{"to": "a@b.c"}', "--priority", "high",
        "--retries", "5", "--idempotency-key", "k-1", "--timeout", "2m", "-s", broker.address,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    job_id = result.stdout.strip()
    job = client.get_job(job_id)
    assert (job.type, job.priority, job.retries, job.timeout_s) == ("email", 1, 5, 120.0)
    assert json.loads(job.payload_json) == {"to": "a@b.c"}
    assert job.idempotency_key == "k-1"


def test_idempotent_repeat_returns_the_first_job(gopherctl: Run, broker: Any) -> None:
    with worker_stream(broker.address, "w1", [], types=("email",)):
        pass  # a known type: no warning besides the note below
    args = ["submit", "email", "--idempotency-key", "same", "-s", broker.address, "-o", "json"]
    first = json.loads(gopherctl(*args).stdout)
    again = gopherctl(*args)
    assert json.loads(again.stdout) == {**first, "duplicate": True}
    assert first["status"] == "enqueued" and "duplicate" not in first
    assert again.stderr == f"note: idempotency key matched job {first['job_id']}\n"


def test_payload_from_file_and_stdin(gopherctl: Run, broker: Any, tmp_path: Path) -> None:
    path = tmp_path / "payload.json"
    path.write_text('{"from": "file", "n": [1, 2]}')
    from_file = gopherctl("submit", "t", "--payload", f"@{path}", "-s", broker.address)
    from_stdin = gopherctl(
        "submit", "t", "--payload", "-", "-s", broker.address, input='{"from": "stdin"}'
    )
    assert job_json(gopherctl, broker.address, from_file.stdout.strip())["payload"] == {
        "from": "file",
        "n": [1, 2],
    }
    assert job_json(gopherctl, broker.address, from_stdin.stdout.strip())["payload"] == {
        "from": "stdin"
    }


def test_delay_and_at_schedule_the_job(gopherctl: Run, broker: Any) -> None:
    before = dt.datetime.now(dt.UTC)
    delayed = gopherctl("submit", "t", "--delay", "1h", "-s", broker.address, "-o", "json")
    assert json.loads(delayed.stdout)["status"] == "scheduled"
    job = job_json(gopherctl, broker.address, json.loads(delayed.stdout)["job_id"])
    run_at = dt.datetime.fromisoformat(job["run_at"])
    assert dt.timedelta(minutes=59) < run_at - before < dt.timedelta(minutes=61)

    when = (before + dt.timedelta(hours=2)).replace(microsecond=0)
    at = gopherctl("submit", "t", "--at", when.isoformat(), "-s", broker.address)
    job = job_json(gopherctl, broker.address, at.stdout.strip())
    assert job["state"] == "scheduled"
    assert dt.datetime.fromisoformat(job["run_at"]) == when
    too_far = gopherctl("submit", "t", "--at", "2999-01-01T00:00:00Z", "-s", broker.address)
    assert too_far.exit_code == 2 and too_far.stderr.startswith("error: --at: ")


def test_broker_rejection_names_the_option(gopherctl: Run, broker: Any) -> None:
    result = gopherctl("submit", "email", "--retries", "1000", "-s", broker.address)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --retries: ")
    assert result.stderr.count("\n") == 1
    bad_type = gopherctl("submit", "no spaces allowed", "-s", broker.address)
    assert bad_type.exit_code == 2 and bad_type.stderr.startswith("error: ")


def test_wait_succeeds_with_the_result(gopherctl: Run, broker: Any, start_worker: Any) -> None:
    start_worker(["email"], lambda job: Succeed({"sent": json.loads(job.payload_json)["to"]}))
    result = gopherctl(
        "submit", "email", "--payload", '{"to": "a@b.c"}', "--wait", "--wait-timeout", "30s",
        "-s", broker.address,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines[0]) == 36  # the id comes first, so scripts can still read it
    assert "succeeded" in lines[-1] and 'result {"sent": "a@b.c"}' in lines[-1]


def test_wait_shows_a_retry_with_its_cause(gopherctl: Run, broker: Any, start_worker: Any) -> None:
    # The retry state lasts long enough for the watch to see it even if it starts late.
    flaky = Fail("TimeoutError", "slow smtp", non_retryable=False, retry_after_s=0.5)
    start_worker(["email"], lambda job: flaky if job.attempt == 1 else Succeed("sent"))
    result = gopherctl("submit", "email", "--retries", "1", "--wait", "-s", broker.address)
    assert result.exit_code == 0, result.stderr
    retrying = [line for line in result.stdout.splitlines() if "  retrying  " in line]
    assert retrying and "last error TimeoutError: slow smtp" in retrying[0]
    assert "succeeded  attempt 2/2" in result.stdout.splitlines()[-1]


def test_wait_json_prints_the_final_record(gopherctl: Run, broker: Any, start_worker: Any) -> None:
    start_worker(["email"], lambda job: Succeed([1, 2]))
    result = gopherctl("submit", "email", "--wait", "-o", "json", "-s", broker.address)
    assert result.exit_code == 0, result.stderr
    final = json.loads(result.stdout)
    assert (final["state"], final["result"], final["attempt"]) == ("succeeded", [1, 2], 1)


def test_wait_on_a_dead_job_exits_4_with_the_error(
    gopherctl: Run, broker: Any, start_worker: Any
) -> None:
    start_worker(["email"], lambda job: Fail("SMTPError", "550 mailbox unavailable"))
    result = gopherctl("submit", "email", "--wait", "-s", broker.address)
    assert result.exit_code == 4
    job_id = result.stdout.splitlines()[0]
    assert result.stderr == (
        f"error: job {job_id} is dead after 1 attempt(s): SMTPError: 550 mailbox unavailable\n"
    )


def test_wait_timeout_gives_up(gopherctl: Run, broker: Any) -> None:
    result = gopherctl("submit", "nobody-serves-this", "--wait", "--wait-timeout", "300ms",
                       "-s", broker.address)  # fmt: skip
    assert result.exit_code == 6
    assert result.stderr.endswith("did not finish within 300ms\n")


def test_job_get_shows_errors_and_history(
    gopherctl: Run, broker: Any, client: Client, start_worker: Any
) -> None:
    job_id = client.submit_job("email", {"to": "x"}, retries=0)
    start_worker(["email"], lambda job: Fail("ValueError", "bad address"))
    wait_until(lambda: client.get_job(job_id).state == 6, what="job to die")  # DEAD
    table = gopherctl("job", "get", job_id, "-s", broker.address)
    assert table.exit_code == 0
    for expected in (job_id, "dead", "ValueError", "bad address", "Traceback", "active → dead"):
        assert expected in table.stdout
    data = job_json(gopherctl, broker.address, job_id)
    assert data["errors"][0]["error_type"] == "ValueError"
    assert [event["to_state"] for event in data["events"]][-1] == "dead"


def test_job_get_unknown_is_exit_3(gopherctl: Run, broker: Any) -> None:
    result = gopherctl("job", "get", "no-such-job", "-s", broker.address)
    assert result.exit_code == 3
    assert result.stderr == "error: job no-such-job not found\n"


def test_job_list_filters_and_limits(gopherctl: Run, broker: Any, client: Client) -> None:
    high = client.submit_job("email", priority="high")
    client.submit_job("sms", priority="low")
    delayed = client.submit_job("email", delay_s=3600)

    def ids(*args: str) -> list[str]:
        result = gopherctl("job", "list", *args, "-s", broker.address, "-o", "json")
        assert result.exit_code == 0, result.stderr
        return [job["id"] for job in json.loads(result.stdout)]

    assert len(ids()) == 3
    assert ids("--state", "scheduled") == [delayed]
    assert set(ids("--type", "email")) == {high, delayed}
    assert ids("--priority", "high") == [high]
    assert len(ids("--limit", "2")) == 2
    assert ids("--type", "none-of-these") == []
    table = gopherctl("job", "list", "--type", "sms", "-s", broker.address)
    assert "sms" in table.stdout and "low" in table.stdout and "email" not in table.stdout


def test_cancel_then_cancel_again(gopherctl: Run, broker: Any, client: Client) -> None:
    job_id = client.submit_job("email", delay_s=60)
    first = gopherctl("job", "cancel", job_id, "-s", broker.address)
    assert (first.exit_code, first.stdout) == (0, f"cancelled job {job_id}\n")
    again = gopherctl("job", "cancel", job_id, "-s", broker.address, "-o", "json")
    assert json.loads(again.stdout) == {"state": "cancelled", "cancelled": False}
    missing = gopherctl("job", "cancel", "nope", "-s", broker.address)
    assert (missing.exit_code, missing.stderr) == (3, "error: job nope not found\n")


def test_watch_follows_to_success(
    gopherctl: Run, broker: Any, client: Client, start_worker: Any
) -> None:
    job_id = client.submit_job("email")
    start_worker(["email"], lambda job: Succeed("ok"))
    result = gopherctl("job", "watch", job_id, "--timeout", "30s", "-s", broker.address)
    assert result.exit_code == 0, result.stderr
    assert "succeeded" in result.stdout.splitlines()[-1]
    lines = gopherctl("job", "watch", job_id, "-s", broker.address, "-o", "json").stdout
    assert json.loads(lines.splitlines()[-1])["state"] == "succeeded"


def test_watch_cancelled_job_exits_5(gopherctl: Run, broker: Any, client: Client) -> None:
    job_id = client.submit_job("email", delay_s=60)
    client.cancel_job(job_id)
    result = gopherctl("job", "watch", job_id, "-s", broker.address)
    assert result.exit_code == 5
    assert result.stderr == f"error: job {job_id} was cancelled\n"
    missing = gopherctl("job", "watch", "nope", "-s", broker.address)
    assert missing.exit_code == 3
