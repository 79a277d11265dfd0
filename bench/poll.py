"""Poll rows: wrk against feedserver's feed (304 and 200) and current.jpg, beside nginx serving
the same bytes from files and a bare aiohttp handler serving them from memory.

Fairness: every server is pinned to core 0 and wrk (`-t1 -c64`) to core 1, so each server has
exactly one core and the load generator never competes with it. Repetitions of the probes
that are compared are interleaved (A B C A B C ...) so drift on a shared machine hits all
sides alike; each figure is the median. The SO_REUSEPORT experiment cannot be pinned that
way (two workers on one core prove nothing), so it runs server and wrk unpinned and compares
with one process run unpinned too.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench import payloads, wrk
from bench.fs import FeedServer, feedserver
from bench.nginx import nginx
from bench.procs import LOAD_CPUS, SERVER_CPUS, free_port, python, started
from bench.stats import median
from bench.table import Row

RENDER_WAIT = 60.0
# Issue 2: a 304 costs at most 1.3x the bare handler's, i.e. at least 1/1.3 of its req/s.
GOAL_VS_BARE = "ratio >= 0.77"
GOAL_VS_NGINX = "ratio >= 0.35"


@dataclass(frozen=True)
class Settings:
    seconds: int = 2
    repetitions: int = 3
    warmup: int = 1


@dataclass(frozen=True)
class Probe:
    """One thing wrk hammers: a URL, its headers, and where wrk runs."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    cpus: str | None = LOAD_CPUS


async def rates(probes: Mapping[str, Probe], settings: Settings) -> dict[str, float | None]:
    """Median req/s per probe; repetitions interleaved across the probes."""
    samples: dict[str, list[float]] = {name: [] for name in probes}
    broken: set[str] = set()
    for seconds in [settings.warmup] + [settings.seconds] * settings.repetitions:
        for name, probe in probes.items():
            if name in broken:
                continue
            try:
                result = await wrk.run(
                    probe.url, seconds=seconds, headers=dict(probe.headers), cpus=probe.cpus
                )
            except wrk.WrkError as exc:
                print(f"poll: {name}: {exc}", file=sys.stderr)
                broken.add(name)
                continue
            if seconds == settings.seconds:
                samples[name].append(result.requests_per_second)
    return {name: None if name in broken else median(values) for name, values in samples.items()}


async def conditional(
    session: aiohttp.ClientSession, url: str, cpus: str | None = LOAD_CPUS
) -> Probe:
    """A probe that gets 304: If-None-Match with the URL's current ETag, checked once."""
    async with session.get(url) as response:
        response.raise_for_status()
        etag = response.headers["ETag"]
    async with session.get(url, headers={"If-None-Match": etag}) as response:
        if response.status != 304:
            raise RuntimeError(f"{url}: If-None-Match {etag} gave {response.status}, not 304")
    return Probe(url, {"If-None-Match": etag}, cpus)


async def fetch(session: aiohttp.ClientSession, url: str) -> bytes | None:
    async with session.get(url) as response:
        return await response.read() if response.status == 200 else None


async def distinct_etags(url: str, tries: int = 20) -> int:
    """How many different ETags the URL answers over fresh connections (SO_REUSEPORT workers
    each build their own document; a screen's 304 only works if they agree)."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(fetch(session, url) for _ in range(50)))  # wake every worker
        etags = set()
        for _ in range(tries):
            async with session.get(url) as response:
                etags.add(response.headers.get("ETag"))
    return len(etags)


async def renders_ready(fs: FeedServer, started_at: float) -> float | None:
    """Seconds from `started_at` until every profile's current.jpg answers 200 (bounded);
    None at once when the feed names no JPEG render (rendering not there yet)."""
    async with fs.session.get(fs.feed_url()) as response:
        entries = (await response.json())["alerts"]
    if not entries or "jpg" not in entries[0]["renders"]:
        return None
    waiting = {f"p{i:03d}" for i in range(fs.profiles)}
    while waiting:
        if time.monotonic() - started_at > RENDER_WAIT:
            return None
        for profile in sorted(waiting):
            if await fetch(fs.session, fs.feed_url(profile, "/current.jpg")) is not None:
                waiting.discard(profile)
        await asyncio.sleep(0.02)
    return time.monotonic() - started_at


async def _published(fs: FeedServer, alerts: int) -> float | None:
    """Publish alerts; seconds from the last publish until every profile's JPEG is ready."""
    await fs.publish_alerts(alerts - 1)
    began = time.monotonic()
    await fs.publish_alerts(1, first=alerts - 1)
    return await renders_ready(fs, began)


