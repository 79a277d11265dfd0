"""Render benchmark (not a test): run with `python -m bench.render` from the project root.

1. publish -> primary creative of 40 profiles ready: a real server on a loopback socket, an
   alert published over HTTP, then every profile's primary creative fetched by its URL (the
   fetch waits for a render still in the pool). Cold (first alert after start) and warm.
2. A full render at 1920x1080 (resolve: fitting by binary search, wrapping, cropping; paint;
   encode) against bare Pillow painting the same plan with the font sizes already fixed, plus
   the same encode. Fitting caches word widths per process; the cold figure clears them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

import samples

from feedserver.alerts.fields import input_fields
from feedserver.app import create_app
from feedserver.appkeys import RENDERER
from feedserver.config import parse_config
from feedserver.render import fonts, render_creative
from feedserver.render.paint import encode, paint
from feedserver.render.plan import resolve

EDITOR, PUBLISHER, KEY = "bench-editor", "bench-publisher", "bench-key"
EXTRA = ["1366x768", "2560x1440"]  # 39 design sizes + these = 41; the first 40 are used
PROFILES = 40


def config(data_dir: Path, port: int) -> Any:
    sizes = (samples.SIZES + EXTRA)[:PROFILES]
    return parse_config(
        {
            "server": {
                "listen": f"127.0.0.1:{port}",
                "public_url": f"http://127.0.0.1:{port}",
                "data_dir": str(data_dir),
            },
            "storage": "sqlite",
            "alerts": {"resolved_display_seconds": 3600, "offline_grace_seconds": 900},
            "staff": [
                {"name": "bench-editor", "role": "editor", "token": EDITOR},
                {"name": "bench-publisher", "role": "publisher", "token": PUBLISHER},
            ],
            "networks": [
                {
                    "id": "bench",
                    "name": "Bench",
                    "keys": [KEY],
                    "profiles": [
                        {
                            "id": f"p{i}-{size}",
                            "size": size,
                            "languages": ["nl", "en"],
                            "formats": ["jpg", "png", "webp", "html"],
                        }
                        for i, size in enumerate(sizes)
                    ],
                }
            ],
        }
    )


def alert_body(name: str, photo: str) -> dict[str, Any]:
    doc = samples.alert()
    body = input_fields(doc)
    body["children"] = [{**doc["children"][0], "name": name, "photo": photo}]
    return body


async def publish_and_fetch(
    session: aiohttp.ClientSession, name: str, photo: str, profiles: list[str]
) -> float:
    auth = {"Authorization": f"Bearer {EDITOR}"}
    async with session.post("/v1/alerts", json=alert_body(name, photo), headers=auth) as r:
        alert_id = (await r.json())["id"]
    started = time.perf_counter()
    async with session.post(
        f"/v1/alerts/{alert_id}/publish", headers={"Authorization": f"Bearer {PUBLISHER}"}
    ) as r:
        assert r.status == 200, await r.text()

    async def primary(profile: str) -> None:
        async with session.get(f"/v1/feeds/bench/{profile}", params={"key": KEY}) as r:
            entry = next(a for a in (await r.json())["alerts"] if a["id"] == alert_id)
        async with session.get(urlsplit(entry["renders"]["jpg"]).path) as r:
            assert r.status == 200 and len(await r.read()) > 1000

    await asyncio.gather(*(primary(p) for p in profiles))
    return time.perf_counter() - started


async def bench_publish() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        runner = web.AppRunner(create_app(config(Path(tmp), 0)))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        profiles = [p.id for p in config(Path(tmp), port).networks[0].profiles]
        try:
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
                async with session.post(
                    "/v1/photos",
                    data=samples.portrait_photo(),
                    headers={"Authorization": f"Bearer {EDITOR}", "Content-Type": "image/jpeg"},
                ) as r:
                    photo = (await r.json())["id"]
                # first alert after start; the pool then renders its other 120 creatives
                cold = await publish_and_fetch(session, "Sanne de Vries", photo, profiles)
                # a second alert while that backlog is still being rendered
                backlog = await publish_and_fetch(session, "Daan Jansen", photo, profiles)
                await runner.app[RENDERER].idle()
                idle = await publish_and_fetch(session, "Fleur Bakker", photo, profiles)
        finally:
            await runner.cleanup()
    return {
        "profiles": len(profiles),
        "first_alert_s": round(cold, 3),
        "during_backlog_s": round(backlog, 3),
        "pool_idle_s": round(idle, 3),
    }


def _interleaved(fns: dict[str, Any], runs: int) -> dict[str, float]:
    """Best time of each function, run in turn so that machine noise hits them alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(runs):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def bench_full_render(runs: int = 15) -> dict[str, Any]:
    alert, photos = samples.alert(), samples.photos()
    size, langs = (1920, 1080), ("nl", "en")
    plan = resolve(alert, photos, size, "auto", langs)
    out: dict[str, Any] = {}
    for fmt in ("jpg", "png", "webp"):

        def cold(f: str = fmt) -> None:
            fonts._unit_width.cache_clear()
            render_creative(alert, photos, size, "auto", langs, f)

        best = _interleaved(
            {
                "bare": lambda f=fmt: encode(paint(plan, photos), f),
                "full": lambda f=fmt: render_creative(alert, photos, size, "auto", langs, f),
                "full_cold_cache": cold,
            },
            runs,
        )
        out[fmt] = {f"{k}_ms": round(v * 1000, 1) for k, v in best.items()}
        out[fmt]["ratio"] = round(best["full"] / best["bare"], 2)
        out[fmt]["ratio_cold_cache"] = round(best["full_cold_cache"] / best["bare"], 2)
    out["resolve_ms"] = round(
        _interleaved({"r": lambda: resolve(alert, photos, size, "auto", langs)}, runs)["r"] * 1000,
        2,
    )
    return out


def bench_primary_cpu() -> dict[str, float]:
    """CPU cost of the 40 primary (jpg) creatives rendered one after another in one process."""
    alert, photos = samples.alert(), samples.photos()
    sizes = [samples.parse(s) for s in (samples.SIZES + EXTRA)[:PROFILES]]
    started = time.process_time()
    for size in sizes:
        render_creative(alert, photos, size, "auto", ("nl", "en"), "jpg")
    total = time.process_time() - started
    return {
        "creatives": len(sizes),
        "cpu_s": round(total, 3),
        "per_creative_ms": round(total / len(sizes) * 1000, 1),
    }


def main() -> dict[str, Any]:
    results = {
        "load_average_at_start": os.getloadavg(),
        "full_render_1920x1080": bench_full_render(),
        "primary_jpg_of_40_sizes_one_process": bench_primary_cpu(),
        "publish_to_primary_ready": asyncio.run(bench_publish()),
    }
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
