"""wrk probes and what one costs the server: req/s and CPU time per request.

The machine is shared and noisy (other sessions' test suites run beside the bench), so req/s
swings with what else runs. The server's own CPU time per request (utime + stime of its
process tree over the run, divided by the requests wrk completed) barely does: it is the
"cost" issue 2 speaks of, and the figure the poll rows judge by; req/s is kept beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

from bench import wrk
from bench.procs import LOAD_CPUS, PINNING, cpu_seconds, quiet
from bench.stats import median
from bench.table import BenchFailure


@dataclass(frozen=True)
class Settings:
    seconds: int = 1
    repetitions: int = 4
    warmup: int = 1

    def measured(self, pinned: bool) -> str:
        """How a poll row's figures were taken, for its `measured` cell."""
        where = "pinned" if pinned and PINNING else "unpinned"
        return f"median of {self.repetitions} × {self.seconds} s, {where}"


@dataclass(frozen=True)
class Probe:
    """One thing wrk hammers: a URL and its headers, the server's pids, where wrk runs."""

    url: str
    server: tuple[int, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    cpus: str | None = LOAD_CPUS
    script: str | None = None  # a wrk Lua script that varies the requests
    revalidate: bool = False  # If-None-Match: the URL's ETag as of each run (conditional())


@dataclass(frozen=True)
class Figures:
    """Medians over the repetitions: requests per second, server CPU µs per request."""

    rps: float | None = None
    cpu_us: float | None = None


async def _once(probe: Probe, seconds: int) -> tuple[float, float]:
    headers = dict(probe.headers)
    if probe.revalidate:
        # A document names the refresh period it was built in: a long run may cross into
        # the next one, and then every poll rightly gets the new document.
        headers["If-None-Match"] = await current_etag(probe.url)
    before = cpu_seconds(probe.server)
    result = await wrk.run(probe.url, seconds=seconds, headers=headers,
                           cpus=probe.cpus, script=probe.script)
    spent = cpu_seconds(probe.server) - before
    return result.requests_per_second, spent / max(1, result.requests) * 1e6


async def measure(probes: Mapping[str, Probe], settings: Settings) -> dict[str, Figures]:
    """Figures per probe; repetitions interleaved across the probes (A B C A B C ...) so that
    drift on the machine hits every side alike. Starts once the servers are idle. A probe
    wrk refuses fails the run (BenchFailure): no figure stands in for it."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in probes}
    for server in {probe.server for probe in probes.values()}:
        await quiet(server)  # e.g. renders of a publish still running in the pool
    for rep in range(settings.repetitions + 1):
        seconds = settings.warmup if rep == 0 else settings.seconds
        for name, probe in probes.items():
            try:
                sample = await _once(probe, seconds)
            except (wrk.WrkError, TimeoutError) as exc:
                raise BenchFailure(f"poll: {name}: {exc}") from exc
            if rep:
                samples[name].append(sample)
    return {
        name: Figures(median([s[0] for s in got]), median([s[1] for s in got]))
        for name, got in samples.items()
    }


async def fetch(session: aiohttp.ClientSession, url: str) -> bytes | None:
    """The body of a 200, else None."""
    async with session.get(url) as response:
        return await response.read() if response.status == 200 else None


async def conditional(
    session: aiohttp.ClientSession, url: str, server: tuple[int, ...], cpus: str | None = LOAD_CPUS
) -> Probe:
    """A probe that gets 304: If-None-Match with the URL's current ETag, checked once, and
    taken again before each run."""
    async with session.get(url) as response:
        response.raise_for_status()
        etag = response.headers["ETag"]
    async with session.get(url, headers={"If-None-Match": etag}) as response:
        if response.status != 304:
            raise RuntimeError(f"{url}: If-None-Match {etag} gave {response.status}, not 304")
    return Probe(url, server, {"If-None-Match": etag}, cpus, revalidate=True)


async def current_etag(url: str) -> str:
    """The ETag a URL answers with now (asked with HEAD: a server counting the GETs it
    answers with 200, as the workers rows check, does not count this one)."""
    async with aiohttp.ClientSession() as session, session.head(url) as response:
        response.raise_for_status()
        return response.headers["ETag"]


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
