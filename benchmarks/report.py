"""Turning results into the printed table, the targets verdicts and the Markdown that
docs/benchmarks.md shows between its results markers."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from benchmarks.config import TARGETS

COLUMNS = [
    ("enqueue_single_per_s", "enqueue 1-by-1 /s"),
    ("enqueue_bulk_per_s", "enqueue batch /s"),
    ("e2e_per_s", "e2e /s"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p99_ms", "p99 ms"),
    ("bytes_per_job", "bytes/job"),
]
DOC_START, DOC_END = "<!-- results:start -->", "<!-- results:end -->"


def fmt(value: Any) -> str:
    """Numbers for humans: thousands separators, 2 decimals under 10, '-' for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int | float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _note(system: dict[str, Any]) -> str:
    parts = [system.get("notes", "")]
    metrics = system.get("metrics", {})
    if c := metrics.get("enqueue_single_concurrency"):
        parts.append(f"1-by-1 with {c} in flight" if c > 1 else "1-by-1 from one thread")
    if sync := metrics.get("enqueue_single_sync_per_s"):
        parts.append(f"sync loop {fmt(sync)}/s")
    if note := metrics.get("e2e_note"):
        parts.append(note)
    if n := metrics.get("latency_samples"):
        parts.append(f"{n} latency samples")
    if system.get("error"):
        parts.append(f"NOT RUN: {system['error']}")
    for scenario, err in system.get("errors", {}).items():
        parts.append(f"{scenario} failed: {err}")
    return "; ".join(p for p in parts if p)


def rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per system: name, version, the metric columns, notes."""
    out = []
    for system in results["systems"]:
        metrics = system.get("metrics", {})
        out.append(
            [
                system["system"],
                system.get("version", ""),
                *(fmt(metrics.get(key)) for key, _ in COLUMNS),
                _note(system),
            ]
        )
    return out


def verdicts(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with the measured value and met / missed by how much."""
    out = []
    for target in TARGETS:
        key, goal, higher = str(target["metric"]), float(target["goal"]), bool(target["higher"])  # type: ignore[arg-type]
        value = metrics.get(key)
        entry: dict[str, Any] = {**target, "measured": value}
        if not isinstance(value, int | float) or math.isnan(value):
            entry.update(met=None, verdict="not measured")
        elif higher:
            met = value >= goal
            entry.update(
                met=met,
                verdict="met"
                if met
                else f"missed: {value / goal:.0%} of the goal ({goal - value:,.0f}/s short)",
            )
        else:
            met = value <= goal
            over = value / goal if goal else math.inf
            if met:
                verdict = "met"
            elif over < 2:
                verdict = f"missed: {over - 1:.0%} over the limit"
            else:
                verdict = f"missed: {over:.1f}x the limit"
            entry.update(met=met, verdict=verdict)
        out.append(entry)
    return out


def text_table(header: list[str], body: list[list[str]]) -> str:
    """A plain fixed-width table (notes column last, unpadded)."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *body]:
        cells = [
            c.rjust(w) if i > 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  ".join([*cells, row[-1]]))
    return "\n".join(lines)


def md_table(header: list[str], body: list[list[str]]) -> str:
    """A GitHub Markdown table."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|"
        + "|".join("---:" if 1 < i < len(header) - 1 else "---" for i in range(len(header)))
        + "|",
    ]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in body]
    return "\n".join(lines)


def _headers() -> list[str]:
    return ["system", "version", *(label for _, label in COLUMNS), "notes"]


def _target_rows(results: dict[str, Any]) -> list[list[str]]:
    return [
        [
            str(t["what"]),
            ("≥ " if t["higher"] else "≤ ") + fmt(t["goal"]),
            fmt(t["measured"]),
            t["verdict"],
        ]
        for t in results.get("targets", [])
    ]


