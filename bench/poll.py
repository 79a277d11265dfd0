"""Poll rows: wrk against feedserver's feed (304 and 200) and current.jpg, beside nginx serving
the same bytes from files and a bare aiohttp handler serving them from memory.

Fairness: every server is pinned to core 0 and wrk (`-t1 -c64`) to core 1, so each server has
one core and the load generator never takes it. The rows judge by server CPU time per request
(see bench/probe.py), with req/s in the note. The workers rows (`--only workers`) are about
using both cores, so they run unpinned and report req/s against one process run unpinned too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path

import aiohttp

from bench import wrk
from bench.fs import FeedServer, feedserver
from bench.nginx import nginx
from bench.probe import (
    Figures,
    Probe,
    Settings,
    conditional,
    distinct_etags,
    fetch,
    measure,
)
from bench.procs import SERVER_CPUS, free_port, python, started
from bench.table import BenchFailure, Row

RENDER_WAIT = 60.0
COST = "µs CPU/req"
# Issue 16: with 2 workers on 2 cores, at least 1.8x the throughput of one.
GOAL_WORKERS = "ratio >= 1.8"
# Issue 16: a 304 costs at most 1.15x the bare handler's on uvloop, `?screen=` and `?at=`
# included. Issue 6: at least 0.35x nginx's throughput, which on one core each is at most
# 1 / 0.35 = 2.86x nginx's cost.
GOAL_VS_BARE = "ratio <= 1.15"
SCREEN_AT = "feedserver 304 ?screen= ?at="
GOAL_VS_NGINX = "ratio <= 2.86"
# `feedserver serve` runs on uvloop without an access log: its reference is bare aiohttp on
# uvloop; the bare handler on asyncio's own loop is measured too, for what uvloop is worth.
BARE_UVLOOP = "bare aiohttp 304 on uvloop"


def cost_row(
    figures: Mapping[str, Figures], name: str, ref: str, measured: str, goal: str = "",
    note: str = "",
) -> Row:
    """A row judged by CPU per request, with both sides' req/s in the note."""
    ours, theirs = figures[name], figures[ref]
    note = "; ".join(filter(None, [f"{ours.rps:,.0f} vs {theirs.rps:,.0f} req/s", note]))
    return Row(name, ours.cpu_us, COST, ref, theirs.cpu_us, measured, goal, note)


def rate_row(
    figures: Mapping[str, Figures], name: str, ref: str, measured: str, goal: str = "",
    note: str = "",
) -> Row:
    """A row judged by req/s (for experiments about using more cores)."""
    return Row(name, figures[name].rps, "req/s", ref, figures[ref].rps, measured, goal, note)


async def renders_ready(fs: FeedServer, started_at: float) -> float:
    """Seconds from `started_at` until every profile's current.jpg answers 200; a feed without
    JPEG renders, or renders not ready within RENDER_WAIT, fail the run."""
    async with fs.session.get(fs.feed_url()) as response:
        entries = (await response.json())["alerts"]
    if not entries or "jpg" not in entries[0]["renders"]:
        raise BenchFailure(f"poll: the feed names no JPEG render: {entries}")
    waiting = {f"p{i:03d}" for i in range(fs.profiles)}
    while waiting:
        if time.monotonic() - started_at > RENDER_WAIT:
            raise BenchFailure(f"poll: {len(waiting)} profiles' current.jpg not ready after"
                               f" {RENDER_WAIT:.0f} s")
        for profile in sorted(waiting):
            if await fetch(fs.session, fs.feed_url(profile, "/current.jpg")) is not None:
                waiting.discard(profile)
        await asyncio.sleep(0.02)
    return time.monotonic() - started_at


async def published(fs: FeedServer, alerts: int) -> float:
    """Publish alerts; seconds from the last publish until every profile's JPEG is ready."""
    await fs.publish_alerts(alerts - 1)
    began = time.monotonic()
    await fs.publish_alerts(1, first=alerts - 1)
    return await renders_ready(fs, began)


