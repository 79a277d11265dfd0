"""The reach chart of a live alert: screens reached over time per network, as inline SVG
points. Networks are told apart by dash pattern and a label, never by colour alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feedserver.timeutil import parse_time

WIDTH, HEIGHT = 240, 64
DASHES = ("", "6 3", "2 3", "8 3 2 3")


@dataclass(frozen=True)
class Series:
    network: str
    points: str  # SVG polyline points
    total: int
    dash: str
    label_y: float


def reach_series(rows: list[dict], now: datetime) -> list[Series]:
    """Cumulative screens per network from `receipts_timeline` rows, as step lines."""
    if not rows:
        return []
    start = parse_time(rows[0]["at"])
    span = max((now - start).total_seconds(), 60.0)
    per_network: dict[str, list[tuple[float, int]]] = {}
    for row in rows:
        per_network.setdefault(row["network"], []).append(
            ((parse_time(row["at"]) - start).total_seconds(), row["screens"]))
    top = max(sum(n for _, n in steps) for steps in per_network.values())
    series = []
    for i, (network, steps) in enumerate(sorted(per_network.items())):
        total, points = 0, [f"0,{HEIGHT}"]
        for seconds, screens in steps:
            x = round(seconds / span * WIDTH, 1)
            points.append(f"{x},{_y(total, top)}")
            total += screens
            points.append(f"{x},{_y(total, top)}")
        points.append(f"{WIDTH},{_y(total, top)}")
        series.append(Series(network, " ".join(points), total, DASHES[i % len(DASHES)],
                             max(_y(total, top), 8.0)))
    return series


def _y(count: int, top: int) -> float:
    return round(HEIGHT - count / top * (HEIGHT - 4), 1)
