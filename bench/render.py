"""Render rows: publish -> creatives ready beside the ideal, and a full render beside bare Pillow.

1. Publish -> the primary creative (jpg) of each of 100 profiles, each a different size, and
   -> every format (jpg, png, webp, html) of them: a real server on a loopback socket (in this
   process, unpinned, its default render pool: a worker per core), an alert published over
   HTTP, then every profile's primary creative fetched by its URL (the fetch waits for a
   render still in the pool) and the render service awaited until it is idle. The ideal
   (issue 16) is the serial CPU time of those renders divided by the cores: the same calls a
   worker makes, one after another in this process, between the publishes. Three publishes
   with the pool idle, interleaved with three serial passes: medians. The first alert after
   start is measured apart, beside the median of the later ones.
2. A full render at 1920x1080 (resolve: fitting by binary search, wrapping, cropping; paint;
   encode) against bare Pillow painting the same plan with the font sizes already fixed, plus
   the same encode: the best of 15 interleaved runs each. Fitting caches word widths per
   process; the cold figure clears them.

The alert is bench.fs's invented one as the server stores it (its draft's answer), the photo
is drawn; nothing here comes from tests/.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bench import fs, sizes
from bench.procs import cpu_seconds
from bench.stats import median
from bench.table import BenchFailure, Row
from feedserver.alerts.model import Alert, Shown
from feedserver.app import create_app
from feedserver.appkeys import POOL, RENDERER
from feedserver.config import Config, parse_config
from feedserver.feeds.creatives import RenderService
from feedserver.render import PhotoData, fonts, render_creative
from feedserver.render.creative import render_creatives
from feedserver.render.digest import rendered_part
from feedserver.render.paint import encode, paint
from feedserver.render.plan import resolve
from feedserver.render.warm import warm_up

EDITOR, PUBLISHER, KEY = "bench-editor", "bench-publisher", "bench-key"
PROFILES = 100
PUBLISHES = 3  # with the pool idle, after the first alert after start
FULL_RENDER_RUNS = 15
FORMATS = ("jpg", "png", "webp")
PROFILE_FORMATS = ("jpg", "png", "webp", "html")  # the first is the primary
SIZE, LANGUAGES = (1920, 1080), ("nl", "en")
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=120)
CORES = len(os.sched_getaffinity(0))


def config(data_dir: Path, port: int) -> Config:
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
                            "languages": list(LANGUAGES),
                            "formats": list(PROFILE_FORMATS),
                        }
                        for i, size in enumerate(sizes.distinct(PROFILES))
                    ],
                }
            ],
        }
    )


class Staff:
    """The staff API of the server under test; any answer but the expected one fails the run."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def call(self, method: str, path: str, token: str, expect: int, **kwargs) -> Any:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        async with self.session.request(method, path, headers=headers, **kwargs) as r:
            if r.status != expect:
                raise BenchFailure(f"render: {method} {path}: {r.status} {await r.text()}")
            return await r.json() if r.content_type == "application/json" else await r.read()


@dataclass
class Publish:
    """Seconds from the publish call until the creatives were ready."""

    primary: float  # every profile's primary creative loaded
    every: float  # the render service idle: every format of every profile made
    primary_cpu: float  # CPU seconds of this process (server, client) and its render workers
    every_cpu: float


async def publish_and_fetch(staff: Staff, renderer: RenderService, number: int, photo: str,
                            profiles: list[str]) -> Publish:
    """Publish alert `number` and wait for its primary creatives (by URL), then for all."""
    draft = await staff.call("POST", "/v1/alerts", EDITOR, 201, json=fs.alert_body(number, photo))
    started, cpu = time.perf_counter(), cpu_seconds([os.getpid()])
    await staff.call("POST", f"/v1/alerts/{draft['id']}/publish", PUBLISHER, 200)

    async def primary(profile: str) -> None:
        async with staff.session.get(f"/v1/feeds/bench/{profile}", params={"key": KEY}) as r:
            entry = next(a for a in (await r.json())["alerts"] if a["id"] == draft["id"])
        async with staff.session.get(urlsplit(entry["renders"]["jpg"]).path,
                                     timeout=FETCH_TIMEOUT) as r:
            if r.status != 200 or len(await r.read()) < 1000:
                raise BenchFailure(f"render: {profile}'s primary creative gave {r.status}")

    await asyncio.gather(*(primary(p) for p in profiles))
    primaries, primaries_cpu = time.perf_counter() - started, cpu_seconds([os.getpid()]) - cpu
    await renderer.idle()
    return Publish(primaries, time.perf_counter() - started, primaries_cpu,
                   cpu_seconds([os.getpid()]) - cpu)


@dataclass
class Serial:
    """CPU seconds of the renders of one publish, one after another in this process."""

    primary: float
    every: float


def serial_cpu(alert: Shown, photos: dict[str, PhotoData]) -> Serial:
    """The calls a pool worker makes for one publish (each profile's primary creative alone,
    its other formats together from one canvas), timed in this process."""
    primary = rest = 0.0
    for size in sizes.distinct(PROFILES):
        width, height = map(int, size.split("x"))
        started = time.process_time()
        render_creatives(alert, photos, (width, height), "auto", LANGUAGES, PROFILE_FORMATS[:1])
        middle = time.process_time()
        render_creatives(alert, photos, (width, height), "auto", LANGUAGES, PROFILE_FORMATS[1:])
        primary, rest = primary + middle - started, rest + time.process_time() - middle
    return Serial(primary, primary + rest)


