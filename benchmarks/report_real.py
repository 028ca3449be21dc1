"""The realistic scenarios in tables: per system the sync loops, no-op and one-INCR end
to end side by side and latency at 200 jobs/s offered; the floors of Python gRPC and
REST against gRPC; and the ratio targets (benchmarks/ratios.py) with their verdicts."""

from __future__ import annotations

from typing import Any

from benchmarks.report import fmt, md_table, text_table

REAL_HEADER = [
    "system",
    "sync 1-by-1 /s",
    "sync bulk /s",
    "e2e no-op /s",
    "e2e one INCR /s",
    "p50 ms @200/s",
    "p99 ms @200/s",
    "notes",
]
RATIO_HEADER = ["target", "goal", "ratio", "figures", "verdict"]
REAL_KEYS = ("loop_sync_per_s", "e2e_io_per_s", "paced_p50_ms")


def _gopher_notes(m: dict[str, Any]) -> str:
    parts = []
    if v := m.get("loop_async_per_s"):
        parts.append(f"AsyncClient 1-by-1 {fmt(v)}/s")
    if v := m.get("e2e_io_p4_per_s"):
        parts.append(f"prefetch 4: one INCR {fmt(v)}/s, no-op {fmt(m.get('e2e_per_s'))}/s")
    if api := m.get("loop_bulk_api"):
        parts.append(f"bulk = {api}")
    return "; ".join(["default worker settings (prefetch auto)", *parts])


def _peer_notes(system: dict[str, Any]) -> str:
    m = system.get("metrics", {})
    parts = [system.get("notes", "")]
    if (api := m.get("loop_bulk_api")) and api not in parts[0]:
        parts.append(f"bulk = {api}")
    for key in ("e2e_note", "e2e_io_note"):
        if note := m.get(key):
            parts.append(("one INCR: " if key == "e2e_io_note" else "no-op: ") + note)
    if m.get("paced_lost"):
        parts.append(f"{m['paced_lost']} paced jobs not started in time")
    if system.get("error"):
        parts.append(f"NOT RUN: {system['error']}")
    for scenario, err in system.get("errors", {}).items():
        if scenario in ("loops", "e2e_io", "paced", "rest"):
            parts.append(f"{scenario} failed: {err}")
    return "; ".join(p for p in parts if p)


def real_rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per system that ran a realistic scenario."""
    out = []
    for system in results.get("systems", []):
        m = system.get("metrics", {})
        if not any(k in m for k in REAL_KEYS) and not system.get("error"):
            continue
        gopher = system["system"] == "gopher"
        noop = m.get("e2e_default_per_s") if gopher else m.get("e2e_per_s")
        out.append(
            [
                system["system"],
                fmt(m.get("loop_sync_per_s")),
                fmt(m.get("loop_bulk_per_s")),
                fmt(noop),
                fmt(m.get("e2e_io_per_s")),
                fmt(m.get("paced_p50_ms")),
                fmt(m.get("paced_p99_ms")),
                _gopher_notes(m) if gopher else _peer_notes(system),
            ]
        )
    return out


def floor_lines(results: dict[str, Any]) -> list[str]:
    """The bare grpcio echo floors and REST against gRPC, one line each."""
    m: dict[str, Any] = next(
        (s["metrics"] for s in results.get("systems", []) if s["system"] == "gopher"), {}
    )
    lines = []
    if "floor_grpc_stream_sync_per_s" in m:
        lines.append(
            "bare grpcio echo, one message at a time: bidi stream"
            f" {fmt(m['floor_grpc_stream_sync_per_s'])}/s sync client,"
            f" {fmt(m['floor_grpc_stream_async_per_s'])}/s grpc.aio client; unary"
            f" {fmt(m['floor_grpc_unary_sync_per_s'])}/s sync,"
            f" {fmt(m['floor_grpc_unary_async_per_s'])}/s grpc.aio"
        )
    if rounds := m.get("loop_rounds"):
        lines.append(
            f"loops and floors alternated {len(rounds)} times (best of each above); per round,"
            " sync Client.submit_job / sync bidi echo: "
            + ", ".join(
                fmt(r.get("loop_sync_per_s", 0) / r["floor_grpc_stream_sync_per_s"])
                for r in rounds
                if r.get("floor_grpc_stream_sync_per_s")
            )
            + "; AsyncClient / grpc.aio bidi echo: "
            + ", ".join(
                fmt(r.get("loop_async_per_s", 0) / r["floor_grpc_stream_async_per_s"])
                for r in rounds
                if r.get("floor_grpc_stream_async_per_s")
            )
        )
    if "rest_1_p50_ms" in m:
        n = m.get("rest_clients", 16)
        lines.append(
            f"REST POST /api/jobs vs gRPC SubmitJob (sync clients): one client"
            f" {fmt(m['rest_1_per_s'])}/s p50 {fmt(m['rest_1_p50_ms'])} ms vs"
            f" {fmt(m['grpc_1_per_s'])}/s p50 {fmt(m['grpc_1_p50_ms'])} ms; {n} client"
            f" processes {fmt(m.get(f'rest_{n}_per_s'))}/s vs {fmt(m.get(f'grpc_{n}_per_s'))}/s"
            f" ({m.get('rest_note', '')})"
        )
    if cpu := m.get("loop_sync_cpu"):
        per_job = ", ".join(f"{r} {fmt(v)}" for r, v in cpu["cpu_us_per_job"].items())
        lines.append(f"CPU per call, sync Client.submit_job loop: {per_job} µs")
    if stats := m.get("e2e_default_redis_commands"):
        cpu = (m.get("e2e_default_cpu") or {}).get("cpu_us_per_job", {})
        lines.append(
            f"no-op e2e at default settings: {fmt(stats.get('commands_per_job'))} Redis"
            f" commands and {fmt(stats.get('script_calls_per_job'))} script calls per job;"
            " CPU per job " + ", ".join(f"{r} {fmt(v)}" for r, v in cpu.items()) + " µs"
        )
    return lines


def ratio_rows(results: dict[str, Any]) -> list[list[str]]:
    """The ratio targets: goal, ratio, the two figures, verdict."""
    out = []
    for t in results.get("ratio_targets", []):
        figures = (
            f"{fmt(t['numerator'])} / {fmt(t['denominator'])} ({t['basis']})"
            if t["ratio"] is not None
            else t["basis"]
        )
        out.append(
            [
                t["what"],
                ("≥ " if t["higher"] else "≤ ") + fmt(t["goal"]),
                fmt(t["ratio"]),
                figures,
                t["verdict"],
            ]
        )
    return out


def _tables(results: dict[str, Any], table: Any, bullet: str) -> list[str]:
    out: list[str] = []
    if rows := real_rows(results):
        out += [
            "Realistic scenarios (job body: one Redis INCR; sync loops from one thread):",
            "",
            table(REAL_HEADER, rows),
            "",
        ]
    out += [f"{bullet}{line}" for line in floor_lines(results)]
    if rows := ratio_rows(results):
        out += [
            "",
            "Targets as ratios to what ran beside Gopher in this run:",
            "",
            table(RATIO_HEADER, rows),
        ]
    return out


def console(results: dict[str, Any]) -> str:
    """The realistic tables for the terminal ("" when none ran)."""
    return "\n".join(_tables(results, text_table, ""))


def markdown(results: dict[str, Any]) -> str:
    """The realistic tables for docs/benchmarks.md ("" when none ran)."""
    return "\n".join(_tables(results, md_table, "- "))
