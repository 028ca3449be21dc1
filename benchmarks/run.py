"""The benchmark harness: `python -m benchmarks [--full] [--peers] [--update-docs]`
(`--cluster`: the Redis Cluster scaling benchmark instead, benchmarks/cluster_scale.py).

Starts its own Redis on a free loopback port, then for each scenario a fresh Gopher
broker and 2 worker processes (concurrency 16 each) as subprocesses; with `--peers`
(or `--full`) runs the core scenarios for Celery, Dramatiq, RQ, arq, taskiq and plain
redis-py from their own virtualenvs against the same Redis. Prints one table, writes
JSON (benchmarks/results/latest.json) and, with `--update-docs`, refreshes the chart
and the results section of docs/benchmarks.md. Every child process is stopped at the
end, on failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import (
    cluster_scale,
    gopher_core,
    gopher_real,
    gopher_rest,
    gopher_scale,
    gopher_ui,
    machine,
    procs,
    profile,
    ratios,
    report,
    report_cluster,
    report_real,
)
from benchmarks.config import FULL, QUICK, Sizes
from benchmarks.gopher_stack import LOG_DIR, StackSettings
from benchmarks.peers import runner
from gopher_worker.main import prefetch_arg

BENCH = Path(__file__).resolve().parent
DOCS = BENCH.parent / "docs"
CLUSTER_OUT = BENCH / "results" / "cluster.json"
CORE = ["enqueue", "memory", "e2e", "latency"]
# The realistic scenarios: `loops`, `e2e_io` and `paced` run for the peers too (for
# Gopher `loops` includes the floors of Python gRPC); REST-vs-gRPC for Gopher only.
# `--only realistic` = these.
PEER_REAL = ["e2e", "loops", "e2e_io", "paced"]
REALISTIC = [*PEER_REAL, "rest"]
PEER_SCENARIOS = [*CORE, *PEER_REAL[1:]]
SCALE = ["sweep", "backlog", "promotion", "soak", "ui"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--full", action="store_true", help="full sizes (1M backlog, 10 min soak) and the peers"
    )
    p.add_argument("--peers", action="store_true", help="also run the peer task queues")
    p.add_argument(
        "--only",
        default="",
        help=f"comma-separated scenarios of {CORE + REALISTIC[1:] + SCALE}, or 'realistic'"
        f" for {REALISTIC}",
    )
    p.add_argument("--systems", default=",".join(runner.SYSTEMS), help="peers to run")
    p.add_argument("--no-gopher", action="store_true", help="skip Gopher (peers only)")
    p.add_argument("--workers", type=int, default=2, help="Gopher worker processes")
    p.add_argument("--concurrency", type=int, default=16, help="concurrency per worker")
    p.add_argument(
        "--prefetch",
        type=prefetch_arg,
        default=4,
        help="gopher-worker --prefetch, a number or auto (default 4: Celery runs with its "
        "default prefetch multiplier of 4; the realistic scenarios measure the worker's "
        "default, auto, and the sweep prefetch 1)",
    )
    p.add_argument(
        "--worker",
        choices=["python", "node"],
        default="python",
        help="node: also run e2e with the TypeScript SDK's worker, same sizes, and report "
        "its rate next to the Python worker's (needs `npm ci && npm run build:dev` in "
        "sdk/typescript)",
    )
    p.add_argument("--peer-timeout", type=float, default=600, help="seconds per peer")
    p.add_argument("--out", type=Path, default=BENCH / "results" / "latest.json")
    p.add_argument("--soak-s", type=float, help="soak duration override, seconds")
    p.add_argument(
        "--keep-peers",
        action="store_true",
        help="without --peers: carry the peers' rows over from the previous --out JSON",
    )
    p.add_argument(
        "--keep-scale",
        action="store_true",
        help="with --only lacking the scale scenarios: carry Gopher's scale results over "
        "from the previous --out JSON",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also sample the broker and a worker with py-spy (e2e and 1-by-1 submits)",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to this long for other CPU load to drop below 15%%",
    )
    p.add_argument(
        "--cluster",
        action="store_true",
        help="only the Redis Cluster scaling benchmark (benchmarks/cluster_scale.py): "
        "standalone vs 1, 2, 3 masters, throttled runs, model; JSON results/cluster.json, "
        "with --update-docs the measured section of docs/scaling.md",
    )
    p.add_argument(
        "--cluster-quota", type=float, default=0.1, help="cores per redis-server, throttled runs"
    )
    p.add_argument(
        "--cluster-workers",
        type=int,
        default=4,
        help="worker processes of the --cluster runs (each has one stream, whose refills "
        "are serialised: with few, a refill waiting on a throttled node's stall idles its "
        "slots and the shards go unsaturated)",
    )
    p.add_argument(
        "--cluster-extra-quota",
        default="",
        help="comma-separated further quotas (cores) to run the throttled runs again at",
    )
    p.add_argument("--cluster-masters", default="1,2,3", help="masters per cluster run")
    p.add_argument(
        "--cluster-period-us",
        type=int,
        default=100_000,
        help="CFS period of the quotas (a shorter one spreads each node's stalls finer)",
    )
    p.add_argument("--cluster-rounds", type=int, default=2, help="runs per deployment")
    p.add_argument(
        "--cluster-rereport",
        action="store_true",
        help="with --cluster: measure nothing, derive the verdicts and the model again from "
        "the results JSON (after a change of the model or the report)",
    )
    p.add_argument(
        "--update-docs",
        action="store_true",
        help="write docs/benchmarks.png and the results section of docs/benchmarks.md",
    )
    return p.parse_args(argv)


def run_gopher(
    redis: procs.RedisServer,
    sizes: Sizes,
    settings: StackSettings,
    only: list[str],
    with_profile: bool = False,
    node_worker: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Gopher's core and scale scenarios; a failed scenario is recorded, not fatal."""
    core: dict[str, Any] = {
        "system": "gopher",
        "version": machine.gopher_version(),
        "notes": f"1 broker, {settings.workers} workers x {settings.concurrency}"
        + (f", prefetch {settings.prefetch or 'auto'}" if settings.prefetch != 1 else ""),
        "metrics": {},
        "errors": {},
    }
    scale: dict[str, Any] = {"errors": {}}
    m = core["metrics"]
    loads: dict[str, list[float]] = {}
    scale["load_average_at_scenario_start"] = loads

    def step(name: str, target: dict[str, Any], fn: Callable[[], dict[str, Any]]) -> None:
        if only and name not in only and name != "profile" and name != "e2e_node":
            return
        print(f"  gopher {name} ...", flush=True)
        loads[name] = machine.load_now()
        started = time.monotonic()
        try:
            result = fn()
        except Exception as exc:
            traceback.print_exc()
            (core if target is m else scale)["errors"][name] = f"{type(exc).__name__}: {exc}"[:300]
            return
        target.update(result)
        shown = {k: v for k, v in result.items() if not isinstance(v, list | dict)}
        print(f"    {shown} ({time.monotonic() - started:.0f}s)", flush=True)

    step("enqueue", m, lambda: gopher_core.enqueue(redis, sizes, settings))
    step("memory", m, lambda: gopher_core.memory(redis, sizes, settings))
    step("e2e", m, lambda: gopher_core.e2e(redis, sizes, settings))
    if node_worker:
        step(
            "e2e_node",
            m,
            lambda: gopher_core.e2e_node(redis, sizes, settings, float(m.get("e2e_per_s") or 0)),
        )
    step("latency", m, lambda: gopher_core.latency(redis, sizes, settings))
    # The sync loops beside the floors of Python gRPC (bare grpcio echo), alternated.
    step("loops", m, lambda: gopher_real.loops_beside_floors(redis, sizes, settings))
    step("e2e_io", m, lambda: gopher_real.e2e_io(redis, sizes, settings))
    step("paced", m, lambda: gopher_real.paced(redis, sizes, settings))
    step("rest", m, lambda: gopher_rest.rest(redis, sizes, settings))
    step("sweep", scale, lambda: gopher_scale.sweep(redis, sizes, settings))
    step("backlog", scale, lambda: gopher_scale.backlog(redis, sizes, settings))
    bulk = float(m.get("enqueue_bulk_per_s") or 10_000)
    step("promotion", scale, lambda: gopher_scale.promotion(redis, sizes, settings, bulk))
    peak = float(m.get("e2e_per_s") or 2_000)
    step("soak", scale, lambda: gopher_scale.soak(redis, sizes, settings, peak))
    step("ui", scale, lambda: gopher_ui.ui(redis, sizes, settings))
    if with_profile:
        step("profile", scale, lambda: profile.profile(redis, sizes, settings))
    return core, scale


