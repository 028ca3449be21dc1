"""The cluster scaling benchmark's parts that need no cluster: the model's fit and slot
balance, cgroup stat parsing and quotas, the per-node meters on a real redis-server,
the per-script micro-benchmark, and the docs section's markers
(benchmarks/cluster_model.py, cgroup.py, redis_nodes.py, script_costs.py,
report_cluster.py)."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks import (
    cgroup,
    cluster_drain,
    cluster_model,
    redis_nodes,
    report_cluster,
    script_costs,
)
from benchmarks.procs import RedisServer


@pytest.fixture(scope="module")
def node() -> Iterator[redis_nodes.Node]:
    """A private redis-server (its own process, so its CPU can be read)."""
    server = RedisServer()
    server.start()
    assert server.proc is not None
    yield redis_nodes.Node("n0", server.port, server.proc.pid)
    server.stop()


# -- model ---------------------------------------------------------------------------


def test_fit_recovers_an_exact_line_and_reports_its_error() -> None:
    fit = cluster_model.fit_linear([(1, 12.0), (16, 57.0), (1000, 3009.0)])
    assert fit.c_call == pytest.approx(9.0, abs=1e-3)
    assert fit.c_item == pytest.approx(3.0, abs=1e-4)
    assert fit.max_rel_error == 0.0
    assert fit.at(10) == pytest.approx(39.0, abs=1e-2)


def test_fit_weights_relative_error_so_small_batches_count() -> None:
    # A plain least-squares line through these is driven by the 1,000-item point and
    # misses the single-item call by far more than 20%.
    fit = cluster_model.fit_linear([(1, 54.0), (16, 264.0), (1000, 23151.0)])
    assert fit.max_rel_error < 0.3
    assert fit.c_call > 0


def test_fit_with_one_batch_size_puts_all_cost_on_the_items() -> None:
    fit = cluster_model.fit_linear([(4, 20.0), (4, 20.0)])
    assert (fit.c_call, fit.c_item) == (0.0, 5.0)
    with pytest.raises(ValueError):
        cluster_model.fit_linear([])


def test_overhead_fit_never_extrapolates_a_falling_overhead() -> None:
    assert cluster_model.fit_overhead([(1, 0.02), (2, 0.04), (3, 0.06)]) == pytest.approx(
        (0.02, 0.02)
    )
    o1, slope = cluster_model.fit_overhead([(1, 0.10), (2, 0.05), (3, 0.03)])
    assert slope == 0.0
    assert o1 == pytest.approx(0.06)
    assert cluster_model.fit_overhead([(1, 0.07)]) == (0.07, 0.0)
    # Signed, near-zero points: a plain fit, not one weighted by 1/y².
    o1, slope = cluster_model.fit_overhead([(1, -0.072), (2, 0.09), (3, -0.059)])
    assert slope == pytest.approx(0.0065)
    assert o1 == pytest.approx(-0.0202, abs=1e-4)


def test_capacity_grows_with_masters_times_balance_over_cost() -> None:
    cal = cluster_model.Calibration(
        item_us=50.0,
        call_us=20.0,
        calls_standalone=0.5,
        calls_per_partition=0.01,
        rho=1.0,
        overhead_1=0.0,
        overhead_slope=0.1,
    )
    assert cal.script_us() == 60.0
    assert cal.calls(12) == pytest.approx(0.62)  # batches split over 12 partitions
    assert cal.script_us(12) == pytest.approx(62.4)
    assert cal.cpu_us(1) == 60.0
    assert cal.cpu_us(3) == pytest.approx(72.0)
    assert cal.capacity(3, 1.0) == pytest.approx(3 / 72e-6)
    assert cal.capacity(3, 0.5) == pytest.approx(cal.capacity(3, 1.0) / 2)


# -- slot balance --------------------------------------------------------------------


def test_master_ranges_cover_every_slot_once() -> None:
    for masters in (1, 2, 3, 7, 24):
        ranges = cluster_model.master_ranges(masters)
        assert ranges[0][0] == 0 and ranges[-1][1] == cluster_model.SLOTS - 1
        assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))


def test_balanced_tags_land_in_their_own_share_of_the_slots() -> None:
    tags = cluster_model.design_tags(12)
    slots = [cluster_model.tag_slot(t) for t in tags]
    for k, slot in enumerate(slots):
        assert k * 16384 // 12 <= slot < (k + 1) * 16384 // 12
    for masters in (1, 2, 3, 4, 6, 12):
        assert cluster_model.balance(tags, masters)["eta_bal"] == 1.0
    # More masters than partitions: half of 24 masters hold nothing.
    assert cluster_model.balance(tags, 24)["eta_bal"] == 0.5


def test_balance_of_uneven_placement_is_mean_over_max() -> None:
    assert cluster_model.eta_bal([5, 4, 7]) == pytest.approx(16 / 3 / 7)
    assert cluster_model.partitions_per_master(
        [0, 100, 9000, 16383], [(0, 8191), (8192, 16383)]
    ) == [
        2,
        2,
    ]
    assert cluster_model.eta_bal([]) == 0.0


def test_extrapolation_rows_carry_balance_and_capacity() -> None:
    cal = cluster_model.Calibration(60.0, 10.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    rows = cluster_model.extrapolate(cal, [6, 24], [12], quota_cores=0.2)
    assert [r["masters"] for r in rows] == [6, 24]
    assert rows[0]["partitions_per_master"] == [2] * 6
    assert rows[0]["jobs_per_s_per_core"] == round(6 / 60e-6)
    assert rows[1]["jobs_per_s_per_core"] == round(24 * 0.5 / 60e-6)
    assert rows[0]["jobs_per_s_at_quota"] == round(6 / 60e-6 * 0.2)
    assert any("η_bal" in a for a in cluster_model.assumptions(cal, 0.2, 12))


# -- cgroups -------------------------------------------------------------------------


def test_cpu_stat_parses_both_versions_into_microseconds() -> None:
    v1 = "nr_periods 40\nnr_throttled 31\nthrottled_time 2500000000\nnr_bursts 0\n"
    assert cgroup.parse_cpu_stat(v1, 1) == cgroup.CpuStat(40, 31, 2_500_000)
    v2 = "usage_usec 100\nnr_periods 7\nnr_throttled 3\nthrottled_usec 1200\n"
    assert cgroup.parse_cpu_stat(v2, 2) == cgroup.CpuStat(7, 3, 1200)
    assert cgroup.parse_cpu_stat("", 1) == cgroup.CpuStat(0, 0, 0)


def test_throttling_between_two_readings() -> None:
    got = cgroup.throttled_between(cgroup.CpuStat(10, 2, 1000), cgroup.CpuStat(30, 17, 91_000))
    assert got == {
        "periods": 20,
        "throttled_periods": 15,
        "throttled_fraction": 0.75,
        "throttled_ms": 90.0,
    }
    assert (
        cgroup.throttled_between(cgroup.CpuStat(1, 1, 1), cgroup.CpuStat(1, 1, 1))[
            "throttled_fraction"
        ]
        == 0.0
    )


def test_a_quota_throttles_a_busy_process_and_leaves_no_group_behind() -> None:
    version, why = cgroup.available()
    if not version:
        pytest.skip(f"no usable cgroup here: {why}")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    name = f"gopher-bench-test-{busy.pid}"
    try:
        with cgroup.CpuQuota(name, 0.1) as quota:
            quota.add(busy.pid)
            assert quota.members() == [busy.pid]
            deadline = time.monotonic() + 10
            while quota.stat().nr_throttled < 3:
                assert time.monotonic() < deadline, "the busy process was never throttled"
            assert quota.stat().throttled_us > 0
        assert not (Path(cgroup.available()[1]) / name).exists()
        assert busy.poll() is None  # moved back, still running
    finally:
        busy.kill()
        busy.wait()


# -- per-node meters on a real server -------------------------------------------------


def test_cluster_info_and_commandstats_parse() -> None:
    text = "cluster_state:ok\r\ncluster_stats_messages_sent:120\r\ncluster_size:3\r\n"
    info = redis_nodes.parse_cluster_info(text)
    assert info["cluster_stats_messages_sent"] == "120" and info["cluster_size"] == "3"
    stats = {"cmdstat_get": {"calls": 3, "usec": 9}, "other": 1}
    assert redis_nodes.parse_commandstats(stats) == {"get": (3, 9)}


def test_node_report_counts_the_workload_not_the_meter(node: redis_nodes.Node) -> None:
    redis_nodes.reset_stats([node])
    before = redis_nodes.read_counters(node, cluster=False)
    with node.client() as c:
        for i in range(50):
            c.set(f"k{i}", "v")
        c.eval("return redis.call('GET', KEYS[1])", 1, "k1")
    after = redis_nodes.read_counters(node, cluster=False)
    report = redis_nodes.node_report(before, after, jobs=10)
    assert report["script_calls_per_job"] == 0.1
    assert report["other_calls_per_job"] == pytest.approx(5.1)  # 50 SETs, the script's GET
    assert report["bus_messages"] == 0
    assert not any(name.startswith("info") for name, _, _ in report["top"])


def test_shard_cpu_sums_nodes_and_finds_the_busiest() -> None:
    a = redis_nodes.CpuSample(0.0, 1000, {"m0": 1.0, "m1": 2.0})
    b = redis_nodes.CpuSample(2.0, 11_000, {"m0": 1.3, "m1": 2.1})
    got = redis_nodes.shard_cpu(a, b)
    assert got["redis_us_per_job"] == 40.0
    assert got["shard_us_per_job"] == {"m0": 30.0, "m1": 10.0}
    assert got["busiest_share"] == 0.75
    assert got["jobs_per_s"] == 5000
    samples = [a, b]
    assert redis_nodes.cpu_window(samples, 1000, 9000) == (a, b)
    assert redis_nodes.cpu_window([a], 1000, 9000) is None


def test_script_costs_measure_every_script_at_every_batch(node: redis_nodes.Node) -> None:
    costs = script_costs.measure(node, jobs=64)
    assert [p["batch"] for p in costs["points"]["submit"]] == list(script_costs.SUBMIT_BATCHES)
    assert [p["batch"] for p in costs["points"]["dispatch"]] == list(script_costs.DISPATCH_BATCHES)
    assert [p["batch"] for p in costs["points"]["ack"]] == list(script_costs.ACK_BATCHES)
    for points in costs["points"].values():
        # The largest batch costs more per call than a single item (a stricter order is
        # not asserted: on a busy machine a few preempted calls shift small batches).
        assert points[-1]["usec_per_call"] > points[0]["usec_per_call"] > 0
    assert costs["item_us"] > 0


# -- docs section --------------------------------------------------------------------


def test_docs_section_replaces_only_its_markers(tmp_path: Path) -> None:
    doc = tmp_path / "scaling.md"
    report_cluster.update_doc(doc, f"{report_cluster.START}\nold\n{report_cluster.END}\n")
    assert doc.read_text().startswith("# ")
    doc.write_text(doc.read_text() + "\n## Operating\n\nkeep me\n")
    report_cluster.update_doc(doc, f"{report_cluster.START}\nnew\n{report_cluster.END}\n")
    text = doc.read_text()
    assert "new" in text and "old" not in text and "keep me" in text
    assert text.count(report_cluster.START) == 1


def test_text_bars_scale_to_the_largest_value() -> None:
    lines = report_cluster.bars([("S=1", 10.0, "a"), ("S=2", 20.0, "b")])
    assert lines[1].count("█") == report_cluster.BAR_WIDTH
    assert lines[0].count("█") == report_cluster.BAR_WIDTH // 2


def test_stale_groups_of_a_killed_run_are_removed() -> None:
    version, why = cgroup.available()
    if not version:
        pytest.skip(f"no usable cgroup here: {why}")
    prefix = "gopher-bench-test-stale-"
    left = cgroup.CpuQuota(f"{prefix}1", 0.5)  # never closed, as after a SIGKILL
    assert left.path.exists()
    assert cgroup.remove_stale(prefix) == [f"{prefix}1"]
    assert not left.path.exists()


def _sample(t: float, jobs: int, throttled: int, cpu_s: float) -> cluster_drain.Sample:
    return cluster_drain.Sample(
        t,
        jobs,
        redis_nodes.CpuSample(t, jobs, {"m0": cpu_s}),
        {},
        (0, 1),
        {"m0": cgroup.CpuStat(int(t * 10), throttled, throttled * 1000)},
    )


def test_a_shard_is_saturated_only_if_throttled_in_every_quarter() -> None:
    steady = [_sample(t / 10, t * 100, t, 0.02 * t) for t in range(9)]
    got = cluster_drain.throttling(steady, 0.2, 100_000)
    assert got["valid"] and got["shards"]["m0"]["quarters_throttled"] == 4
    assert got["shards"]["m0"]["quota_used"] == pytest.approx(1.0)
    # Throttled early on, then never again: it stopped being the bottleneck.
    early = [_sample(t / 10, t * 100, min(t, 3), 0.01 * t) for t in range(9)]
    got = cluster_drain.throttling(early, 0.2, 100_000)
    assert not got["valid"] and got["not_saturated"] == ["m0"]


# -- verdicts, efficiency, model and report on synthetic runs --------------------------


def _run(
    masters: int, us: list[float], rate: int, throttled: float | None = None
) -> dict[str, Any]:
    names = ["standalone"] if masters == 0 else [f"m{i}" for i in range(masters)]
    node = {
        "script_calls_per_job": 0.02 / len(names),
        "script_usec_per_job": 70.0 / len(names),
        "other_calls_per_job": 24.0 / len(names),
        "other_usec_per_job": 30.0 / len(names),
        "bus_messages_per_job": 0.01 * masters,
    }
    total = sum(us)
    run = {
        "masters": max(1, masters),
        "e2e_steady_per_s": rate,
        "nodes": {n: dict(node) for n in names},
        "redis_cpu": {
            "jobs_per_s": rate,
            "redis_us_per_job": total,
            "shard_us_per_job": dict(zip(names, us, strict=True)),
            "shard_cores": {n: u * rate / 1e6 for n, u in zip(names, us, strict=True)},
            "busiest_share": max(us) / total,
        },
        "stack": {"process_cores": {"broker": 0.3, "worker0": 0.2}, "host_busy_fraction": 0.7},
    }
    if masters:
        run["control_node"] = "m0"
        run["partitions_per_node"] = {n: 12 // masters for n in names}
    if throttled is not None:
        shards = {n: {"throttled_fraction": throttled, "quota_used": 0.9} for n in names}
        bad = [n for n in names if throttled < 0.5]
        run["throttling"] = {"shards": shards, "valid": not bad, "not_saturated": bad}
    return run


def test_rounds_average_numbers_and_keep_everything_else() -> None:
    from benchmarks.cluster_scale import mean_of

    a = {"rate": 100, "cpu": {"us": 70.0, "node": "m0"}, "ok": True, "top": [1]}
    b = {"rate": 201, "cpu": {"us": 80.0, "node": "m0"}, "ok": False, "top": [2]}
    assert mean_of([a, b]) == {
        "rate": 150,
        "cpu": {"us": 75.0, "node": "m0"},
        "ok": False,
        "top": [1],
    }
    assert mean_of([a, {"rate": 300}])["cpu"] == a["cpu"]  # a failed round lacks keys
    assert mean_of([]) is None


def test_verdicts_efficiency_model_and_report_from_runs() -> None:
    from benchmarks import cluster_scale

    plan = cluster_scale.ClusterPlan(quota_cores=0.2)
    results: dict[str, Any] = {
        "command": "python -m benchmarks --cluster",
        "machine": {
            "date": "2026-12-03T17:00:00+00:00",
            "gopher": "0.1.0",
            "cores": 2,
            "cpu_model": "AMD EPYC",
            "memory_gib": 23.5,
            "os": "Linux",
            "python": "3.11",
            "load_average_at_start": [0.1, 0.1, 0.1],
            "cpu_busy_before_start": 0.0,
        },
        "plan": {
            "jobs": 12000,
            "submit_batch": 500,
            "masters": [1, 2, 3],
            "partitions": 12,
            "quota_cores": 0.2,
            "workers": 2,
            "concurrency": 16,
            "prefetch": 4,
            "rounds": 2,
        },
        "cgroup": {"version": 1},
        "rounds": {"standalone": [_run(0, [68.0], 9100), _run(0, [72.0], 8900)]},
        "runs": {
            "standalone": _run(0, [70.0], 9000),
            "cluster-1": _run(1, [72.0], 8800),
            "cluster-2": _run(2, [38.0, 37.0], 8700),
            "cluster-3": _run(3, [30.0, 25.0, 22.0], 8500),
        },
        "throttled": {
            "0.2": {
                "cluster-1": [_run(1, [75.0], 2500, 1.0), _run(1, [75.0], 2700, 1.0)],
                "cluster-2": [_run(2, [38.0, 38.0], 5000, 0.9)],
                "cluster-3": [_run(3, [26.0] * 3, 6000, 0.3)],
            }
        },
        "script_costs": {
            "points": {"ack": [{"batch": 1, "usec_per_call": 90.0}]},
            "fits": {"ack": {"c_call": 55.0, "c_item": 33.0, "max_rel_error": 0.0}},
            "item_us": 80.0,
            "call_us": 60.0,
        },
        "errors": {"cluster-4": "RuntimeError: example"},
    }
    eff = cluster_scale.efficiency(results, plan)
    assert eff[1]["rounds_per_s"] == [2500, 2700] and eff[1]["jobs_per_s"] == 2600
    assert eff[2] == {
        "jobs_per_s": 5000,
        "rounds_per_s": [5000],
        "efficiency": round(5000 / 5200, 3),
        "valid": True,
    }
    assert eff[3]["valid"] is False  # a shard throttled in 30% of periods: not saturated
    verdicts = {v["check"]: v for v in cluster_scale.verdicts(results, plan)}
    summed = verdicts["Redis CPU/job summed over 3 shard(s) vs standalone"]
    assert summed["measured"] == 1.1 and summed["met"]
    busiest = verdicts["busiest shard's share of Redis CPU, 3 master(s)"]
    assert busiest["measured"] == pytest.approx(30 / 77) and not busiest["met"]
    assert not verdicts["throttled e2e efficiency T(3)/(3·T(1))"]["met"]
    results["efficiency"] = {"0.2": {str(k): v for k, v in eff.items()}}
    model = cluster_scale.model(results, plan)
    assert model is not None
    assert model["calibration"]["rho"] == pytest.approx(70.0 / (80.0 + 60.0 * 0.02), abs=1e-3)
    # No extra script calls on the clusters here: the overhead is all unexplained.
    assert model["calibration"]["calls_per_partition"] == 0.0
    assert model["overhead_points"][0] == [1, pytest.approx(72.0 / 70.0 - 1, abs=1e-3)]
    by_s = {r["masters"]: r for r in model["rows"] if r["partitions"] == 12}
    assert set(by_s) == {1, 2, 3, 6, 12, 24}
    assert by_s[2]["measured_throttled_per_s"] == 5000
    assert by_s[24]["eta_bal"] == 0.5
    results["model"] = model
    results["verdicts"] = list(verdicts.values())
    results["note"] = "measured before a regression"
    text = report_cluster.markdown(results)
    assert text.startswith(report_cluster.START) and report_cluster.HEADING in text
    assert "**Note.** measured before a regression" in text
    assert "m0 ran" in text  # the control slot's master, cluster-2 and cluster-3
    assert "no (m0, m1, m2)" in text
    assert "cluster-1 #2" in text
    assert "68.0 / 72.0" in text  # the standalone's rounds
    assert "cluster-4: RuntimeError: example" in text


def test_the_overhead_benchmark_drains_every_deployment() -> None:
    from benchmarks import cluster_overhead

    # Every deployment's drain completes (a stalled one raises), and is measured.
    got = asyncio.run(cluster_overhead.measure(jobs=2000, rounds=1))
    assert set(got["us_per_job"]) == {
        "standalone P=1",
        "standalone P=12",
        "cluster-1 P=1",
        "cluster-1 P=12",
        "cluster-3 P=12",
    }
    assert all(us >= 0 for us in got["us_per_job"].values())
    assert got["vs_standalone"]["standalone P=1"] == 1.0
