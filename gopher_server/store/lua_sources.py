"""The Lua scripts' text: each is the shared prelude, the libraries it uses and its own
file (lua/). store/scripts.py runs them; store/functions.py builds the same code as one
Redis Functions library."""

from __future__ import annotations

import hashlib
from importlib import resources

SCRIPT_NAMES = (
    "submit",
    "dispatch",
    "ack",
    "nack",
    "extend",
    "expire",
    "release",
    "promote",
    "cancel",
    "requeue_dead",
    "purge_dead",
    "trim_finished",
    "prune_holds",
    "submit_group",
    "run_now",
    "watch",
    "filter_ids",
    "permit",
)


# The libraries in lua/ (each `_<name>.lua`) and the libraries each one calls into.
# Every script starts with `_prelude` (the KEYS and ARGV all scripts share), then the
# libraries it needs, dependencies first, then its own file.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "_job": (),  # the job hash's layout: defaults left out, payload chunks
    "_batch": (),  # deferred writes: one variadic command per key per call
    "_history": ("_batch",),  # job history, events feed, throughput counters
    "_announce": ("_batch",),  # control-channel wake-ups
    "_queues": ("_batch", "_announce"),  # ready lists
    "_create": ("_job", "_batch", "_queues", "_history"),  # creating jobs and follow-ups
    "_groups": ("_create",),  # fan-out / fan-in
    "_final": ("_history", "_create", "_groups"),  # follow-ups of an outcome, the DLQ
    "_leases": ("_batch", "_announce", "_queues", "_history", "_final"),  # leases ending
    "_limits": (),  # the cap on distinct job types
    "_dispatch": ("_job", "_batch", "_queues", "_history"),  # leasing ready jobs to a worker
}

# The libraries each script calls directly (their own dependencies come along).
INCLUDES: dict[str, tuple[str, ...]] = {
    "submit": ("_limits", "_create", "_dispatch"),
    "dispatch": ("_dispatch",),
    "ack": ("_batch", "_leases", "_final", "_groups", "_dispatch"),
    "nack": ("_job", "_leases", "_final"),
    "extend": (),
    "expire": ("_job", "_leases"),
    "release": ("_job", "_leases"),
    "promote": ("_job", "_queues", "_history"),
    "cancel": ("_job", "_queues", "_leases", "_history", "_groups"),
    "requeue_dead": ("_job", "_queues", "_history", "_groups"),
    "purge_dead": (),
    "trim_finished": (),
    "prune_holds": (),
    "submit_group": ("_limits", "_create", "_groups"),
    "run_now": ("_job", "_queues", "_history"),
    "watch": (),
    "filter_ids": ("_job",),
    "permit": ("_announce",),
}

PRELUDE = "_prelude"


def libraries_of(name: str) -> list[str]:
    """Every library script `name` includes, each after the ones it calls into."""
    order: list[str] = []

    def visit(lib: str) -> None:
        if lib in order:
            return
        for dep in LIBRARIES[lib]:
            visit(dep)
        order.append(lib)

    for lib in INCLUDES[name]:
        visit(lib)
    return order


# The prelude's publish command; a cluster's scripts use sharded pub/sub instead.
PUBLISH_LINE = "local PUBLISH = 'PUBLISH'"
SHARDED_PUBLISH_LINE = "local PUBLISH = 'SPUBLISH'"


def script_source(name: str, cluster: bool = False) -> str:
    """The full text of script `name`: prelude first, its libraries, then its body.

    For Redis Cluster the script starts with `#!lua`, so Redis refuses any access to a
    key outside the slot of its declared keys instead of allowing it while the slots
    happen to share a node, and it announces with SPUBLISH on its partition's own
    channel: a classic PUBLISH is copied to every node of the cluster."""
    lua = resources.files("gopher_server.store") / "lua"
    parts = [PRELUDE, *libraries_of(name), name]
    source = "\n".join((lua / f"{part}.lua").read_text() for part in parts)
    if not cluster:
        return source
    assert PUBLISH_LINE in source, "the prelude must declare the publish command"
    return "#!lua\n" + source.replace(PUBLISH_LINE, SHARDED_PUBLISH_LINE, 1)


def sha1_of(source: str) -> str:
    """The SHA Redis files a script under (EVALSHA's argument)."""
    return hashlib.sha1(source.encode()).hexdigest()
