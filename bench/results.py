"""bench/RESULTS.md: every run's table with its date and machine, newest on top."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")

HEADER = """\
# Benchmark results

Written by `make bench` (`python -m bench`), newest run on top. Every row is a figure beside
its reference measured in the same run on the same machine, and figure / reference. Figures
are medians of several repetitions (the machine is shared and noisy). Servers run on core 0,
the load (wrk `-t1 -c64`, the SSE client swarm) on core 1. Poll rows compare the server's CPU
time per request, which that noise moves far less than req/s (kept in the note); see
bench/probe.py, bench/poll.py and bench/push.py for the method.
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


def entry(table: str, *, when: datetime, command: str, seconds: float, notes: list[str]) -> str:
    """One run's section of RESULTS.md."""
    lines = [
        f"## {when:%Y-%m-%d %H:%M} UTC · {machine()}",
        "",
        f"`{command}`, {seconds:.0f} s.",
        "",
        table,
        "",
    ]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"


def prepend(run: str, path: Path = RESULTS) -> None:
    """Put this run above the earlier ones, keeping the file's header on top."""
    earlier = ""
    if path.exists():
        text = path.read_text()
        start = text.find("\n## ")
        earlier = text[start + 1 :] if start >= 0 else ""
    path.write_text(HEADER + "\n" + run + ("\n" + earlier if earlier else ""))
