"""Render rows: bench/render.py (the render helper's benchmark) and its figures as Rows.

bench/render.py either exposes `run() -> list[Row]` or, as now, `main() -> dict` of figures
(printing them); this reads that dict into rows beside their references.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import io
from typing import Any

from bench.table import Row

FORMATS = ("jpg", "png", "webp")


def rows_from(figures: dict[str, Any]) -> list[Row]:
    """Full render vs bare Pillow painting the same plan (issue 3: at most 1.5x), per format;
    publish -> 40 primary creatives ready (issue 3: under 1.5 s) vs their serial CPU cost."""
    full = figures["full_render_1920x1080"]
    rows = [
        Row(
            f"full render 1920x1080 {fmt}",
            full[fmt]["full_ms"],
            "ms",
            f"bare Pillow, same plan, {fmt}",
            full[fmt]["bare_ms"],
            "ratio <= 1.5",
            f"cold font cache {full[fmt]['full_cold_cache_ms']:.0f} ms; best of the runs",
        )
        for fmt in FORMATS
    ]
    ready, serial = (
        figures["publish_to_primary_ready"],
        figures["primary_jpg_of_40_sizes_one_process"],
    )
    serial_ms = serial["cpu_s"] * 1000
    reference = f"{serial['creatives']} primary JPEGs one after another (CPU)"
    rows += [
        Row(
            f"publish → primary creative of {ready['profiles']} profiles, {when}",
            ready[f"{when}_s"] * 1000,
            "ms",
            reference,
            serial_ms,
            "figure < 1500",
        )
        for when in ("cold", "warm")
    ]
    return rows


async def render_rows() -> tuple[list[Row], str]:
    """The render rows, and a note when there are none."""
    if importlib.util.find_spec("bench.render") is None:
        return [], "render rows: bench/render.py is not there"
    module = importlib.import_module("bench.render")
    if hasattr(module, "run"):
        return list(module.run()), ""
    # main() runs its own event loop (so: a thread of its own) and prints its figures, which
    # the table shows instead.
    with contextlib.redirect_stdout(io.StringIO()):
        figures = await asyncio.to_thread(module.main)
    return rows_from(figures), ""
