"""`gopherctl job result ID`: waits and prints the decoded result, or says why not."""

from __future__ import annotations

import json
from typing import Any

from gopher_client import Client
from tests.cli.conftest import Run
from tests.cli.protocol_worker import Fail, Succeed


def test_result_prints_the_decoded_result(
    gopherctl: Run, broker: Any, client: Client, start_worker: Any
) -> None:
    start_worker(["email"], lambda job: Succeed({"sent": json.loads(job.payload_json)["to"]}))
    job_id = client.submit_job("email", {"to": "a@b.c"})
    result = gopherctl("job", "result", job_id, "--timeout", "30s", "-s", broker.address)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"sent": "a@b.c"}


def test_result_of_a_dead_job_exits_4_naming_the_error(
    gopherctl: Run, broker: Any, client: Client, start_worker: Any
) -> None:
    start_worker(["email"], lambda job: Fail("SMTPError", "550 mailbox unavailable"))
    job_id = client.submit_job("email", {})
    result = gopherctl("job", "result", job_id, "--timeout", "30s", "-s", broker.address)
    assert result.exit_code == 4 and result.stdout == ""
    assert result.stderr == (
        f"error: job {job_id} is dead after 1 attempt(s): SMTPError: 550 mailbox unavailable\n"
    )


def test_result_of_a_cancelled_or_unfinished_job(
    gopherctl: Run, broker: Any, client: Client
) -> None:
    job_id = client.submit_job("nobody-serves-this", {})
    waited = gopherctl("job", "result", job_id, "--timeout", "300ms", "-s", broker.address)
    assert waited.exit_code == 6  # timed out: neither dead (4) nor cancelled (5)
    assert waited.stderr == f"error: job {job_id} did not finish within 300ms\n"
    client.cancel_job(job_id)
    cancelled = gopherctl("job", "result", job_id, "-s", broker.address)
    assert cancelled.exit_code == 5 and cancelled.stderr == f"error: job {job_id} was cancelled\n"
    unknown = gopherctl("job", "result", "no-such-job", "-s", broker.address)
    assert unknown.exit_code == 3
