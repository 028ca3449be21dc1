"""Talking to a Redis Cluster: the client for reads and admin, and scripts sent to the
master that owns their partition's slot.

Reads and low-rate writes go through redis-py's `RedisCluster`, which routes each
command by its key and splits pipelines per node. Scripts, the hot path, go through one
auto-pipelined connection per master (store/autopipe.py), picked by the slot of the
script's first key; a MOVED reply (the script did not run) refreshes the slot map and
is sent again, while a connection lost after the write is never re-sent, as on one
server: a transition that may have run must not run twice.

redis-py's own retry re-executes commands after a connection error, which for a script
could run a transition twice; the client here is built without retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.exceptions
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import MovedError, NoScriptError

from gopher_server.store.autopipe import AutoPipeline, RedisTarget
from gopher_server.store.connection import RedisTls
from gopher_server.store.durable import durable_call
from gopher_server.store.functions import FunctionsUnsupported, build_library, fcall
from gopher_server.store.lua_sources import SCRIPT_NAMES, script_source, sha1_of

log = logging.getLogger(__name__)

# Redirects followed per script call before it fails (each refreshes the slot map).
_REDIRECTS = 3
# A master that stops answering without closing its connections (SIGSTOP, a network
# partition, a host that froze) would hold every call to it forever: the TCP
# connection stays open. A script call waits this long, then fails like a lost
# connection (it may have run, so it is never re-sent), and the slot map is re-read
# until another master serves that node's slots (tests/cluster/test_failover.py:
# without this, work on a frozen master's partitions waited for it to wake, however
# long after its replica took over). Above DURABLE_WAIT_MS, so WAIT 1 answers first.
# redis-py's own calls get the same socket timeout: the slot map refresh asks the
# seeds in turn, and a frozen one would hold it (and every call waiting on it).
CALL_TIMEOUT_S = 2.0
# While a master is suspected: how often the slot map is re-read, and for how long.
_WATCH_EVERY_S = 0.25
_WATCH_FOR_S = 60.0


def seed_nodes(url: str) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """The (host, port) seeds and connection options of a cluster URL,
    `redis[s]://[user:pass@]h1:p1,h2:p2[/0]`. A database other than 0 is refused:
    Redis Cluster has only database 0."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"a cluster URL is redis:// or rediss://, got {url!r}")
    netloc = parts.netloc
    options: dict[str, Any] = {"ssl": parts.scheme == "rediss"}
    if "@" in netloc:
        credentials, netloc = netloc.rsplit("@", 1)
        user, _, password = credentials.partition(":")
        if password:
            options["username"] = unquote(user) or None
            options["password"] = unquote(password)
        else:
            options["password"] = unquote(user)
    database = parts.path.strip("/")
    if database not in ("", "0"):
        raise ValueError(f"Redis Cluster has only database 0; the URL names {database!r}")
    seeds = []
    for item in netloc.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"cluster seed {item!r} is not host:port")
        seeds.append((host.strip("[]"), int(port)))
    return seeds, options


def cluster_client(url: str, tls: RedisTls | None = None) -> RedisCluster:
    """A RedisCluster client over the URL's seeds (not yet connected)."""
    seeds, options = seed_nodes(url)
    if options.get("ssl") and tls is not None:
        if tls.ca_file:
            options["ssl_ca_certs"] = tls.ca_file
        if tls.cert_file:
            options["ssl_certfile"] = tls.cert_file
            options["ssl_keyfile"] = tls.key_file or None
    return RedisCluster(
        startup_nodes=[ClusterNode(h, p) for h, p in seeds],
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=CALL_TIMEOUT_S,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 0),
        require_full_coverage=True,
        **options,
    )