def _server_probes(name: str, feed: Probe, jpg: str | None, plain_feed: str) -> dict[str, Probe]:
    probes = {f"{name} 304": feed, f"{name} 200": Probe(plain_feed)}
    if jpg:
        probes[f"{name} current.jpg"] = Probe(jpg)
    return probes


@contextlib.asynccontextmanager
async def _bare(
    stack_dir: Path,
    feed: bytes,
    jpg: bytes,
    *,
    uvloop: bool = False,
    workers: int = 1,
    cpus: str | None = SERVER_CPUS,
):
    """The bare aiohttp reference serving `feed` and `jpg` from memory."""
    (stack_dir / "feed.json").write_bytes(feed)
    (stack_dir / "current.jpg").write_bytes(jpg)
    port = free_port()
    args = python(
        "bench.bare",
        "--port",
        str(port),
        "--feed",
        str(stack_dir / "feed.json"),
        "--jpg",
        str(stack_dir / "current.jpg"),
    )
    args += ["--uvloop"] * uvloop + ["--reuse-port"] * (workers > 1)
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(workers):
            await stack.enter_async_context(started(args, port=port, cpus=cpus))
        yield f"http://127.0.0.1:{port}"


def _pair(
    rates_: Mapping[str, float | None], name: str, ref: str, goal: str = "", note: str = ""
) -> Row:
    return Row(name, rates_.get(name), "req/s", ref, rates_.get(ref), goal, note)


async def section(settings: Settings) -> list[Row]:
    """All poll rows (feedserver, references, uvloop, SO_REUSEPORT, growth)."""
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        work = Path(tmp)
        async with contextlib.AsyncExitStack() as stack:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            main = await stack.enter_async_context(
                feedserver(work / "fs10", profiles=10, cpus=SERVER_CPUS)
            )
            ready10 = await _published(main, 1)
            feed_bytes = await fetch(session, main.feed_url())
            jpg_url = main.feed_url(suffix="/current.jpg")
            real_jpg = await fetch(session, jpg_url)
            jpg = real_jpg or payloads.jpeg()
            jpg_note = "" if real_jpg else "no current.jpg in feedserver yet"

            server = await stack.enter_async_context(
                nginx(files={"feed.json": feed_bytes, "current.jpg": jpg}, cpus=SERVER_CPUS)
            )
            bare_dir = work / "bare"
            bare_dir.mkdir()
            bare = await stack.enter_async_context(_bare(bare_dir, feed_bytes, jpg))
            bare_uv = await stack.enter_async_context(_bare(bare_dir, feed_bytes, jpg, uvloop=True))
            main_uv = await stack.enter_async_context(
                feedserver(work / "fs-uv", profiles=10, cpus=SERVER_CPUS, uvloop=True)
            )
            await main_uv.publish_alerts(1)

            screen_url = main.feed_url() + "&screen=bench-screen-1"
            pinned = {
                **_server_probes(
                    "feedserver",
                    await conditional(session, main.feed_url()),
                    real_jpg and jpg_url,
                    main.feed_url(),
                ),
                "feedserver 304 ?screen=": await conditional(session, screen_url),
                "feedserver 304 on uvloop": await conditional(session, main_uv.feed_url()),
                **_server_probes(
                    "bare aiohttp",
                    await conditional(session, bare + "/feed"),
                    bare + "/current.jpg",
                    bare + "/feed",
                ),
                "bare aiohttp 304 on uvloop": await conditional(session, bare_uv + "/feed"),
                **_server_probes(
                    "nginx",
                    await conditional(session, server.url("/feed.json")),
                    server.url("/current.jpg"),
                    server.url("/feed.json"),
                ),
            }
            measured = await rates(pinned, settings)

        rows = [
            _pair(measured, "feedserver 304", "bare aiohttp 304", GOAL_VS_BARE),
            _pair(measured, "feedserver 304", "nginx 304", GOAL_VS_NGINX),
            _pair(measured, "feedserver 200", "bare aiohttp 200"),
            _pair(measured, "feedserver 200", "nginx 200"),
            _pair(measured, "feedserver current.jpg", "bare aiohttp current.jpg", note=jpg_note),
            _pair(measured, "feedserver current.jpg", "nginx current.jpg", note=jpg_note),
            _pair(measured, "bare aiohttp 304", "nginx 304", note="aiohttp's own floor"),
            _pair(
                measured,
                "feedserver 304 ?screen=",
                "feedserver 304",
                note="receipt recorded per poll",
            ),
            _pair(measured, "feedserver 304 on uvloop", "feedserver 304"),
            _pair(measured, "bare aiohttp 304 on uvloop", "bare aiohttp 304"),
        ]
        rows += await _reuse_port_rows(work, feed_bytes, jpg, settings)
        rows += await _growth_rows(work, ready10, settings)
    return rows


