"""gopherctl whoami, throughput, job run-now, job cancel-many and job list --id-prefix."""

from __future__ import annotations

import json
from typing import Any

from gopher_client import Client, JobState
from tests.cli.conftest import Run


def test_whoami_and_throughput(gopherctl: Run, broker: Any) -> None:
    who = gopherctl("whoami", "--server", broker.address)
    assert who.exit_code == 0 and who.stdout.startswith("anonymous (roles ")
    table = gopherctl("throughput", "--server", broker.address, "--minutes", "3")
    assert table.exit_code == 0
    assert len(table.stdout.strip().splitlines()) == 4  # header and three minutes
    as_json = json.loads(
        gopherctl("throughput", "--server", broker.address, "--output", "json").stdout
    )
    assert len(as_json["minutes"]) == 10


def test_run_now_cancel_many_and_id_prefix(gopherctl: Run, broker: Any, client: Client) -> None:
    client.pause_queue("normal")  # run-now jobs stay enqueued where the test sees them
    later = client.submit_job("email", {}, delay_s=3600)
    ran = gopherctl("job", "run-now", later, "--server", broker.address)
    assert ran.exit_code == 0, ran.stderr
    assert client.get_job(later).state == JobState.ENQUEUED
    refused = gopherctl("job", "run-now", later, "--server", broker.address)
    assert refused.exit_code != 0 and "enqueued" in refused.stderr
    found = gopherctl(
        "job", "list", "--id-prefix", later[:6], "--server", broker.address, "--output", "json"
    )
    assert later in found.stdout
    ids = [client.submit_job("sms", {}, delay_s=3600) for _ in range(3)]
    unconfirmed = gopherctl("job", "cancel-many", "--type", "sms", "--server", broker.address)
    assert unconfirmed.exit_code == 2
    done = gopherctl("job", "cancel-many", "--type", "sms", "--yes", "--server", broker.address)
    assert done.exit_code == 0 and "cancelled 3 job(s)" in done.stdout
    assert {client.get_job(i).state for i in ids} == {JobState.CANCELLED}