@dataclass
class PublishRuns:
    first: Publish  # the first alert after start
    later: list[Publish]  # with the pool idle
    serial: list[Serial]  # interleaved with `later`
    workers: int
    alert: Shown  # the sample as the renderer gets it, for the full render rows
    photos: dict[str, PhotoData]


async def publish_runs() -> PublishRuns:
    """The first alert after start, then PUBLISHES more with the pool idle, each after a
    serial pass of the same renders in this process."""
    warm_up()  # this process renders the serial passes: as warm as the workers
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        runner = web.AppRunner(create_app(config(Path(tmp), 0)))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        profiles = [p.id for p in config(Path(tmp), port).networks[0].profiles]
        renderer = runner.app[RENDERER]
        try:
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
                staff = Staff(session)
                photo = await staff.call("POST", "/v1/photos", EDITOR, 201, data=fs.drawn_photo(),
                                         headers={"Content-Type": "image/jpeg"})
                stored = await staff.call("GET", f"/v1/photos/{photo['id']}", EDITOR, 200)
                photos = {photo["id"]: PhotoData.from_bytes(photo["id"], stored)}
                sample = rendered_part(Alert.from_document(await staff.call(
                    "POST", "/v1/alerts", EDITOR, 201, json=fs.alert_body(0, photo["id"]))))
                first = await publish_and_fetch(staff, renderer, 1, photo["id"], profiles)
                later, serial = [], []
                for number in range(2, 2 + PUBLISHES):
                    serial.append(serial_cpu(sample, photos))
                    later.append(
                        await publish_and_fetch(staff, renderer, number, photo["id"], profiles))
                workers = runner.app[POOL].workers
        finally:
            await runner.cleanup()
    return PublishRuns(first, later, serial, workers, sample, photos)


def publish_rows(runs: PublishRuns) -> list[Row]:
    """Issue 16: publish -> primaries at most 1.2x, -> every format at most 1.3x (serial CPU
    of those renders / cores); the first alert after start as fast as the later ones."""
    how = (f"median of {PUBLISHES} publishes (wall) beside median of {PUBLISHES} serial passes "
           "(CPU), interleaved, unpinned")
    primary = median([p.primary for p in runs.later])
    every = median([p.every for p in runs.later])
    serial_primary = median([s.primary for s in runs.serial])
    serial_every = median([s.every for s in runs.serial])
    pool = f"{runs.workers} render workers on {CORES} cores"

    def spent(cpu: float, serial: float) -> str:
        return (f"CPU meanwhile (server, client, workers) {cpu:.2f} s = {cpu / serial:.2f}x the "
                "serial CPU")

    return [
        Row(
            f"publish → primary creative of {PROFILES} profiles",
            primary * 1000,
            "ms",
            f"serial CPU of those {PROFILES} renders ÷ {CORES} cores",
            serial_primary / CORES * 1000,
            how,
            "ratio <= 1.2",
            f"{pool}; {spent(median([p.primary_cpu for p in runs.later]), serial_primary)}",
        ),
        Row(
            f"publish → every format of {PROFILES} profiles",
            every * 1000,
            "ms",
            f"serial CPU of those {PROFILES * len(PROFILE_FORMATS)} renders ÷ {CORES} cores",
            serial_every / CORES * 1000,
            how,
            "ratio <= 1.3",
            f"{'/'.join(PROFILE_FORMATS)}, the last three from one canvas; "
            f"{spent(median([p.every_cpu for p in runs.later]), serial_every)}",
        ),
        Row(
            f"publish → primary creative of {PROFILES} profiles, first alert after start",
            runs.first.primary * 1000,
            "ms",
            "the same, later alerts",
            primary * 1000,
            f"one publish beside the median of {PUBLISHES}, unpinned",
            "ratio <= 1.1",
            f"every format: {runs.first.every * 1000:,.0f} ms beside {every * 1000:,.0f} ms; CPU "
            f"meanwhile {runs.first.every_cpu:.2f} s beside "
            f"{median([p.every_cpu for p in runs.later]):.2f} s",
        ),
    ]


def best_of(fns: dict[str, Callable[[], Any]], runs: int) -> dict[str, float]:
    """Best time of each function in seconds, run in turn so that machine noise hits them
    alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(runs):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def full_render_rows(alert: Shown, photos: dict[str, PhotoData]) -> list[Row]:
    plan = resolve(alert, photos, SIZE, "auto", LANGUAGES)
    rows = []
    for fmt in FORMATS:

        def cold(f: str = fmt) -> None:
            fonts._unit_width.cache_clear()
            render_creative(alert, photos, SIZE, "auto", LANGUAGES, f)

        best = best_of(
            {
                "bare": lambda f=fmt: encode(paint(plan, photos), f),
                "full": lambda f=fmt: render_creative(alert, photos, SIZE, "auto", LANGUAGES, f),
                "cold": cold,
            },
            FULL_RENDER_RUNS,
        )
        rows.append(Row(
            f"full render 1920x1080 {fmt}",
            best["full"] * 1000,
            "ms",
            f"bare Pillow, same plan, {fmt}",
            best["bare"] * 1000,
            f"best of {FULL_RENDER_RUNS}, unpinned",
            "ratio <= 1.5",
            f"cold font cache {best['cold'] * 1000:.0f} ms",
        ))
    return rows


async def section() -> list[Row]:
    """Publish -> creatives ready beside the ideal (issue 16); full render beside bare Pillow
    (issue 3: at most 1.5x) per format."""
    runs = await publish_runs()
    return publish_rows(runs) + full_render_rows(runs.alert, runs.photos)
