"""Broker settings, from command-line flags and GOPHER_* environment variables."""

from __future__ import annotations

from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A setting is invalid or unsafe, so the broker refuses to start."""


def weighted_pattern(weights: dict[str, int]) -> tuple[str, ...]:
    """The smooth weighted round-robin order for priority weights, e.g. {high: 3,
    normal: 2, low: 1} -> (high, normal, high, low, normal, high): each window of
    sum(weights) dispatches holds every priority exactly its weight times, spread out."""
    if any(w < 1 for w in weights.values()):
        raise ValueError("every priority weight must be at least 1 (weighted mode never starves)")
    total = sum(weights.values())
    current = dict.fromkeys(weights, 0)
    order: list[str] = []
    for _ in range(total):
        for name, weight in weights.items():
            current[name] += weight
        best = max(current, key=lambda n: current[n])
        current[best] -= total
        order.append(best)
    return tuple(order)


@dataclass
class ServerConfig:
    """Everything a broker process needs. Durations carry their unit in the name."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis Cluster: redis_url names one or more seed nodes (redis://h1:p1,h2:p2).
    redis_cluster: bool = False
    # Partitions of the namespace (store/partitions.py), fixed when it is created;
    # 0: the namespace's stored count, else 1 on one server and 12 on a cluster.
    partitions: int = 0
    # Answer a submit or an ack only once a replica has it (WAIT 1; docs/durability.md).
    durable_ack: bool = False
    host: str = "127.0.0.1"
    port: int = 50051
    http_port: int | None = None
    http_host: str = "127.0.0.1"
    ui_base_path: str = ""  # path a reverse proxy serves the broker under, e.g. "/gopher"
    ui_read_only: bool = False  # the dashboard shows no actions and refuses every post
    prefix: str = "gopher"
    default_lease_s: float = 30.0
    max_payload_bytes: int = 1024 * 1024
    max_batch: int = 1000
    max_job_types: int = 10_000
    priority_weights: dict[str, int] = field(
        default_factory=lambda: {"high": 3, "normal": 2, "low": 1}
    )
    strict_priority: bool = False
    finished_retention_s: float = 7 * 24 * 3600
    dead_retention_s: float = 30 * 24 * 3600
    dead_max_jobs: int = 100_000
    # Finished jobs kept at most, whatever their age: bounds memory at any throughput.
    finished_max_jobs: int = 100_000
    idempotency_ttl_s: float = 24 * 3600
    backoff_base_s: float = 1.0
    backoff_factor: float = 2.0
    backoff_max_s: float = 3600.0
    promote_interval_s: float = 0.1
    recover_interval_s: float = 0.5
    janitor_interval_s: float = 5.0
    heartbeat_interval_s: float = 5.0
    stats_interval_s: float = 2.0
    events_max_len: int = 10_000  # entries kept in the global events feed; 0 turns it off
    worker_alive_s: float = 30.0
    # How often each broker re-reads job types' defaults and live workers from Redis
    # (its own workers' streams count at once; other brokers' within this interval).
    type_refresh_s: float = 1.0
    redis_connect_attempts: int = 10
    shutdown_grace_s: float = 5.0
    # -- security (docs/security.md) ---------------------------------------------
    # Token table lines "NAME ROLE[,ROLE] sha256:HEX", from a file and/or inline
    # (";"-separated); no lines at all means auth is off.
    auth_tokens_file: str = ""
    auth_tokens: str = ""
    # Serve a non-loopback address without any authentication (refused otherwise).
    insecure_allow_unauthenticated: bool = False
    # gRPC TLS: PEM files; a client CA makes client certificates mandatory (mTLS).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    # HTTP TLS, set apart from gRPC's: browsers may need a public CA, workers need not.
    http_tls_cert_file: str = ""
    http_tls_key_file: str = ""
    http_tls_client_ca_file: str = ""
    # Redis over TLS (rediss:// URLs): the server's CA and, when Redis asks for client
    # certificates, this broker's; PEM files. Empty: the system's CAs, no client cert.
    redis_tls_ca_file: str = ""
    redis_tls_cert_file: str = ""
    redis_tls_key_file: str = ""
    # Largest gRPC message the broker accepts; bigger ones fail with RESOURCE_EXHAUSTED.
    max_message_bytes: int = 16 * 1024 * 1024
    # Open StreamJobs calls one worker id may hold on one broker.
    max_streams_per_worker: int = 8
    # Submit calls (SubmitJob, SubmitJobs) per second per token; 0 means no limit.
    submit_rate_per_s: float = 0.0
    # Calls allowed in a burst above the rate; 0 means max(1, submit_rate_per_s).
    submit_burst: int = 0
