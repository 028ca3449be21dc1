"""Redis commands per no-op job, phase by phase, from the store straight to a private
redis-server (no broker, no workers): submit in batches, then dispatch and ack in turn,
with `INFO commandstats` reset around each call so submit, dispatch and ack are counted
apart. Also the Redis process CPU per job over the drain, measured in a second pass
without the probes, and what a finished job keeps in Redis for its retention (its
keys, their MEMORY USAGE).

    python -m benchmarks.command_counts [--jobs 20000] [--batch 100] [--capacity 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from benchmarks.procs import RedisServer
from gopher_server.clock import SystemClock
from gopher_server.store.keys import Keys
from gopher_server.store.records import NewJob
from gopher_server.store.store import Store

JOB_TYPE = "bench.noop"
SCRIPTS = ("fcall", "evalsha", "eval")
# The probes' own commands, not the scripts'.
PROBES = ("info", "config|resetstat", "flushall", "script|load", "function|load")


def _job(i: int) -> NewJob:
    return NewJob(id=f"j{i}", type=JOB_TYPE, priority="normal", payload="{}", retries=3)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Phases:
    """Commandstats per phase: calls and µs per command, summed over calls."""

    def __init__(self, client: aioredis.Redis, counting: bool) -> None:
        self.client, self.counting = client, counting
        self.calls: dict[str, Counter[str]] = {}
        self.usec: dict[str, Counter[str]] = {}

    async def run(self, phase: str, work: Any) -> Any:
        if not self.counting:
            return await work
        await self.client.config_resetstat()
        out = await work
        for name, row in (await self.client.info("commandstats")).items():
            cmd = name.removeprefix("cmdstat_")
            if cmd not in PROBES:
                self.calls.setdefault(phase, Counter())[cmd] += int(row["calls"])
                self.usec.setdefault(phase, Counter())[cmd] += int(row["usec"])
        return out


async def _pass(port: int, pid: int, args: argparse.Namespace, counting: bool) -> Phases:
    client = aioredis.Redis(port=port, decode_responses=True)
    store = Store(client, SystemClock(), Keys())
    phases = Phases(client, counting)
    try:
        await client.flushall()
        for start in range(0, args.jobs, args.batch):
            batch = [_job(i) for i in range(start, min(args.jobs, start + args.batch))]
            await phases.run("submit", store.submit(batch))
        done, cpu_before = 0, _cpu_s(pid)
        while done < args.jobs:
            result = await phases.run(
                "dispatch", store.dispatch("w1", "s1", args.capacity, [JOB_TYPE])
            )
            if not result.leases:
                break
            acks = [(x.job_id, x.token, "null") for x in result.leases]
            await phases.run("ack", store.ack(acks))
            done += len(result.leases)
        phases.calls.setdefault("cpu", Counter())["drain_us"] = round(
            (_cpu_s(pid) - cpu_before) * 1e6 / args.jobs
        )
        # The first job's keys: every job of the run went the same way.
        kept = [k async for k in client.scan_iter(match="*:j0", count=1000)]
        usage = [await client.memory_usage(k) or 0 for k in kept]
        phases.calls["kept"] = Counter(keys=len(kept), bytes=sum(usage))
    finally:
        await store.close()
        await client.aclose()
    return phases


def _report(phases: Phases, timed: Phases, jobs: int) -> None:
    for phase in ("submit", "dispatch", "ack"):
        calls, usec = phases.calls[phase], phases.usec[phase]
        commands = {c: n for c, n in calls.items() if c not in SCRIPTS}
        script_us = sum(usec[c] for c in SCRIPTS)
        print(
            f"{phase}: {sum(commands.values()) / jobs:.2f} commands/job, "
            f"scripts {script_us / jobs:.1f} µs/job"
        )
        print(
            "  " + ", ".join(f"{c} {n / jobs:.2f}" for c, n in calls.most_common() if c in commands)
        )
        # Commands a script calls are counted inside its own time too: what is left of
        # the script's time after them is the Lua interpreter's own work.
        inner_us = sum(usec[c] for c in commands)
        print(
            "  µs/job: "
            + ", ".join(f"{c} {usec[c] / jobs:.2f}" for c, _ in usec.most_common() if c in commands)
            + f"; Lua itself {(script_us - inner_us) / jobs:.1f}"
        )
    drain = sum(
        n for p in ("dispatch", "ack") for c, n in phases.calls[p].items() if c not in SCRIPTS
    )
    print(
        f"drain (dispatch + ack): {drain / jobs:.2f} commands/job; "
        f"Redis process CPU {timed.calls['cpu']['drain_us']} µs/job (second pass, no probes)"
    )
    kept = timed.calls["kept"]
    print(f"a finished job keeps {kept['keys']} key(s), {kept['bytes']} bytes (MEMORY USAGE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="jobs per submit call")
    parser.add_argument("--capacity", type=int, default=50, help="jobs per dispatch call")
    args = parser.parse_args()
    redis = RedisServer()
    redis.start()
    try:
        assert redis.proc is not None
        counted = asyncio.run(_pass(redis.port, redis.proc.pid, args, counting=True))
        timed = asyncio.run(_pass(redis.port, redis.proc.pid, args, counting=False))
        _report(counted, timed, args.jobs)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
