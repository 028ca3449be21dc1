"""Rate-limit accuracy with a real clock (a measurement, not a test):

    python -m tests.features.measure_rate_limit [--rate 50] [--burst 5] [--seconds 10]

Starts its own Redis and two brokers in this process, two workers on them, sets the
limit, offers ten times the limit for `seconds` seconds, and prints the achieved
handler start rate against the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from gopher.v1.job_service_pb2 import SubmitJobRequest

from gopher_client import AsyncClient
from gopher_server.embedded_redis import EmbeddedRedis, find_redis_binary
from gopher_worker import Job, Registry, Worker
from tests.conftest import broker_config
from tests.support import BrokerThread


async def measure(rate: float, burst: int, seconds: float) -> None:
    """Run the measurement and print the result."""
    server = EmbeddedRedis(binary=find_redis_binary(prefer_path=True))
    server.start()
    brokers = [BrokerThread(broker_config(server.url)).start() for _ in range(2)]
    starts: list[float] = []
    registry = Registry()

    @registry.handler("email")
    async def send(job: Job) -> None:
        starts.append(time.monotonic())

    workers = [Worker(registry, b.address, concurrency=16) for b in brokers]
    try:
        async with AsyncClient(brokers[0].address) as client:
            await client.set_rate_limit("email", rate_per_s=rate, burst=burst)
            for worker in workers:
                await worker.start()
            offered_per_tick = max(1, round(rate * 10 * 0.1))  # 10x the limit, every 100 ms
            begin = time.monotonic()
            submitted, ticks = 0, 0
            while time.monotonic() - begin < seconds:
                batch = [SubmitJobRequest(type="email") for _ in range(offered_per_tick)]
                submitted += len(await client.submit_jobs(batch))
                ticks += 1  # paced on a schedule, so submit time does not slow the offer
                await asyncio.sleep(max(0.0, begin + ticks * 0.1 - time.monotonic()))
            end = time.monotonic()
        in_window = [t for t in starts if begin <= t < end]
        achieved = len(in_window) / (end - begin)
        steady = [t for t in in_window if t >= begin + 1.0]
        steady_rate = len(steady) / (end - begin - 1.0)
        elapsed = end - begin
        print(
            f"limit {rate}/s burst {burst}; offered {submitted / elapsed:.0f}/s for {elapsed:.1f}s"
        )
        print(f"started {len(in_window)}: {achieved:.2f}/s ({achieved / rate:.1%}, burst included)")
        print(
            f"after the first second: {steady_rate:.2f}/s ({steady_rate / rate:.1%} of the limit)"
        )
    finally:
        for worker in workers:
            await worker.stop()
        for broker in brokers:
            broker.stop()
        server.cleanup()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(measure(args.rate, args.burst, args.seconds))


if __name__ == "__main__":
    main()