def server_probes(name: str, feed: Probe, jpg: str | None) -> dict[str, Probe]:
    """`name 304` (the conditional `feed` probe), `name 200` and `name current.jpg`."""
    probes = {f"{name} 304": feed, f"{name} 200": Probe(feed.url, feed.server, cpus=feed.cpus)}
    if jpg:
        probes[f"{name} current.jpg"] = Probe(jpg, feed.server, cpus=feed.cpus)
    return probes


async def answer_headers(session: aiohttp.ClientSession, url: str) -> dict[str, dict[str, str]]:
    """The headers of feedserver's 200 and 304 for `url`, beyond those aiohttp writes itself
    (Date, Server, Content-Length) and the ETag: the bare reference sends the same."""
    own = {"Date", "Server", "Content-Length", "ETag"}
    answers = {}
    etag = ""
    for status in (200, 304):
        async with session.get(url, headers={"If-None-Match": etag} if etag else {}) as r:
            if r.status != status:
                raise BenchFailure(f"poll: {url} answered {r.status}, not {status}")
            etag = r.headers["ETag"]
            answers[str(status)] = {k: v for k, v in r.headers.items() if k not in own}
    return answers


@contextlib.asynccontextmanager
async def bare_aiohttp(
    workdir: Path,
    feed: bytes,
    jpg: bytes,
    *,
    headers: dict[str, dict[str, str]] | None = None,
    knobs: tuple[str, ...] = (),
    workers: int = 1,
    cpus: str | None = SERVER_CPUS,
) -> AsyncIterator[tuple[str, tuple[int, ...]]]:
    """The bare aiohttp reference serving `feed` and `jpg` from memory, with feedserver's
    `headers` when given: (base URL, pids)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "feed.json").write_bytes(feed)
    (workdir / "current.jpg").write_bytes(jpg)
    port = free_port()
    args = python("bench.bare", "--port", str(port), "--feed", str(workdir / "feed.json"))
    args += ["--jpg", str(workdir / "current.jpg"), *knobs]
    if headers:
        (workdir / "headers.json").write_text(json.dumps(headers))
        args += ["--headers", str(workdir / "headers.json")]
    args += ["--reuse-port"] * (workers > 1)
    async with contextlib.AsyncExitStack() as stack:
        procs = [
            await stack.enter_async_context(started(args, port=port, cpus=cpus))
            for _ in range(workers)
        ]
        yield f"http://127.0.0.1:{port}", tuple(p.pid for p in procs)


async def section(settings: Settings) -> list[Row]:
    """The one-core poll rows: feedserver beside the references, and growth with the work."""
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        work = Path(tmp)
        rows, ready10 = await pinned_rows(work, settings)
        rows += await growth_rows(work, ready10, settings)
    return rows


async def pinned_rows(work: Path, settings: Settings) -> tuple[list[Row], float]:
    """feedserver, bare aiohttp (on asyncio's loop and on uvloop) and nginx, one core each.
    Also gives the 10-profile render time."""
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        main = await stack.enter_async_context(
            feedserver(work / "fs10", profiles=10, cpus=SERVER_CPUS)
        )
        ready10 = await published(main, 1)
        feed = await fetch(session, main.feed_url()) or b""
        headers = await answer_headers(session, main.feed_url())
        jpg_url = main.feed_url(suffix="/current.jpg")
        jpg = await fetch(session, jpg_url)
        if jpg is None:
            raise BenchFailure(f"poll: {jpg_url} gave no image")
        probes = server_probes(
            "feedserver", await conditional(session, main.feed_url(), main.pids), jpg_url
        )
        screen_url = main.feed_url() + "&screen=bench-screen-1&at=52.0907,5.1214"
        probes[SCREEN_AT] = await conditional(session, screen_url, main.pids)

        bare, bare_pids = await stack.enter_async_context(
            bare_aiohttp(work / "bare", feed, jpg, headers=headers))
        probes |= server_probes(
            "bare aiohttp",
            await conditional(session, bare + "/feed", bare_pids),
            bare + "/current.jpg",
        )
        uv, uv_pids = await stack.enter_async_context(
            bare_aiohttp(work / "bare", feed, jpg, headers=headers, knobs=("--uvloop",))
        )
        probes[BARE_UVLOOP] = await conditional(session, uv + "/feed", uv_pids)
        files = {"feed.json": feed, "current.jpg": jpg}
        server = await stack.enter_async_context(nginx(files=files, cpus=SERVER_CPUS))
        probes |= server_probes(
            "nginx",
            await conditional(session, server.url("/feed.json"), (server.pid,)),
            server.url("/current.jpg"),
        )
        got = await measure(probes, settings)

    how = settings.measured(pinned=True)
    rows = [
        cost_row(got, "feedserver 304", BARE_UVLOOP, how, GOAL_VS_BARE),
        cost_row(got, SCREEN_AT, BARE_UVLOOP, how, GOAL_VS_BARE,
                 note="records a receipt, looks up the place"),
        cost_row(got, "feedserver 304", "nginx 304", how, GOAL_VS_NGINX),
        cost_row(got, "feedserver 200", "bare aiohttp 200", how),
        cost_row(got, "feedserver 200", "nginx 200", how),
        cost_row(got, "feedserver current.jpg", "bare aiohttp current.jpg", how),
        cost_row(got, "feedserver current.jpg", "nginx current.jpg", how),
        cost_row(got, "bare aiohttp 304", "nginx 304", how, note="aiohttp's own floor"),
        cost_row(got, BARE_UVLOOP, "bare aiohttp 304", how),
    ]
    return rows, ready10


async def workers_section(settings: Settings) -> list[Row]:
    """The workers rows on their own (`python -m bench --only workers`)."""
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        return await workers_rows(Path(tmp), settings)


async def workers_rows(work: Path, settings: Settings) -> list[Row]:
    """1 vs 2 processes on one port, everything unpinned (both cores for all, wrk included):
    feedserver's `serve --workers N`, nginx's `worker_processes N` and bare aiohttp with
    SO_REUSEPORT. Every feedserver and nginx poll is conditional, and none may be answered
    other than 304 (a worker answering another ETag) or the run fails: nginx's answers are
    counted by wrk (a Lua script), feedserver's by feedserver itself (its /metrics before and
    after: no GET answered 200 meanwhile), so that wrk, which shares the two cores, runs
    without the script's cost per answer."""
    only_304 = work / "only-304.lua"
    only_304.write_text(wrk.ONLY_304_LUA)
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        async with feedserver(work / "fs-workers", profiles=10) as fs:
            await published(fs, 1)  # the servers below start on this data, renders made
            feed = await fetch(session, fs.feed_url()) or b""
        probes: dict[str, Probe] = {}
        servers: dict[int, tuple[FeedServer, int]] = {}
        for n in (1, 2):
            bare, pids = await stack.enter_async_context(
                bare_aiohttp(work / "rp", feed, b"", knobs=("--uvloop",), cpus=None, workers=n)
            )
            probes[f"bare aiohttp 304 on uvloop, {_processes(n)}"] = await conditional(
                session, bare + "/feed", pids, None
            )
            server = await stack.enter_async_context(
                nginx(files={"feed.json": feed}, cpus=None, workers=n)
            )
            probe = await conditional(session, server.url("/feed.json"), (server.pid,), None)
            probes[f"nginx 304, {_workers(n)}"] = replace(probe, script=str(only_304))
            fs = await stack.enter_async_context(feedserver(work / "fs-workers", workers=n))
            if await distinct_etags(fs.feed_url()) != 1:
                raise BenchFailure(f"poll: {n} workers answer more than one ETag for a feed")
            probes[f"feedserver 304, {_workers(n)}"] = await conditional(
                session, fs.feed_url(), fs.pids, None)
            servers[n] = fs, await fs.feed_answers(200)
        got = await measure(probes, settings)
        for n, (fs, before) in servers.items():
            if (after := await fs.feed_answers(200)) != before:
                raise BenchFailure(f"poll: {_workers(n)} answered {after - before} polls with "
                                   "200 where a 304 was due")
    how = settings.measured(pinned=False)
    counted = "every answer a 304 (counted by the server's metrics, nginx's by wrk)"

    def scaling(name: str, ref: str, goal: str = "", note: str = counted) -> Row:
        """req/s, with the cores each side kept busy: on a shared machine a second process
        only helps as far as a second core is free."""
        busy = f"{_cores(got[name]):.1f} vs {_cores(got[ref]):.1f} cores busy"
        return rate_row(got, name, ref, how, goal, "; ".join(filter(None, [note, busy])))

    return [
        scaling("feedserver 304, 2 workers", "feedserver 304, 1 worker", GOAL_WORKERS),
        cost_row(got, "feedserver 304, 2 workers", "feedserver 304, 1 worker", how,
                 note="what a request costs with a second worker beside the first"),
        scaling("nginx 304, 2 workers", "nginx 304, 1 worker"),
        scaling("bare aiohttp 304 on uvloop, 2 processes",
                "bare aiohttp 304 on uvloop, 1 process", note=""),
        rate_row(got, "feedserver 304, 2 workers", "nginx 304, 2 workers", how, note=counted),
    ]