def scale_lines(results: dict[str, Any]) -> list[str]:
    """Gopher's scale scenarios in one line each."""
    s = results.get("gopher_scale", {})

    def v(key: str) -> str:
        return fmt(s.get(key))

    lines = []
    if sweep := s.get("e2e_by_total_concurrency"):
        lines.append(
            "e2e by total worker concurrency: "
            + ", ".join(
                f"{total}: {fmt(r['e2e_per_s'])}/s"
                f" ({fmt(sum(r['cpu_us_per_job'].values()))} µs CPU/job)"
                for total, r in sweep.items()
            )
        )
    if "backlog_small_per_s" in s:
        lines.append(
            f"backlog: {v('backlog_small_per_s')}/s with {v('backlog_small_jobs')} queued,"
            f" {v('backlog_large_per_s')}/s with {v('backlog_large_jobs')} queued"
            f" ({v('backlog_slowdown_pct')}% slower; jobs 1,000..9,000 of each)"
        )
    if "promotion_ready_delay_ms" in s:
        lines.append(
            f"promotion: {v('promote_jobs')} due jobs promoted in {v('promotion_s')} s;"
            f" ready jobs meanwhile p50 {v('promotion_ready_p50_ms')} ms, worst"
            f" {v('promotion_ready_delay_ms')} ms (idle p50 {v('promotion_baseline_p50_ms')} ms)"
        )
    if "soak_rss_growth_pct" in s:
        lines.append(
            f"soak: {v('soak_s')} s at {v('soak_target_per_s')}/s (achieved"
            f" {v('soak_achieved_per_s')}/s); broker+worker RSS {v('soak_rss_growth_pct')}%,"
            f" Redis used_memory {v('soak_redis_growth_pct')}% (to {v('soak_redis_mib_end')} MiB,"
            f" {v('soak_finished_retained')} finished jobs retained; cap"
            f" {v('soak_finished_cap')} reached at {v('soak_finished_cap_reached_s')} s)"
        )
        by_process = s.get("soak_rss_by_process", {})
    if "soak_rss_growth_pct" in s and by_process:
        lines.append(
            "soak RSS by process: "
            + "; ".join(
                f"{role} {fmt(p['mib_end'])} MiB ({fmt(p['growth_pct'])}%,"
                f" {fmt(p['mib_per_100k_jobs'])} MiB per 100k jobs)"
                for role, p in by_process.items()
            )
        )
    lines += [f"{name} failed: {err}" for name, err in s.get("errors", {}).items()]
    return lines


UI_HEADER = ["dashboard page", "rows", "p50 ms", "max ms", "≤ 300 ms", "in page p50 / max ms"]


def ui_rows(results: dict[str, Any]) -> list[list[str]]:
    """The `ui` scenario's server time per page, one row each (empty if not run)."""
    return [
        [r["page"], f"{r['rows']:,}", f"{r['p50_ms']:.1f}", f"{r['max_ms']:.1f}",
         "over" if r["over_budget"] else "yes",
         f"{r.get('page_p50_ms', float('nan')):.1f} / {r.get('page_max_ms', float('nan')):.1f}"]
        for r in results.get("gopher_scale", {}).get("ui_pages", [])
    ]  # fmt: skip


def ui_line(results: dict[str, Any]) -> list[str]:
    """The `ui` scenario in one line: what was queued and the slowest page."""
    s = results.get("gopher_scale", {})
    if "ui_worst_ms" not in s:
        return []
    return [
        f"ui: {fmt(s['ui_queued_jobs'])} queued, {fmt(s['ui_dead_jobs'])} dead,"
        f" {fmt(s['ui_scheduled_jobs'])} scheduled, {fmt(s['ui_retrying_jobs'])} retrying"
        f" (filled in {fmt(s['ui_fill_s'])} s, Redis {fmt(s['ui_redis_used_mb'])} MiB);"
        f" {len(s['ui_pages'])} pages x {s['ui_rounds']}, slowest {fmt(s['ui_worst_ms'])} ms,"
        f" {s['ui_pages_over_budget']} over 300 ms"
    ]


