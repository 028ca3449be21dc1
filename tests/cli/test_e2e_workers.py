"""gopherctl workers quiet / stop / resume against a real broker, and the state column
of `gopherctl workers list`. The worker's own reaction is covered by
tests/features/test_worker_control.py and tests/lifecycle/test_worker_stop.py."""

from __future__ import annotations

import json
from collections.abc import Callable

from gopher_client import Client
from tests.cli.conftest import Run
from tests.cli.protocol_worker import ProtocolWorker, Succeed
from tests.support import BrokerThread, wait_until

StartWorker = Callable[..., ProtocolWorker]


def listed(gopherctl: Run, address: str) -> dict[str, str]:
    """worker id -> state word, from `workers list --output json`."""
    result = gopherctl("workers", "list", "-s", address, "--output", "json")
    assert result.exit_code == 0, result.output
    return {w["worker_id"]: w["state"] for w in json.loads(result.stdout)}


def test_quiet_and_resume_show_in_the_worker_list(
    gopherctl: Run, broker: BrokerThread, client: Client, start_worker: StartWorker
) -> None:
    start_worker(["email"], lambda job: Succeed(), worker_id="w-ctl")
    wait_until(lambda: client.list_workers(), what="the worker to register")
    assert listed(gopherctl, broker.address) == {"w-ctl": "running"}

    quiet = gopherctl("workers", "quiet", "w-ctl", "-s", broker.address)
    assert (quiet.exit_code, quiet.stdout) == (0, "worker w-ctl is quiet\n")
    assert listed(gopherctl, broker.address) == {"w-ctl": "quiet"}
    table = gopherctl("workers", "-s", broker.address).stdout
    assert "state" in table and "quiet" in table

    resumed = gopherctl("workers", "resume", "w-ctl", "-s", broker.address)
    assert (resumed.exit_code, resumed.stdout) == (0, "worker w-ctl is running\n")
    assert listed(gopherctl, broker.address) == {"w-ctl": "running"}


def test_stop_of_a_worker_that_is_not_connected_waits_for_it(
    gopherctl: Run, broker: BrokerThread, client: Client, start_worker: StartWorker
) -> None:
    worker = start_worker(["email"], lambda job: Succeed(), worker_id="w-gone")
    wait_until(lambda: client.list_workers(), what="the worker to register")
    worker.stop()
    wait_until(lambda: client.list_workers()[0].streams == 0, what="its stream closed")
    stopped = gopherctl("workers", "stop", "w-gone", "-s", broker.address)
    assert stopped.exit_code == 0, stopped.output
    assert stopped.stdout == (
        "worker w-gone is stopping (not connected now: it is told when it connects)\n"
    )


def test_unknown_worker_is_exit_3_with_the_brokers_words(
    gopherctl: Run, broker: BrokerThread
) -> None:
    for action in ("quiet", "stop", "resume"):
        result = gopherctl("workers", action, "nobody", "-s", broker.address)
        assert result.exit_code == 3
        assert result.stderr.startswith("error: worker nobody is not known to the brokers")
        assert result.stdout == ""


def test_a_malformed_worker_id_is_a_usage_error(gopherctl: Run, broker: BrokerThread) -> None:
    result = gopherctl("workers", "quiet", "no spaces allowed", "-s", broker.address)
    assert result.exit_code == 2
    assert "worker id" in result.stderr


def test_options_before_the_subcommand_are_refused_not_ignored(
    gopherctl: Run, dead_address: str
) -> None:
    result = gopherctl("workers", "-s", dead_address, "quiet", "w1")
    assert result.exit_code == 2
    assert "put --server after the subcommand" in result.stderr
