"""Tables of `python -m benchmarks --cluster` for the console and for docs/scaling.md
(the `## Scaling, measured` section, between markers so other sections of the file
stay as they are), with text bar charts (matplotlib is no dependency of Gopher)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

START = "<!-- scaling-measured:start -->"
END = "<!-- scaling-measured:end -->"
HEADING = "## Scaling, measured"
BAR_WIDTH = 40


def _n(x: float | int | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---" if i == 0 else "---:" for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def bars(rows: list[tuple[str, float, str]]) -> list[str]:
    """A text bar chart: one line per (label, value, annotation), scaled to the max."""
    top = max((v for _, v, _ in rows), default=0.0)
    width = max((len(label) for label, _, _ in rows), default=0)
    out = []
    for label, value, note in rows:
        n = round(value / top * BAR_WIDTH) if top > 0 else 0
        out.append(f"{label:<{width}} {'█' * n}{' ' * (BAR_WIDTH - n)} {note}")
    return out


def _run_order(results: dict[str, Any]) -> list[str]:
    masters = results["plan"]["masters"]
    return ["standalone", *(f"cluster-{s}" for s in masters)]


def cpu_rows(results: dict[str, Any]) -> list[list[str]]:
    """Redis CPU per job per shard, unthrottled runs."""
    base = (results["runs"].get("standalone") or {}).get("redis_cpu")
    rows = []
    for name in _run_order(results):
        run = results["runs"].get(name)
        if not run or "redis_cpu" not in run:
            rows.append([name, *["-"] * 12])
            continue
        cpu = run["redis_cpu"]
        nodes = run["nodes"].values()
        ratio = cpu["redis_us_per_job"] / base["redis_us_per_job"] if base else None
        per_shard = " / ".join(_n(v, 1) for v in cpu["shard_us_per_job"].values())
        parts = run.get("partitions_per_node")
        limit = 1.1 / run["masters"]
        rows.append(
            [
                name,
                _n(run["e2e_steady_per_s"]),
                _n(cpu["redis_us_per_job"], 1),
                _n(ratio, 3) if ratio is not None else "-",
                per_shard,
                f"{cpu['busiest_share']:.3f} (≤ {limit:.3f})",
                _n(sum(n["script_calls_per_job"] for n in nodes), 4),
                _n(sum(n["script_usec_per_job"] for n in nodes), 1),
                _n(sum(n["bus_messages_per_job"] for n in nodes), 3),
                " / ".join(str(v) for v in parts.values()) if parts else "-",
                _broker_us(run),
                f"{run['stack']['host_busy_fraction']:.2f}" if "stack" in run else "-",
                " / ".join(
                    _n(r["redis_cpu"]["redis_us_per_job"], 1)
                    for r in results.get("rounds", {}).get(name, [])
                    if "redis_cpu" in r
                )
                or "-",
            ]
        )
    return rows


def control_notes(results: dict[str, Any]) -> list[str]:
    """Per cluster run: commands per job on the master holding the control slot, beside
    the other masters' mean. With partitions spread evenly the excess estimates the
    control slot's own commands per job (commandstats cannot split a node by slot)."""
    out = []
    for name in _run_order(results)[1:]:
        run = results["runs"].get(name)
        if not run or not run.get("control_node") or run["masters"] < 2:
            continue
        calls = {
            n: v["other_calls_per_job"] + v["script_calls_per_job"] for n, v in run["nodes"].items()
        }
        holder = run["control_node"]
        others = [v for n, v in calls.items() if n != holder]
        mean = sum(others) / len(others)
        out.append(
            f"- {name}: the control slot's master {holder} ran {calls[holder]:.2f}"
            f" commands/job, the others {mean:.2f} on average (excess"
            f" {calls[holder] - mean:+.2f}/job; other tags seen:"
            f" {run.get('other_tags', {}).get(holder, [])})"
        )
    return out


