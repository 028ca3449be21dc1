"""gopherctl group get against a real broker and Redis."""

from __future__ import annotations

import json
from typing import Any

from gopher_client import Client, submit_request
from tests.cli.conftest import Run


def test_group_get_shows_members_by_state(gopherctl: Run, broker: Any, client: Client) -> None:
    submitted = client.submit_group(
        [submit_request("thumb"), submit_request("thumb")],
        on_complete=[submit_request("report")],
        idempotency_key="g-1",
    )
    client.cancel_job(submitted.members[0].job_id)

    result = gopherctl("group", "get", submitted.group_id, "-s", broker.address, "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["state"] == "running" and data["idempotency_key"] == "g-1"
    assert data["member_ids"] == [m.job_id for m in submitted.members]
    assert data["counts"] == [
        {"state": "enqueued", "count": 1},
        {"state": "cancelled", "count": 1},
    ]

    table = gopherctl("group", "get", submitted.group_id, "-s", broker.address)
    assert table.exit_code == 0, table.stderr
    assert "running" in table.stdout and "cancelled  1" in table.stdout

    missing = gopherctl("group", "get", "nope", "-s", broker.address)
    assert missing.exit_code != 0 and "group nope" in missing.stderr
