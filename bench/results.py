"""bench/RESULTS.md: every run's table with its date and machine, newest on top."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")

HEADER = """\
# Benchmark results

Written by `make bench` (`python -m bench`), newest run on top; `--quick` runs are never
written, and a run where any measurement failed or timed out writes nothing. Every row is a
figure beside its reference, measured in the same run on the same machine, and figure /
reference. The `measured` column says how both figures were taken:

- `median of N × S s`: wrk (`-t1 -c64`) runs of S seconds after a warm-up, N of them,
  interleaved across the servers compared; the median. Poll rows compare the server's CPU time
  per request, which the noise of this shared machine moves far less than req/s (in the note).
- `median of N publishes`: push latencies, the median over N publishes of each one's
  p50/p99/last delivery. `RSS growth over the clients added`: one reading per client count.
- `best of N`: the fastest of N interleaved runs (render timings in one process).
- `median of N publishes (wall) beside median of N serial passes (CPU)`: render rows, each
  publish's wall time until the creatives are ready against the CPU time of the same renders
  one after another in one process (÷ cores: the floor), the passes run between the publishes.
- `one publish`: a single measurement, no repetition (publish until renders are ready).
- `pinned`: the server on core 0, the load (wrk, the SSE swarm) on core 1; `unpinned`: both
  free to use either core (the SO_REUSEPORT rows, which are about using both, and the render
  rows).

Runs before 2026-12-01 have no `measured` column: their poll and push rows were medians with
the servers pinned, the SO_REUSEPORT rows unpinned, the full-render rows best of 15 unpinned,
the publish rows single measurements; a row with "-" there was not measured.
"""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """`nproc`, CPU model, kernel and load: what a figure from this run is a figure of."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} × {cpu_model()}, {platform.system()} {platform.release()}, "
        f"load average {load}"
    )


def entry(table: str, *, when: datetime, command: str, seconds: float) -> str:
    """One run's section of RESULTS.md."""
    lines = [
        f"## {when:%Y-%m-%d %H:%M} UTC · {machine()}",
        "",
        f"`{command}`, {seconds:.0f} s.",
        "",
        table,
    ]
    return "\n".join(lines).rstrip() + "\n"


def prepend(run: str, path: Path = RESULTS) -> None:
    """Put this run above the earlier ones, keeping the file's header on top."""
    earlier = ""
    if path.exists():
        text = path.read_text()
        start = text.find("\n## ")
        earlier = text[start + 1 :] if start >= 0 else ""
    path.write_text(HEADER + "\n" + run + ("\n" + earlier if earlier else ""))
