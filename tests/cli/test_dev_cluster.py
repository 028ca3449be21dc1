"""`gopherctl dev --cluster`: a local 3-master Redis Cluster, the broker on it and a
worker from one command; a job submitted through it shows in `cluster status`, and
SIGTERM leaves no cluster node running. A taken port is a one-line refusal that also
leaves no node behind."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gopher_server.embedded_redis import free_port
from gopher_server.store.partitions import Layout
from tests.cli.conftest import Run
from tests.cli.test_e2e_processes import GOPHERCTL, Process
from tests.support import wait_until

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


@pytest.fixture
def dev_cluster() -> Iterator[tuple[Process, str, str]]:
    """(the dev process, its broker address, its cluster's seed URL), once it is running."""
    port = free_port()
    dev = Process([*GOPHERCTL, "dev", "--cluster", "--port", str(port), "--http-port",
                   str(free_port())])  # fmt: skip
    try:
        seed = dev.wait_for_line(r"^\s*redis\s+(redis://\S+)$", timeout_s=120).group(1)
        dev.wait_for_line("Press Ctrl-C to stop.", timeout_s=30)
        yield dev, f"127.0.0.1:{port}", seed
    finally:
        dev.stop()
        assert dev.popen.stdout is not None
        dev.popen.stdout.close()


def _node_ports(seed: str) -> list[int]:
    return [int(item.rpartition(":")[2]) for item in seed.removeprefix("redis://").split(",")]


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_dev_cluster_runs_jobs_shows_them_and_stops_every_node(
    gopherctl: Run, dev_cluster: tuple[Process, str, str]
) -> None:
    dev, address, seed = dev_cluster
    pids = []
    for port in _node_ports(seed):
        with redis.Redis(port=port, socket_timeout=5) as node:
            assert node.info("cluster")["cluster_enabled"] == 1
            pids.append(int(node.info("server")["process_id"]))
    assert len(pids) == 3 and all(_alive(pid) for pid in pids)

    # The example worker runs email jobs; a type nobody serves stays ready to be seen.
    done = gopherctl("submit", "email", "--payload", '{"to": "a@b.c"}', "--wait",
                     "--wait-timeout", "30s", "-s", address)  # fmt: skip
    assert done.exit_code == 0, done.stderr
    submitted = gopherctl("submit", "cluster-demo", "-s", address)
    assert submitted.exit_code == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    status = gopherctl("cluster", "status", "-s", address, "-o", "json")
    assert status.exit_code == 0, status.stderr
    found = json.loads(status.stdout)
    assert found["cluster"] is True and found["partition_count"] == 12
    assert [len(m["partitions"]) for m in found["masters"]] == [4, 4, 4]
    assert {m["address"] for m in found["masters"]} == {
        f"127.0.0.1:{port}" for port in _node_ports(seed)
    }
    ready = [p["ready"] for p in found["partitions"]]
    assert sum(ready) == 1 and ready[Layout("gopher", 12).partition_of(job_id) or 0] == 1

    assert dev.stop() == 0
    wait_until(lambda: not any(_alive(pid) for pid in pids), timeout_s=10, what="nodes gone")
    assert not any(_listening(port) for port in _node_ports(seed))


def test_dev_cluster_with_a_taken_broker_port_refuses_and_leaves_no_node() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        argv = [*GOPHERCTL, "dev", "--cluster", "--port", str(taken), "--http-port",
                str(free_port())]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"port 127.0.0.1:{taken} is already in use; choose another with --port" in output
    assert "error: broker exited with code 1" in output
    assert "Gopher is running" not in output and "Traceback" not in output
    seed = output.split("embedded cluster ready at ", 1)[1].split()[0]
    assert not any(_listening(port) for port in _node_ports(seed))


def test_dev_cluster_refuses_options_of_the_single_redis(gopherctl: Run) -> None:
    result = gopherctl("dev", "--cluster", "--redis-port", "7000")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --redis-port and --data-dir are for one embedded Redis, not --cluster\n"
    )