def _cores(figures: Figures) -> float:
    """How many cores a server kept busy: its CPU time per request times requests per second."""
    return (figures.rps or 0) * (figures.cpu_us or 0) / 1e6


def _workers(count: int) -> str:
    return "1 worker" if count == 1 else f"{count} workers"


def _processes(count: int) -> str:
    return "1 process" if count == 1 else f"{count} processes"


async def growth_rows(work: Path, ready10: float, settings: Settings) -> list[Row]:
    """The poll and render figures against the work: 10/40/100 profiles, 1/5/20 alerts."""
    return await _profile_growth(work, ready10, settings) + await _alert_growth(work, settings)


async def _profile_growth(work: Path, ready10: float, settings: Settings) -> list[Row]:
    ready = {10: ready10}
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        probes: dict[str, Probe] = {}
        for profiles in (10, 40, 100):
            fs = await stack.enter_async_context(
                feedserver(work / f"growth{profiles}", profiles=profiles, cpus=SERVER_CPUS)
            )
            took = await published(fs, 1)
            ready.setdefault(profiles, took)
            probe = await conditional(session, fs.feed_url(), fs.pids)
            probes |= server_probes(f"feedserver, {profiles} profiles,", probe, None)
        got = await measure(probes, settings)
    rows = [
        cost_row(got, f"feedserver, {n} profiles, {kind}", f"feedserver, 10 profiles, {kind}",
                 settings.measured(pinned=True))
        for kind in ("304", "200")
        for n in (40, 100)
    ]
    return rows + [
        Row(
            f"publish → current.jpg of all {n} profiles",
            ready[n] * 1000,
            "ms",
            "publish → current.jpg of all 10 profiles",
            ready10 * 1000,
            "one publish each, pinned",
            "figure < 1500" if n == 40 else "",
            "server and its render pool on one core",
        )
        for n in (40, 100)
    ]


async def _alert_growth(work: Path, settings: Settings) -> list[Row]:
    """One profile, measured at 1, then 5, then 20 active alerts (one after the other)."""
    got: dict[str, Figures] = {}
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        fs = await stack.enter_async_context(
            feedserver(work / "alerts", profiles=1, cpus=SERVER_CPUS)
        )
        active = 0
        for alerts in (1, 5, 20):
            await fs.publish_alerts(alerts - active, first=active)
            active = alerts
            probe = await conditional(session, fs.feed_url(), fs.pids)
            got |= await measure(
                server_probes(f"feedserver, {_alerts(alerts)},", probe, None), settings
            )
    return [
        cost_row(got, f"feedserver, {n} alerts, {kind}", f"feedserver, {_alerts(1)}, {kind}",
                 settings.measured(pinned=True))
        for kind in ("304", "200")
        for n in (5, 20)
    ]


def _alerts(count: int) -> str:
    return "1 alert" if count == 1 else f"{count} alerts"
