"""The one shape every benchmark reports in: a figure beside its reference, from the same run.

A `Row` is what every bench section (poll, push, render) returns. The ratio is always
figure / reference_figure, so whether higher is better depends on the unit (req/s: higher,
ms or KiB: lower); a row's `goal` says which way it must go, e.g. "ratio >= 0.35",
"ratio <= 1.2" or "figure < 16"; its `measured` says how both figures were taken.

A row has both figures or it is not a row: what could not be measured is a BenchFailure, and
the run fails instead of printing a dash.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass

_COMPARE = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_GOAL = re.compile(r"^(ratio|figure)\s*(<=|>=|<|>)\s*([0-9.]+)$")


class BenchFailure(RuntimeError):
    """A measurement failed or timed out: the run stops and writes nothing."""


@dataclass(frozen=True)
class Row:
    """One measured figure and the reference it is judged against, measured in the same run."""

    name: str
    figure: float
    unit: str
    reference_name: str
    reference_figure: float
    measured: str  # how, e.g. "median of 4 × 1 s, pinned" or "best of 15, unpinned"
    goal: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        for side, value in ((self.name, self.figure), (self.reference_name, self.reference_figure)):
            if value is None or not math.isfinite(value) or value <= 0:
                raise BenchFailure(f"{self.name}: {side} was not measured ({value})")
        if not self.measured:
            raise ValueError(f"{self.name}: say how it was measured")
        if self.goal and not _GOAL.match(self.goal):
            raise ValueError(f"goal {self.goal!r} is not '(ratio|figure) (<=|>=|<|>) NUMBER'")

    @property
    def ratio(self) -> float:
        return self.figure / self.reference_figure

    @property
    def verdict(self) -> str:
        """'met', 'missed' or '' (no goal)."""
        match = _GOAL.match(self.goal)
        if not match:
            return ""
        subject, op, limit = match.groups()
        value = self.ratio if subject == "ratio" else self.figure
        return "met" if _COMPARE[op](value, float(limit)) else "missed"


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


_HEADER = ("benchmark", "figure", "reference", "ref. figure", "ratio", "goal", "measured", "note")


def markdown(rows: Iterable[Row]) -> str:
    """The rows as one Markdown table (what `make bench` prints and RESULTS.md keeps)."""
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    for row in rows:
        goal = f"{row.goal} ({row.verdict})" if row.goal else ""
        cells = (
            row.name,
            f"{_number(row.figure)} {row.unit}",
            row.reference_name,
            f"{_number(row.reference_figure)} {row.unit}",
            f"{row.ratio:.2f}",
            goal,
            row.measured,
            row.note,
        )
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)