async def _reuse_port_rows(work: Path, feed: bytes, jpg: bytes, settings: Settings) -> list[Row]:
    """Two processes sharing the port vs one, everything unpinned (both cores for all)."""
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        bare_dir = work / "bare-rp"
        bare_dir.mkdir()
        one = await stack.enter_async_context(_bare(bare_dir, feed, jpg, cpus=None))
        two = await stack.enter_async_context(_bare(bare_dir, feed, jpg, cpus=None, workers=2))
        async with feedserver(work / "fs-rp", profiles=10) as fs:
            await fs.publish_alerts(1)  # the workers below start on this data
        fs_one = await stack.enter_async_context(feedserver(work / "fs-one", profiles=10))
        await fs_one.publish_alerts(1)
        fs_two = await stack.enter_async_context(feedserver(work / "fs-rp", workers=2))
        etags = await distinct_etags(fs_two.feed_url())
        urls = {
            "bare aiohttp 304, 1 process, unpinned": one + "/feed",
            "bare aiohttp 304, 2 SO_REUSEPORT processes, unpinned": two + "/feed",
            "feedserver 304, 1 process, unpinned": fs_one.feed_url(),
        }
        if etags == 1:
            urls["feedserver 304, 2 SO_REUSEPORT processes, unpinned"] = fs_two.feed_url()
        probes = {name: await conditional(session, url, cpus=None) for name, url in urls.items()}
        measured = await rates(probes, settings)
    fs_note = "" if etags == 1 else f"workers answered {etags} different ETags: no 304 figure"
    return [
        _pair(
            measured,
            "bare aiohttp 304, 2 SO_REUSEPORT processes, unpinned",
            "bare aiohttp 304, 1 process, unpinned",
        ),
        _pair(
            measured,
            "feedserver 304, 2 SO_REUSEPORT processes, unpinned",
            "feedserver 304, 1 process, unpinned",
            note=fs_note,
        ),
    ]


async def _growth_rows(work: Path, ready10: float | None, settings: Settings) -> list[Row]:
    """The poll figures against the work: 10/40/100 profiles, 1/5/20 active alerts."""
    rows: list[Row] = []
    ready = {10: ready10}
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        probes: dict[str, Probe] = {}
        servers = {}
        for profiles in (10, 40, 100):
            fs = await stack.enter_async_context(
                feedserver(work / f"growth{profiles}", profiles=profiles, cpus=SERVER_CPUS)
            )
            servers[profiles] = fs
            published = await _published(fs, 1)
            if profiles != 10:
                ready[profiles] = published
            probes[f"feedserver 304, {profiles} profiles"] = await conditional(
                session, fs.feed_url()
            )
            probes[f"feedserver 200, {profiles} profiles"] = Probe(fs.feed_url())
        measured = await rates(probes, settings)
        for kind in ("304", "200"):
            rows += [
                _pair(
                    measured, f"feedserver {kind}, {n} profiles", f"feedserver {kind}, 10 profiles"
                )
                for n in (40, 100)
            ]
        rows += [
            Row(
                f"publish → current.jpg of all {n} profiles",
                _ms(ready.get(n)),
                "ms",
                "publish → current.jpg of all 10 profiles",
                _ms(ready10),
                "figure < 1500" if n == 40 else "",
                "server on one core",
            )
            for n in (40, 100)
        ]
        fs = servers[10]
        alerts = 1
        for target in (5, 20):
            await fs.publish_alerts(target - alerts, first=alerts)
            alerts = target
            grown = await rates(
                {"304": await conditional(session, fs.feed_url()), "200": Probe(fs.feed_url())},
                settings,
            )
            rows += [
                Row(
                    f"feedserver {kind}, {target} alerts",
                    grown[kind],
                    "req/s",
                    f"feedserver {kind}, 1 alert",
                    measured[f"feedserver {kind}, 10 profiles"],
                    note="measured after the 1-alert figure",
                )
                for kind in ("304", "200")
            ]
    return rows


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
