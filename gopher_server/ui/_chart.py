"""The overview's throughput chart, drawn on the server as inline SVG (no chart library,
no script): one pair of bars per minute, succeeded and failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from gopher.v1 import admin_service_pb2 as admin_pb

WIDTH, HEIGHT, AXIS = 720, 160, 18  # drawing size and the room under it for labels


@dataclass(frozen=True)
class Bar:
    """One rectangle of the chart, with its tooltip."""

    x: float
    y: float
    width: float
    height: float
    kind: str  # "succeeded" or "failed": the CSS class that colours it
    title: str


@dataclass(frozen=True)
class Chart:
    """What the template draws: bars, the y scale's top and the x labels."""

    bars: list[Bar]
    top: int
    labels: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    axis: int = AXIS
    succeeded: int = 0
    failed: int = 0


def throughput_chart(minutes: Sequence[admin_pb.ThroughputMinute]) -> Chart:
    """Bars for `minutes` (oldest first), scaled to the busiest minute."""
    top = max([1, *(max(m.succeeded, m.failed) for m in minutes)])
    slot = WIDTH / max(1, len(minutes))
    bar_w = max(1.0, slot / 2 - 1)
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for i, minute in enumerate(minutes):
        start = minute.start.ToDatetime(dt.UTC).strftime("%H:%M")
        for offset, kind, value in (
            (0.0, "succeeded", minute.succeeded),
            (bar_w, "failed", minute.failed),
        ):
            h = HEIGHT * value / top
            bars.append(
                Bar(i * slot + offset, HEIGHT - h, bar_w, h, kind, f"{start} {kind}: {value}")
            )
        if i % 10 == 0:
            labels.append((i * slot, start))
    return Chart(
        bars,
        top,
        labels,
        succeeded=sum(m.succeeded for m in minutes),
        failed=sum(m.failed for m in minutes),
    )