def carry_scale(results: dict[str, Any], previous: dict[str, Any]) -> None:
    """Gopher's scale scenarios this run skipped, taken from `previous` (dated)."""
    scale = results.setdefault("gopher_scale", {"errors": {}})
    old = previous.get("gopher_scale", {})
    carried = [k for k in old if k not in scale and k != "load_average_at_scenario_start"]
    if not carried:
        return
    scale.update({k: old[k] for k in carried})
    results["scale_measured"] = previous.get("scale_measured") or previous["machine"]["date"]
    gopher = next((s for s in results["systems"] if s["system"] == "gopher"), None)
    if gopher is not None:
        results["targets"] = report.verdicts({**gopher["metrics"], **scale})


def draw_chart(results_path: Path, png: Path) -> str | None:
    """Draw the chart with this interpreter's matplotlib, else the peer venv's; error text."""
    pythons = [sys.executable, str(runner.DEFAULT_VENV / "bin" / "python")]
    for python in pythons:
        if not Path(python).exists():
            continue
        done = subprocess.run(
            [python, "-m", "benchmarks.chart", str(results_path), str(png)],
            cwd=procs.ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode == 0:
            return None
    return "no matplotlib: run `bash benchmarks/peers/setup_venv.sh` or `pip install matplotlib`"


def main_cluster(args: argparse.Namespace, argv: list[str] | None) -> None:
    """`--cluster`: the scaling benchmark alone, its JSON and optionally its docs."""
    base = cluster_scale.FULL_PLAN if args.full else cluster_scale.QUICK_PLAN
    plan = dataclasses.replace(
        base,
        masters=tuple(int(x) for x in args.cluster_masters.split(",") if x),
        quota_cores=args.cluster_quota,
        extra_quotas=tuple(float(x) for x in args.cluster_extra_quota.split(",") if x),
        period_us=args.cluster_period_us,
        rounds=args.cluster_rounds,
        settings=StackSettings(
            workers=args.cluster_workers, concurrency=args.concurrency, prefetch=args.prefetch
        ),
    )
    out = args.out if args.out != BENCH / "results" / "latest.json" else CLUSTER_OUT
    if args.cluster_rereport:
        results = json.loads(out.read_text())
        cluster_scale.derive(results, cluster_scale.plan_of(results))
    else:
        procs.install_cleanup()
        shutil.rmtree(LOG_DIR, ignore_errors=True)
        LOG_DIR.mkdir(parents=True)
        command = shlex.join(
            ["python", "-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])]
        )
        started = time.monotonic()
        results = cluster_scale.run(plan, args.wait_quiet, command)
        results["duration_s"] = round(time.monotonic() - started)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report_cluster.console(results))
    print(f"\nJSON: {out}")
    if args.update_docs:
        report_cluster.update_doc(DOCS / "scaling.md", report_cluster.markdown(results))
        print("docs/scaling.md updated")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cluster:
        main_cluster(args, argv)
        return
    sizes = FULL if args.full else QUICK
    if args.soak_s:
        sizes = dataclasses.replace(sizes, soak_s=args.soak_s)
    only = [s for s in args.only.split(",") if s]
    if "realistic" in only:
        only = [s for s in only if s != "realistic"] + REALISTIC
    settings = StackSettings(
        workers=args.workers, concurrency=args.concurrency, prefetch=args.prefetch
    )
    procs.install_cleanup()
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True)
    if args.wait_quiet:
        print(f"waiting up to {args.wait_quiet:.0f}s for the machine to be quiet ...", flush=True)
    busy = machine.wait_quiet(args.wait_quiet)
    started = time.monotonic()
    results: dict[str, Any] = {
        "command": shlex.join(
            ["python", "-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])]
        ),
        "mode": sizes.name,
        "machine": {**machine.facts(), "cpu_busy_before_start": busy},
        "settings": {
            "workers": settings.workers,
            "concurrency": settings.concurrency,
            "prefetch": settings.prefetch,
            "sizes": {k: v for k, v in vars(sizes).items()},
        },
        "systems": [],
    }
    redis = procs.RedisServer()
    try:
        redis.start()
        results["redis"] = redis.info()
        print(
            f"{results['redis']['name']} {results['redis']['version']} on {redis.url};"
            f" {sizes.name} sizes",
            flush=True,
        )
        if not args.no_gopher:
            core, scale = run_gopher(
                redis, sizes, settings, only, args.profile, args.worker == "node"
            )
            results["systems"].append(core)
            results["gopher_scale"] = scale
            results["targets"] = report.verdicts({**core["metrics"], **scale})
        if args.peers or args.full:
            peer_only = [s for s in only if s in PEER_SCENARIOS]
            if peer_only or not only:
                systems = [s for s in args.systems.split(",") if s]
                results["systems"] += runner.run_all(
                    redis, sizes, LOG_DIR, systems, args.peer_timeout, peer_only
                )
    finally:
        procs.kill_all()
        redis.stop()
    if args.keep_peers and not (args.peers or args.full) and args.out.exists():
        previous = json.loads(args.out.read_text())
        results["systems"] += [x for x in previous["systems"] if x["system"] != "gopher"]
        results["peers_measured"] = previous.get("peers_measured") or previous["machine"]["date"]
    if args.keep_scale and args.out.exists():
        carry_scale(results, json.loads(args.out.read_text()))
    results["ratio_targets"] = ratios.verdicts(results)
    results["duration_s"] = round(time.monotonic() - started)
    results["load_average_at_end"] = machine.load_now()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.update_docs:
        results["chart"] = "docs/benchmarks.png"
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.console(results, report_real.console(results)))
    print(f"\nJSON: {args.out}")
    if args.update_docs:
        error = draw_chart(args.out, DOCS / "benchmarks.png")
        if error:
            print(f"chart not drawn: {error}")
        section = report.markdown(results, report_real.markdown(results))
        if report.update_doc(DOCS / "benchmarks.md", section):
            print("docs/benchmarks.md updated")
        else:
            print("docs/benchmarks.md has no results markers; section not written")
