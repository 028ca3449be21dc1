"""Throughput and latency by system, as a PNG for docs/benchmarks.md.

    python -m benchmarks.chart benchmarks/results/latest.json docs/benchmarks.png

Needs matplotlib, which Gopher does not depend on: the harness runs this module with
the peer virtualenv's interpreter when its own has no matplotlib.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

THROUGHPUT = [
    ("enqueue_single_per_s", "enqueue 1-by-1"),
    ("enqueue_bulk_per_s", "enqueue batch"),
    ("e2e_per_s", "end to end"),
]
LATENCY = [("latency_p50_ms", "p50"), ("latency_p99_ms", "p99")]


def draw(results: dict[str, Any], out: Path) -> None:
    """Two log-scale grouped bar panels: jobs/s and submit->start latency."""
    import matplotlib  # type: ignore[import-not-found, unused-ignore]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]

    systems = [s for s in results["systems"] if s.get("metrics")]
    names = [s["system"] for s in systems]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for ax, series, title, unit in (
        (left, THROUGHPUT, "Throughput (higher is better)", "jobs/s"),
        (right, LATENCY, "Idle submit → handler start (lower is better)", "ms"),
    ):
        width = 0.8 / len(series)
        for i, (key, label) in enumerate(series):
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(names))]
            values = [s["metrics"].get(key) or 0 for s in systems]
            bars = ax.bar(xs, values, width, label=label)
            for bar, value in zip(bars, values, strict=True):
                if value:
                    text = f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
                    ax.annotate(
                        text,
                        (bar.get_x() + bar.get_width() / 2, value),
                        ha="center",
                        va="bottom",
                        fontsize=6.5,
                        rotation=90,
                        xytext=(0, 2),
                        textcoords="offset points",
                    )
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)), names, rotation=20)
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    machine = results["machine"]
    fig.suptitle(
        f"No-op jobs, {machine['cores']} cores, {results['redis']['name']}"
        f" {results['redis']['version']}, {machine['date'][:10]}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