def throttled_rows(
    results: dict[str, Any], runs: dict[str, list[dict[str, Any]]], eff: dict[str, Any]
) -> list[list[str]]:
    """Throttled e2e, one row per run (round): rate, S·T(1) with T(1) the mean of its
    rounds, the run's own T(S)/(S·T(1)), throttling and quota use per shard, host and
    broker load, validity."""
    t1 = float((eff.get("1") or {}).get("jobs_per_s") or 0)
    rows = []
    for name in _run_order(results):
        s = 1 if name == "standalone" else int(name.removeprefix("cluster-"))
        rounds = runs.get(name) or []
        if not rounds:
            rows.append([name, *["-"] * 8])
        for i, run in enumerate(rounds):
            th = run["throttling"]
            shards = th["shards"].values()
            label = name if len(rounds) == 1 else f"{name} #{i + 1}"
            cluster = name != "standalone" and t1 > 0
            rows.append(
                [
                    label,
                    _n(run["e2e_steady_per_s"]),
                    _n(s * t1) if cluster else "-",
                    _n(run["e2e_steady_per_s"] / (s * t1), 3) if cluster else "-",
                    " / ".join(f"{v['throttled_fraction']:.2f}" for v in shards),
                    " / ".join(f"{v['quota_used']:.2f}" for v in shards),
                    f"{run['stack']['host_busy_fraction']:.2f}"
                    f" ({run.get('host_busy_before', 0):.2f})",
                    _broker_cores(run),
                    "yes" if th["valid"] else f"no ({', '.join(th['not_saturated'])})",
                ]
            )
    return rows


def _broker_cores(run: dict[str, Any]) -> str:
    cores = run.get("stack", {}).get("process_cores", {})
    broker = cores.get("broker")
    workers = [v for k, v in cores.items() if k != "broker"]
    if broker is None:
        return "-"
    return f"{broker:.2f} / {' + '.join(f'{w:.2f}' for w in workers)}"


def _broker_us(run: dict[str, Any]) -> str:
    """The broker's CPU µs per job in the window (cores / jobs per second)."""
    broker = run.get("stack", {}).get("process_cores", {}).get("broker")
    rate = run.get("redis_cpu", {}).get("jobs_per_s")
    return _n(broker / rate * 1e6, 1) if broker is not None and rate else "-"


def script_rows(costs: dict[str, Any]) -> list[list[str]]:
    rows = []
    for script, points in costs["points"].items():
        fit = costs["fits"][script]
        for p in points:
            rows.append(
                [
                    script,
                    str(p["batch"]),
                    _n(p["usec_per_call"], 1),
                    _n(p["usec_per_call"] / p["batch"], 2),
                    _n(fit["c_call"], 1),
                    _n(fit["c_item"], 2),
                    _n(fit["max_rel_error"] * 100, 0) + "%",
                ]
            )
    return rows