class ClusterRoutes:
    """Which master serves a key's slot, and one auto-pipeline per master."""

    def __init__(self, client: RedisCluster) -> None:
        self.client = client
        self._pipes: dict[tuple[str, int], AutoPipeline] = {}
        self._refreshing: asyncio.Task[None] | None = None
        self._watches: dict[tuple[str, int], asyncio.Task[None]] = {}
        # Called with a master's address once a replica replaced it (store/sharded_pubsub.py
        # drops its subscription there, which would otherwise wait for the old master).
        self.on_replaced: list[Callable[[tuple[str, int]], None]] = []
        kw = client.connection_kwargs
        # TLS connections keep redis-py (the auto-pipeline speaks plain TCP only).
        self.raw = not kw.get("ssl")
        self._template = RedisTarget(
            host="",
            port=0,
            username=kw.get("username"),
            password=kw.get("password"),
            encoding="utf-8",
            connect_timeout=float(kw.get("socket_connect_timeout") or 2.0),
        )

    def node_of(self, key: str) -> tuple[str, int]:
        """(host, port) of the master serving `key`'s slot, as last known."""
        node = self.client.get_node_from_key(key)
        if node is None:
            raise redis.exceptions.ConnectionError(f"no cluster node serves the slot of {key}")
        return node.host, int(node.port)

    def target_of(self, address: tuple[str, int]) -> RedisTarget:
        """How to open a raw connection to one node."""
        return RedisTarget(
            host=address[0],
            port=address[1],
            username=self._template.username,
            password=self._template.password,
            encoding="utf-8",
            connect_timeout=self._template.connect_timeout,
        )

    def pipe_to(self, address: tuple[str, int]) -> AutoPipeline:
        """The auto-pipeline to one master (opened lazily)."""
        pipe = self._pipes.get(address)
        if pipe is None:
            pipe = self._pipes[address] = AutoPipeline(self.target_of(address))
        return pipe

    async def refresh(self) -> None:
        """Re-read the slot map (after MOVED, a lost connection, or a failover);
        concurrent callers share one refresh."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._refresh())
        await asyncio.shield(self._refreshing)

    async def _refresh(self) -> None:
        try:
            await self.client.nodes_manager.initialize()
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("redis cluster: slot map refresh failed: %s", exc)

    def suspect(self, address: tuple[str, int]) -> None:
        """`address` stopped answering: watch the slot map until it changes."""
        if address not in self._watches:
            self._watches[address] = asyncio.get_running_loop().create_task(self._watch(address))

    async def _watch(self, address: tuple[str, int]) -> None:
        """Re-read the slot map until `address` serves no slot (its replica took over),
        then close every connection to it, so calls still waiting there fail at once
        instead of holding a stream or a submit until the old master wakes. A master
        that answers again before any failover keeps its connections."""
        loop = asyncio.get_running_loop()
        try:
            deadline = loop.time() + _WATCH_FOR_S
            node = self.client.get_node(host=address[0], port=address[1])
            while loop.time() < deadline:
                await self.refresh()
                if not any((n.host, int(n.port)) == address for n in self.client.get_primaries()):
                    log.warning("redis cluster: %s:%d replaced by a replica", *address)
                    pipe = self._pipes.pop(address, None)
                    if pipe is not None:
                        await pipe.aclose()
                    if node is not None:  # redis-py's connections, in use or not
                        with contextlib.suppress(Exception):
                            await node.disconnect()
                    for listener in self.on_replaced:
                        listener(address)
                    return
                await asyncio.sleep(_WATCH_EVERY_S)
        finally:
            self._watches.pop(address, None)

    async def aclose(self) -> None:
        """Close every per-master connection (the client is closed by its owner)."""
        for watch in list(self._watches.values()):
            watch.cancel()
        pipes, self._pipes = list(self._pipes.values()), {}
        for pipe in pipes:
            await pipe.aclose()


class ClusterScripts:
    """Like store/scripts.py's Scripts, over a cluster: each call runs on the master
    owning its first key's slot, as an FCALL of the cluster form of the function library
    (loaded on a master the first time it lacks it: a node added later, or a replica
    promoted before it had synced), or, before Redis 7 or for `sources` outside the
    library, as an EVALSHA of the `#!lua` text; either way a cross-slot access fails."""

    def __init__(
        self,
        routes: ClusterRoutes,
        durable: bool,
        sources: dict[str, str] | None = None,
        functions: bool = True,
    ) -> None:
        self.routes = routes
        if sources is None:
            sources = {name: script_source(name, cluster=True) for name in SCRIPT_NAMES}
        self._sources = sources
        self._shas = {name: sha1_of(source) for name, source in sources.items()}
        self._library = build_library(cluster=True) if functions else None
        self._durable = durable

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` where its keys live; returns its raw reply."""
        for attempt in range(_REDIRECTS + 1):
            address = self.routes.node_of(keys[0])
            try:
                async with asyncio.timeout(CALL_TIMEOUT_S):
                    return await self._run_on(address, name, keys, args)
            except MovedError:
                # The slot moved (a failover, a resharding): the script did not run.
                if attempt == _REDIRECTS:
                    raise
                await self.routes.refresh()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                # Maybe a failover: learn the new owner for the next call, never re-send.
                asyncio.get_running_loop().create_task(self.routes.refresh())
                raise
            except TimeoutError:  # asyncio.timeout's: no answer at all
                self.routes.suspect(address)
                raise redis.exceptions.TimeoutError(
                    f"redis at {address[0]}:{address[1]} did not answer in {CALL_TIMEOUT_S}s"
                ) from None
        raise AssertionError("unreachable")

    async def _run_on(
        self, address: tuple[str, int], name: str, keys: list[str], args: list[Any]
    ) -> Any:
        if self._library is not None and name in self._library.functions:
            try:
                return await fcall(
                    lambda command: self._send_to(address, command), self._library, name, keys, args
                )
            except FunctionsUnsupported:
                self._library = None
        if not self.routes.raw:
            call = ("EVAL", self._sources[name], len(keys), *keys, *args)
            return await self._send_to(address, call)
        pipe = self.routes.pipe_to(address)
        try:
            return await self._send(pipe, ("EVALSHA", self._shas[name], len(keys), *keys, *args))
        except NoScriptError:
            # Scripts are per node: a promoted replica never saw SCRIPT LOAD.
            return await self._send(pipe, ("EVAL", self._sources[name], len(keys), *keys, *args))

    async def _send_to(self, address: tuple[str, int], command: tuple[Any, ...]) -> Any:
        """One command to the master at `address`, not redirected."""
        if not self.routes.raw:
            node = self.routes.client.get_node(host=address[0], port=address[1])
            return await self.routes.client.execute_command(*command, target_nodes=node)
        return await self._send(self.routes.pipe_to(address), command)

    async def _send(self, pipe: AutoPipeline, command: tuple[Any, ...]) -> Any:
        if not self._durable:
            return await pipe.execute(*command)
        return await durable_call(pipe, command)

    async def read(self, key: str, *command: Any) -> Any:
        """A read-only command about `key`, on its master's auto-pipeline (a MOVED
        reply is followed: reading twice is harmless)."""
        for attempt in range(_REDIRECTS + 1):
            address = self.routes.node_of(key)
            try:
                # Bounded like a script: a stream's dispatch reads every partition.
                async with asyncio.timeout(CALL_TIMEOUT_S):
                    if not self.routes.raw:
                        node = self.routes.client.get_node(host=address[0], port=address[1])
                        return await self.routes.client.execute_command(*command, target_nodes=node)
                    return await self.routes.pipe_to(address).execute(*command)
            except MovedError:
                if attempt == _REDIRECTS:
                    raise
                await self.routes.refresh()
            except TimeoutError:
                self.routes.suspect(address)
                raise redis.exceptions.TimeoutError(
                    f"redis at {address[0]}:{address[1]} did not answer in {CALL_TIMEOUT_S}s"
                ) from None
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.routes.aclose()