def cpu_lines(results: dict[str, Any]) -> list[str]:
    """CPU microseconds per job by process, for Gopher's throughput scenarios."""
    m: dict[str, Any] = next(
        (s["metrics"] for s in results["systems"] if s["system"] == "gopher"), {}
    )
    lines = []
    for key, label in (
        ("e2e_cpu", "e2e"),
        ("enqueue_single_cpu", "enqueue 1-by-1"),
        ("enqueue_bulk_cpu", "enqueue batch"),
    ):
        if cpu := m.get(key):
            per_job = ", ".join(f"{r} {fmt(v)}" for r, v in cpu["cpu_us_per_job"].items())
            cores = ", ".join(f"{r} {fmt(v)}" for r, v in cpu["cpu_cores"].items())
            lines.append(f"CPU per job, {label}: {per_job} µs (cores busy: {cores})")
    return lines


def profile_lines(results: dict[str, Any], top: int = 8) -> list[str]:
    """The hottest functions (self time) of each profiled process."""
    lines = []
    for phase, roles in results.get("gopher_scale", {}).get("profile", {}).items():
        for role, prof in roles.items():
            if "self_pct" not in prof:
                continue
            hot = "; ".join(f"{f} {p}%" for f, p in prof["self_pct"][:top])
            lines.append(f"py-spy {phase}/{role} ({prof['samples']} samples), self: {hot}")
    return lines


def console(results: dict[str, Any], realistic: str = "") -> str:
    """Everything for the terminal; `realistic` (report_real.console) after the table."""
    parts = [text_table(_headers(), rows(results)), ""]
    if realistic:
        parts += [realistic, ""]
    if results.get("targets"):
        parts += [
            "Gopher targets (issue 8):",
            text_table(["target", "goal", "measured", "verdict"], _target_rows(results)),
            "",
        ]
    parts += scale_lines(results) + ui_line(results) + cpu_lines(results)
    parts += profile_lines(results)
    if ui := ui_rows(results):
        parts += ["", text_table(UI_HEADER, ui)]
    return "\n".join(parts)


def markdown(results: dict[str, Any], realistic: str = "") -> str:
    """The results section of docs/benchmarks.md; `realistic` (report_real.markdown)
    goes right after the no-op table."""
    m, r = results["machine"], results["redis"]
    out = [
        f"Measured {m['date']} with `{results['command']}` ({results['mode']} sizes), Gopher"
        f" {m['gopher']}. Machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gib']} GiB,"
        f" {m['os']}, Python {m['python']}, {r['name']} {r['version']} ({r['binary']}), load"
        f" average {m['load_average_at_start']} and {fmt(100 * m.get('cpu_busy_before_start', 0))}%"
        f" of the CPU busy with other work at start. Took {fmt(results['duration_s'])} s."
        + (
            f" Peer rows carried over from the run of {results['peers_measured']}."
            if results.get("peers_measured")
            else ""
        )
        + (
            f" Gopher's scale lines (backlog, promotion, soak, sweep, ui) carried over from"
            f" the run of {results['scale_measured']}."
            if results.get("scale_measured")
            else ""
        )
        + (
            f" Load average at the end {results['load_average_at_end']}."
            if results.get("load_average_at_end")
            else ""
        ),
        "",
        md_table(_headers(), rows(results)),
        "",
    ]
    if realistic:
        out += [realistic, ""]
    if results.get("targets"):
        out += [
            "Gopher against the targets:",
            "",
            md_table(["target", "goal", "measured", "verdict"], _target_rows(results)),
            "",
        ]
    out += [f"- {line}" for line in scale_lines(results) + ui_line(results) + cpu_lines(results)]
    if ui := ui_rows(results):
        out += ["", md_table(UI_HEADER, ui)]
    if Path(results.get("chart", "")).name:
        out += ["", f"![throughput and latency by system]({Path(results['chart']).name})"]
    return "\n".join(out)


def update_doc(doc: Path, section: str) -> bool:
    """Replace the text between the results markers; False if the markers are missing."""
    text = doc.read_text() if doc.exists() else ""
    pattern = re.compile(re.escape(DOC_START) + ".*?" + re.escape(DOC_END), re.S)
    if not pattern.search(text):
        return False
    doc.write_text(pattern.sub(lambda _: f"{DOC_START}\n{section}\n{DOC_END}", text))
    return True
