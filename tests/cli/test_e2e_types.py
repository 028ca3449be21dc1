"""`gopherctl types`, and submit warnings on stderr, against a real broker."""

from __future__ import annotations

import json
from typing import Any

from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as wpb

from gopher_client import Client
from tests.cli.conftest import Run
from tests.support import worker_stream

EMAIL = wpb.JobTypeDefaults(
    type="email",
    retries=5,
    timeout_s=30,
    retry_policy=job_pb2.RetryPolicy(base_delay_s=2, max_delay_s=600),
)


def test_types_table_and_json(gopherctl: Run, broker: Any, client: Client) -> None:
    client.pause_queue("normal")  # the submitted jobs stay ready
    with worker_stream(broker.address, "w1", [EMAIL], types=("email", "sms")):
        client.submit_job("email", {})
        client.submit_job("orphan", {})
        table = gopherctl("types", "-s", broker.address)
        as_json = gopherctl("types", "-s", broker.address, "--output", "json")
    assert table.exit_code == 0, table.output
    lines = {line.split()[1]: line for line in table.stdout.splitlines() if "│" in line[:2]}
    assert "retries=5" in lines["email"] and "timeout=30s" in lines["email"]
    assert "backoff(base=2s max=10m)" in lines["email"] and "w1" in lines["email"]
    assert "never registered" in lines["orphan"]
    assert lines["sms"].split("│")[2].strip() == "-"  # no defaults of its own
    assert as_json.exit_code == 0, as_json.output
    rows = {row["type"]: row for row in json.loads(as_json.stdout)}
    assert rows["email"]["defaults"]["retries"] == 5
    assert (rows["email"]["worker_ids"], rows["email"]["depth"]) == (["w1"], 1)
    assert (rows["orphan"]["known"], rows["orphan"]["depth"]) == (False, 1)


def test_types_when_none(gopherctl: Run, broker: Any) -> None:
    ran = gopherctl("types", "-s", broker.address)
    assert ran.exit_code == 0 and ran.stdout == ""
    assert "no job types" in ran.stderr


def test_submit_prints_warnings_on_stderr(gopherctl: Run, broker: Any) -> None:
    ran = gopherctl("submit", "emial", "-s", broker.address)
    assert ran.exit_code == 0, ran.output
    assert len(ran.stdout.split()) == 1  # stdout is only the job id, for scripts
    assert ran.stderr.startswith("warning: no worker has registered job type 'emial'")
    as_json = gopherctl("submit", "emial", "-s", broker.address, "--output", "json")
    assert len(json.loads(as_json.stdout)["warnings"]) == 1
    with worker_stream(broker.address, "w1", [], types=("email",)):
        pass
    quiet = gopherctl("submit", "email", "-s", broker.address)
    assert quiet.exit_code == 0 and quiet.stderr == ""