def model_rows(m: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in m["rows"]:
        counts = r["partitions_per_master"]
        spread = f"{min(counts)}..{max(counts)}" if len(set(counts)) > 1 else str(counts[0])
        rows.append(
            [
                str(r["masters"]),
                str(r["partitions"]),
                spread,
                f"{r['eta_bal']:.3f}",
                _n(r["script_calls_per_job"], 3),
                _n(r["redis_us_per_job"], 1),
                _n(r.get("measured_redis_us_per_job"), 1),
                _n(r["jobs_per_s_per_core"]),
                _n(r["jobs_per_s_at_quota"]),
                _n(r.get("measured_throttled_per_s")),
            ]
        )
    return rows


def _header(results: dict[str, Any]) -> str:
    m = results["machine"]
    plan = results["plan"]
    return (
        f"Measured {m['date']} with `{results['command']}`, Gopher {m['gopher']}."
        f" Machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, {m['os']},"
        f" Python {m['python']}; load average {m['load_average_at_start']} and"
        f" {m['cpu_busy_before_start'] * 100:.0f}% of the CPU busy with other work at start,"
        f" {results.get('load_average_at_end')} at the end. Each run: {plan['jobs']:,} no-op"
        f" jobs ({plan.get('throttled_jobs', plan['jobs']):,} in the throttled runs)"
        f" submitted in batches of {plan['submit_batch']}, then drained by"
        f" {plan['workers']} workers x {plan['concurrency']} (prefetch {plan['prefetch']})"
        f" through one broker; P = {plan['partitions']} partitions; all processes on"
        " 127.0.0.1 of this one machine."
    )


def _throttled_section(
    results: dict[str, Any], quota: float, runs: dict[str, Any], eff: dict[str, Any]
) -> list[str]:
    period = int(results["plan"].get("period_us", 100_000))
    out = [
        "",
        f"Throttled: every redis-server in its own cgroup of {quota:g} core"
        f" (cgroup v{results['cgroup']['version'] or '-'}, cfs quota"
        f" {round(quota * period):,} µs per {period:,} µs period); host busy is the whole"
        " machine's CPU during the window and, in brackets, other work just before the run"
        " (each run waits briefly for a quiet moment). A run is valid only if"
        " every shard's nr_throttled rose in each quarter of the window between the 10%"
        " and 90% marks (the shard stayed saturated); S·T(1) uses the mean of the"
        " 1-master rounds, and the cluster rounds ran in alternating order:",
        "",
    ]
    out += _table(
        [
            "deployment",
            "e2e jobs/s",
            "S·T(1)",
            "efficiency",
            "throttled periods per shard",
            "quota used per shard",
            "host busy (before)",
            "broker / worker cores",
            "valid",
        ],
        throttled_rows(results, runs, eff),
    )
    chart = [
        (
            f"S={s}",
            float(v["jobs_per_s"]),
            f"{v['jobs_per_s']:,}/s mean of {len(v['rounds_per_s'])}, efficiency"
            f" {v['efficiency']:.2f}{'' if v['valid'] else ' (not valid)'}",
        )
        for s, v in sorted(eff.items(), key=lambda kv: int(kv[0]))
    ]
    if chart:
        out += ["", f"Throttled e2e jobs/s by masters, {quota:g} core each:", ""]
        out += ["```", *bars(chart), "```"]
    return out


BUSY_HOST = 0.85  # a run's machine this busy: other work competed with every process


def _all_runs(results: dict[str, Any]) -> list[dict[str, Any]]:
    runs = [r for rounds in results.get("rounds", {}).values() for r in rounds]
    runs += [r for q in results["throttled"].values() for rs in q.values() for r in rs]
    return [r for r in runs if "stack" in r]


def _throttled_reading(results: dict[str, Any], q: str, eff: dict[str, Any]) -> str:
    """Why the throttled runs at quota `q` scaled as they did, from their own figures."""
    plan = results["plan"]
    slots = plan["workers"] * plan["concurrency"]
    parts = []
    for s, e in sorted(eff.items(), key=lambda kv: int(kv[0])):
        if s == "1":
            continue
        rounds = results["throttled"][q].get(f"cluster-{s}", [])
        used = [v["quota_used"] for r in rounds for v in r["throttling"]["shards"].values()]
        host = [r["stack"]["host_busy_fraction"] for r in rounds]
        mean_used = sum(used) / len(used) if used else 0.0
        mean_host = sum(host) / len(host) if host else 0.0
        line = f"S={s}: efficiency {e['efficiency']:.2f}"
        if e["valid"]:
            parts.append(line + ", every shard saturated")
        elif mean_host >= BUSY_HOST:
            parts.append(
                line + f", not valid: the shards used {mean_used:.0%} of their quota on"
                f" average while the machine was {mean_host:.0%} busy, so the nodes were"
                " short of CPU, not held by their quota"
            )
        else:
            parts.append(
                line + f", not valid: the shards used {mean_used:.0%} of their quota with"
                f" the machine {mean_host:.0%} busy, so something other than Redis CPU"
                " held them back (not measured here; likely the stalls: a throttled node"
                f" stops for most of every CFS period, and the {slots} worker slots of one"
                " broker wait on jobs in stalled partitions)"
            )
    return f"At {q} core: " + "; ".join(parts) + "." if parts else ""


def reading(results: dict[str, Any]) -> list[str]:
    """How to read this run, derived from its own figures (so it stays true when the
    section is regenerated)."""
    out = []
    runs = _all_runs(results)
    busy = [r for r in runs if r["stack"]["host_busy_fraction"] >= BUSY_HOST]
    if runs:
        out.append(
            f"- The machine: in {len(busy)} of {len(runs)} runs it was at least"
            f" {BUSY_HOST:.0%} busy during the measured window (other sessions' test runs"
            " share its 2 cores). Contention lowers jobs/s and raises CPU per job (cache"
            " misses, preemption), so such runs compare with each other only roughly;"
            " the rounds in alternating order keep the bias off any one deployment."
        )
    base = (results["runs"].get("standalone") or {}).get("redis_cpu")
    ratios = [
        (s, cpu["redis_us_per_job"] / base["redis_us_per_job"], cpu["busiest_share"])
        for s in results["plan"]["masters"]
        if base and (cpu := (results["runs"].get(f"cluster-{s}") or {}).get("redis_cpu"))
    ]
    if ratios:
        text = ", ".join(f"{r:.2f}x on {s}" for s, r, _ in ratios)
        shares = ", ".join(f"{b:.3f} on {s} (1/S = {1 / s:.3f})" for s, _, b in ratios)
        out.append(
            f"- Redis CPU per job summed over the masters vs standalone: {text}. The busiest"
            f" master's share: {shares}; the partitions spread evenly, so the load does."
        )
    for q, eff in results.get("efficiency", {}).items():
        line = _throttled_reading(results, q, eff)
        if line:
            out.append(f"- {line}")
    m = results.get("model")
    if m:
        p = results["plan"]["partitions"]
        rows = {(r["masters"], r["partitions"]): r for r in m["rows"]}
        far = [rows[(s, p)] for s in (6, 12, 24) if (s, p) in rows]
        if far:
            caps = ", ".join(
                f"T({r['masters']}) ≈ {r['jobs_per_s_per_core']:,}/s (η_bal {r['eta_bal']:.2f})"
                for r in far
            )
            out.append(
                f"- The model (Redis capacity, one core per master, P = {p}): {caps}."
                " Past S = P masters some hold no partition, so P must be chosen at least"
                " as large as the masters planned (it is fixed for a namespace's life)."
            )
    return out


def sections(results: dict[str, Any]) -> list[str]:
    """The results as Markdown lines (tables, charts, verdicts, model, errors)."""
    plan = results["plan"]
    out = [_header(results), ""]
    if results.get("note"):  # a dated remark added to the JSON by hand, e.g. a regression
        out += [f"**Note.** {results['note']}", ""]
    notes = reading(results)
    if notes:
        out += ["Reading this run:", "", *notes, ""]
    out += [
        "Redis CPU per job (utime + stime of each redis-server between the 10% and 90%"
        f" marks), unthrottled; each figure is the mean of {plan.get('rounds', 1)} rounds run"
        " in alternating order:",
        "",
    ]
    out += _table(
        [
            "deployment",
            "e2e jobs/s",
            "Redis µs/job",
            "vs standalone",
            "per shard µs/job",
            "busiest share",
            "script calls/job",
            "script µs/job",
            "bus msgs/job",
            "partitions/master",
            "broker µs/job",
            "host busy",
            "Redis µs/job by round",
        ],
        cpu_rows(results),
    )
    notes = control_notes(results)
    if notes:
        out += [
            "",
            "Commands per job on the control slot's master (inside scripts counted too):",
            "",
            *notes,
        ]
    for q, runs in results["throttled"].items():
        eff = results.get("efficiency", {}).get(q, {})
        out += _throttled_section(results, float(q), runs, eff)
    if results.get("verdicts"):
        out += [""]
        out += _table(
            ["check", "goal", "measured", "verdict"],
            [
                [
                    v["check"],
                    v["goal"],
                    str(v["measured"]),
                    ("met" if v["met"] else "missed")
                    + (f" ({v['note']})" if v.get("note") else ""),
                ]
                for v in results["verdicts"]
            ],
        )
    costs = results.get("script_costs")
    if costs:
        out += [
            "",
            "Per-script Redis time on one standalone node (INFO commandstats usec per call),"
            " and each script's fit usec = c_call + c_item · batch:",
            "",
        ]
        out += _table(
            ["script", "batch", "µs/call", "µs/item", "c_call", "c_item", "fit max error"],
            script_rows(costs),
        )
    m = results.get("model")
    if m:
        cal = m["calibration"]
        out += [
            "",
            f"Model: script time predicted {m['script_us_predicted']} µs/job on one server"
            f" from the fits, measured {m['script_us_measured']} µs/job; rho ="
            f" {cal['rho']}. The clusters' extra script calls per job explain"
            f" {m['extra_calls_explain_us']:+} µs/job of Redis CPU; what is left, o(S),"
            f" measured at (S, o) {m['overhead_points']}. T(S) is Redis capacity with one"
            " core per master; the measured columns are this run's (unthrottled µs/job,"
            " throttled jobs/s):",
            "",
        ]
        out += _table(
            [
                "masters",
                "P",
                "partitions/master",
                "η_bal",
                "script calls/job",
                "Redis µs/job",
                "measured µs/job",
                "T(S) jobs/s per core",
                f"at {plan['quota_cores']:g} core",
                "measured throttled",
            ],
            model_rows(m),
        )
        p12 = [r for r in m["rows"] if r["partitions"] == plan["partitions"]]
        out += [
            "",
            f"Modelled Redis capacity, P = {plan['partitions']}:",
            "",
            "```",
            *bars(
                [
                    (
                        f"S={r['masters']}",
                        float(r["jobs_per_s_per_core"]),
                        f"{r['jobs_per_s_per_core']:,}/s",
                    )
                    for r in p12
                ]
            ),
            "```",
            "",
            "Assumptions of the model:",
            "",
        ]
        out += [f"- {a}" for a in m["assumptions"]]
    if results.get("errors"):
        out += ["", "Not measured in this run:", ""]
        out += [f"- {k}: {v}" for k, v in results["errors"].items()]
    return out


METHOD = """\
How these figures are made (`python -m benchmarks --cluster`, code in
`benchmarks/cluster_scale.py`): a standalone redis-server and Redis Clusters of 1, 2
and 3 masters started by `gopher_server/embedded_cluster.py` (equal contiguous slot
ranges, no replicas, no persistence), each with one `gopher-server` (in cluster mode
for the clusters) and the benchmark's no-op workers. Every job is queued first and the
drain is timed by the workers' probe, which writes to a separate Redis so it adds
nothing to the measured nodes. Each redis-server's CPU comes from `/proc/<pid>/stat`,
its commands from `INFO commandstats` after `CONFIG RESETSTAT`, bus traffic from
`CLUSTER INFO`. The throttled runs move each redis-server into its own CPU cgroup
(`benchmarks/cgroup.py`) after the queue is filled and read the group's `cpu.stat`
during the drain; the groups are removed afterwards. The quota is 0.1 core by default
(`--cluster-quota`), not more: the stack must drain faster than the throttled shards
can serve, and on this 2-core machine 3 masters at 0.2 core (about 3 x 7,000 jobs/s)
outrun what one broker and its workers drain unthrottled (about 20,000/s), so such a
run measures the stack. Every run uses 4 workers (`--cluster-workers`): a worker's
stream runs one refill at a time, and a refill that meets a node stalled for the rest
of its CFS period idles that worker's slots, so with 2 workers the shards went
unsaturated. The broker, the workers and every node share one 2-core machine, so
absolute jobs/s are this machine's; the per-job Redis CPU, its spread over shards and
the throttled growth are what carries over. The model is arithmetic on measured
inputs, stated beside its numbers; it says nothing about brokers, which scale out on
their own."""


def markdown(results: dict[str, Any]) -> str:
    """The whole `## Scaling, measured` section, markers included."""
    return "\n".join([START, HEADING, "", METHOD, "", *sections(results), END]) + "\n"


def console(results: dict[str, Any]) -> str:
    return "\n".join(sections(results))


def update_doc(path: Path, section: str) -> None:
    """Replace the marked section of `path`, append it if absent, create the file if
    missing."""
    if not path.exists():
        path.write_text("# Scaling Gopher over Redis Cluster\n\n" + section)
        return
    text = path.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        path.write_text(head + section + ("\n" + tail if tail else ""))
    else:
        path.write_text(text.rstrip("\n") + "\n\n" + section)
