"""The system under chaos, as real processes: Redis with AOF, two brokers and three
workers, with a TCP proxy in front of Redis and of each broker, and the faults the
controller can inject into it."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from gopher_server.embedded_redis import EmbeddedRedis, find_redis_binary, free_port
from tests.chaos.proxy import ProxyLoop, TcpProxy
from tests.processes import Proc, start_broker, start_worker

# Short leases bound how long a job whose ack was lost waits before it runs again.
LEASE_TTL_S = "5"
WORKER_CONCURRENCY = 8


@dataclass
class Cluster:
    """Start with `start()`, inject faults, then `close()` (safe twice)."""

    brokers_n: int = 2
    workers_n: int = 3
    binary: str = field(default_factory=lambda: find_redis_binary(prefer_path=True))
    faults: Counter[str] = field(default_factory=Counter)

    def start(self) -> Cluster:
        """Start Redis, the recorder Redis, the proxies, the brokers and the workers."""
        self.redis = EmbeddedRedis(appendonly=True, binary=self.binary)
        self.redis.start()
        self._redis_now = self.redis
        # Handlers record each execution in a Redis of their own that no fault touches,
        # so the record survives whatever happens to the system under test.
        self.recorder = EmbeddedRedis(binary=self.binary)
        self.recorder.start()
        self.loop = ProxyLoop()
        self.redis_proxy = TcpProxy(self.loop, self.redis.port)
        self.broker_ports = [free_port() for _ in range(self.brokers_n)]
        self.broker_proxies = [TcpProxy(self.loop, port) for port in self.broker_ports]
        self.brokers: list[Proc] = [self._start_broker(i) for i in range(self.brokers_n)]
        self.workers: list[Proc] = [self._start_worker() for _ in range(self.workers_n)]
        self.retired: list[Proc] = []
        return self

    @property
    def redis_url(self) -> str:
        """The real Redis, bypassing the proxy: for checks at the end."""
        return self.redis.url

    @property
    def broker_addresses(self) -> list[str]:
        """Broker addresses as clients see them (through the proxies)."""
        return [proxy.address for proxy in self.broker_proxies]

    def _start_broker(self, i: int) -> Proc:
        url = f"redis://127.0.0.1:{self.redis_proxy.port}/0"
        proc, _ = start_broker(url, self.broker_ports[i], "--lease-ttl", LEASE_TTL_S)
        return proc

    def _start_worker(self) -> Proc:
        return start_worker(
            ",".join(self.broker_addresses), self.recorder.url, concurrency=WORKER_CONCURRENCY
        )

    # -- faults -----------------------------------------------------------------------
    def kill_worker(self, i: int) -> None:
        """SIGKILL worker `i` and start a fresh one (a new worker id) in its place."""
        self.workers[i].kill()
        self.retired.append(self.workers[i])
        self.workers[i] = self._start_worker()
        self.faults["worker SIGKILL"] += 1

    def kill_broker(self, i: int, down_s: float) -> None:
        """SIGKILL broker `i`, leave it down `down_s`, restart it on the same port."""
        self.brokers[i].kill()
        self.retired.append(self.brokers[i])
        time.sleep(down_s)  # the outage itself: clients must ride it out
        self.brokers[i] = self._start_broker(i)
        self.faults["broker SIGKILL"] += 1

    def restart_redis(self) -> None:
        """Stop Redis (SIGTERM: AOF flushed) and start it again on the same port and data."""
        self._redis_now.stop()
        restarted = EmbeddedRedis(
            port=self.redis.port,
            data_dir=self.redis.data_dir,
            appendonly=True,
            binary=self.binary,
        )
        restarted.start()
        self._redis_now = restarted
        self.faults["redis restart"] += 1

    def drop_connections(self, which: str) -> None:
        """Reset every connection through the Redis proxy or through a broker proxy."""
        if which == "redis":
            self.redis_proxy.drop_all()
        else:
            self.broker_proxies[int(which)].drop_all()
        self.faults[f"connections dropped ({'redis' if which == 'redis' else 'broker'})"] += 1

    def output(self) -> str:
        """Everything the brokers and workers printed, for a failed run's report."""
        return "\n".join(
            f"--- {p.name}\n{p.output()}" for p in [*self.retired, *self.brokers, *self.workers]
        )

    def close(self) -> None:
        """Kill every process, stop the proxies and both Redis servers."""
        for proc in [*getattr(self, "workers", []), *getattr(self, "brokers", [])]:
            proc.kill()
        if hasattr(self, "loop"):
            for proxy in [self.redis_proxy, *self.broker_proxies]:
                proxy.close()
            self.loop.close()
            del self.loop
        if hasattr(self, "redis"):
            self._redis_now.stop()
            self.redis.cleanup()
            self.recorder.cleanup()
