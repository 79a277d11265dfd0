"""Prometheus metrics: what the server does, counted where it happens, exposed at `/metrics`.

Built once in `create_app` and handed to the parts that report, as callbacks (`render/` and
`store/` know no aiohttp and nothing of this module). Cheap where it matters: a poll adds one
to a plain tally per (network, profile) and one per (route, status), no label lookup and no
lock; the tallies go into the counters at each scrape and, with workers, every second.
Labels are bounded: route templates (never raw paths), statuses, event types, formats, store
operations, and networks, profiles and upstreams of the config. Never a screen id or an alert
id.

With several workers on one host (`server.workers`), each worker writes its figures into
memory-mapped files in a private directory (prometheus-client's multiprocess mode, set up by
the supervisor before the workers start), so a scrape answered by any worker gives the host's
totals. State a worker only knows by looking (its open connections, render queue, pool
health) is sampled at each scrape and every 5 s in every worker. Distinct screens cannot
be summed over workers (a screen polls any of them), so each worker writes the screens it
has seen to that directory and the scraped worker counts the union. Several instances are
scraped one by one and summed in Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import shutil
import time
from collections import Counter as Tally
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from feedserver.config import Config
from feedserver.push.fanout import WS
from feedserver.store.base import Event, Store
from feedserver.tasks import running
from feedserver.timeutil import Clock

if TYPE_CHECKING:
    from feedserver.events import Listener
    from feedserver.feeds.creatives import RenderService
    from feedserver.feeds.receipts import ReceiptBook
    from feedserver.push.fanout import Hub
    from feedserver.render.pool import WorkerPool

log = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client reads it when imported
FLUSH_SECONDS = 1.0
FLUSHES_PER_SAMPLE = 5  # gauges every 5 s
SCREENS_FILE = "screens_{pid}.json"
UNMATCHED = "unmatched"  # requests no route matched (404/405): one label, whatever the path
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
FANOUT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                  0.25, 0.5, 1)
RENDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def prepare_host(data_dir: Path) -> Path:
    """In the supervisor, before it starts the workers: an empty private directory for their
    figures, named in the environment they inherit (counts start again with the host)."""
    path = data_dir / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROCESS_ENV] = str(path)
    return path


def worker_gone(pid: int) -> None:
    """The supervisor's hook when a worker exits: its live gauges and its screens go (its
    counts stay: they happened)."""
    path = os.environ.get(MULTIPROCESS_ENV)
    if path:
        multiprocess.mark_process_dead(pid, path)
        (Path(path) / SCREENS_FILE.format(pid=pid)).unlink(missing_ok=True)


class _ScrapeTime:
    """A collector of the figures computed at the scrape itself (set just before it)."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


class Metrics:
    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.shared_dir = os.environ.get(MULTIPROCESS_ENV)
        self.registry = CollectorRegistry(auto_describe=True)
        own = None if self.shared_dir else self.registry
        if self.shared_dir:
            multiprocess.MultiProcessCollector(self.registry, self.shared_dir)
        self._scrape_time = _ScrapeTime()
        self.registry.register(self._scrape_time)
        self.requests = Counter("feedserver_http_requests", "HTTP responses by route template "
                                "and status", ["route", "method", "status"], registry=own)
        self.polls = Counter("feedserver_polls", "Screen feed requests (document, Atom, RSS, "
                             "current creative)", ["network", "profile"], registry=own)
        self.events = Counter("feedserver_events", "Events committed (published to screens)",
                              ["type"], registry=own)
        self.fanout = Histogram("feedserver_fanout_seconds", "Writing one event to every "
                                "connected push client", registry=own, buckets=FANOUT_BUCKETS)
        self.connections = Gauge("feedserver_push_connections", "Open push connections",
                                 ["network", "profile", "transport"], registry=own,
                                 multiprocess_mode="livesum")
        self.render_seconds = Histogram("feedserver_render_seconds", "Rendering one creative",
                                        ["format"], registry=own, buckets=RENDER_BUCKETS)
        self.render_queue = Gauge("feedserver_render_queue", "Creatives waiting for a render "
                                  "worker", registry=own, multiprocess_mode="livesum")
        self.pool_healthy = Gauge("feedserver_render_pool_healthy", "1 when every render pool "
                                  "can render", registry=own, multiprocess_mode="livemin")
        self.webhook_failures = Counter("feedserver_webhook_failures", "Webhook attempts not "
                                        "answered 2xx", ["network"], registry=own)
        self.upstream_polls = Counter("feedserver_upstream_polls", "Polls of upstream lists by "
                                      "result", ["upstream", "result"], registry=own)
        self.store_seconds = Histogram("feedserver_store_seconds", "Store calls by operation",
                                       ["operation"], registry=own, buckets=STORE_BUCKETS)
        self._requests: dict[tuple[Any, int], Any] = {}
        self._tally: dict[Any, int] = {}  # counter children and what they have not been added
        self._polls = {(n.id, p.id): self.polls.labels(n.id, p.id)
                       for n in config.networks for p in n.profiles}
        self._connections: dict[tuple[str, str, str], Any] = {}
        self._sources: tuple[Store, ReceiptBook, RenderService, WorkerPool] | None = None
        self.hub: Hub | None = None

    # what the parts call ----------------------------------------------------------------------
    def poll(self, network: str, profile: str) -> None:
        """A screen asked for its feed: the hot path, tallied here and added to the counter
        at the next flush."""
        child = self._polls.get((network, profile))
        if child is None:  # a profile added to the config since the start
            child = self._polls[(network, profile)] = self.polls.labels(network, profile)
        tally = self._tally
        tally[child] = tally.get(child, 0) + 1

    async def count_response(self, request: web.Request, response: web.StreamResponse) -> None:
        """on_response_prepare: every answer, by the template of the route that matched (a
        404 or 405 has a route of its own per request, and no resource: one key for all)."""
        self.count(request.match_info.route, response.status)

    def count(self, route: web.AbstractRoute, status: int) -> None:
        """One answer of `route` (also called by the lean poll path, which runs no hooks)."""
        key = (route if route.resource is not None else None, status)
        child = self._requests.get(key)
        if child is None:
            template = route.resource.canonical if route.resource is not None else UNMATCHED
            method = route.method if route.resource is not None else ""
            child = self._requests[key] = self.requests.labels(template, method, str(status))
        tally = self._tally
        tally[child] = tally.get(child, 0) + 1

    def flush(self) -> None:
        """Add what was tallied since the last flush to the counters. An `inc()` per request
        took a lock (and, with workers, wrote a memory-mapped file): a poll's largest cost
        after aiohttp's own. Flushed at every scrape of this process and, with workers, every
        `FLUSH_SECONDS` (another worker's scrape reads the files)."""
        tally, self._tally = self._tally, {}
        try:
            for child, count in list(tally.items()):
                child.inc(count)
                del tally[child]
        finally:  # what could not be added (a full disk under the shared files) waits
            for child, count in tally.items():
                self._tally[child] = self._tally.get(child, 0) + count

    def rendered(self, fmt: str, seconds: float) -> None:
        self.render_seconds.labels(fmt).observe(seconds)

    def webhook_failed(self, network: str) -> None:
        self.webhook_failures.labels(network).inc()

    def upstream_polled(self, upstream: str, result: str) -> None:
        self.upstream_polls.labels(upstream, result).inc()

    def timed_fanout(self, listener: Listener) -> Listener:
        """The hub's bus listener, timed for each event it writes out."""
        observe = self.fanout.observe

        def timed(alert: dict, event: Event | None) -> None:
            started = time.perf_counter()
            listener(alert, event)
            if event is not None:
                observe(time.perf_counter() - started)

        return timed

    def time_store(self, store: Store) -> None:
        """Time every coroutine the store offers, per operation, and count the events it
        commits: one place around every store call, whichever database is behind it."""
        for name, _ in inspect.getmembers(Store, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                setattr(store, name, self._timed(name, getattr(store, name)))

    def _timed(self, name: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        observe = self.store_seconds.labels(name).observe
        events = self.events

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = await call(*args, **kwargs)
            finally:
                observe(time.perf_counter() - started)
            if isinstance(result, Event):  # `save`: counted by the process that committed it
                events.labels(result.type).inc()
            return result

        return timed

    def watch(self, store: Store, receipts: ReceiptBook, renderer: RenderService,
              pool: WorkerPool) -> None:
        """The parts whose state is sampled (the hub joins when push starts)."""
        self._sources = (store, receipts, renderer, pool)

    # sampling and scraping ----------------------------------------------------------------
    def sample(self) -> None:
        """Set the gauges of what this process holds now; with several workers, also write
        the screens it has seen for the scraped worker to count."""
        if self._sources is None:
            return
        _, receipts, renderer, pool = self._sources
        self.render_queue.set(renderer.queued)
        self.pool_healthy.set(1 if pool.problem() is None else 0)
        streams = list(self.hub.streams()) if self.hub is not None else []
        open_now = Tally((net, prof, "websocket" if kind == WS else "sse")
                         for net, prof, kind, _ in streams)
        for key in open_now.keys() - self._connections.keys():
            self._connections[key] = self.connections.labels(*key)
        for key, child in self._connections.items():
            child.set(open_now.get(key, 0))
        for net, prof, _, screen in streams:  # a connected screen is seen, however long ago
            if screen is not None:  # it connected
                receipts.seen(net, prof, screen)
        if self.shared_dir:
            try:
                self._write_screens(receipts.screens(self._since()))
            except OSError as exc:  # the scrape goes on; the others count without ours
                log.warning("metrics: could not write the screens seen: %s", exc)

    def _since(self) -> float:
        """Screens seen since then count: within the grace after which one is offline."""
        grace = timedelta(seconds=self.config.alerts.offline_grace_seconds)
        return (self.clock() - grace).timestamp()

    def _write_screens(self, screens: dict[tuple[str, str], dict[str, float]]) -> None:
        assert self.shared_dir is not None
        path = Path(self.shared_dir) / SCREENS_FILE.format(pid=os.getpid())
        part = path.with_suffix(".part")
        part.write_text(json.dumps({f"{net}/{prof}": seen for (net, prof), seen
                                    in screens.items()}))
        part.replace(path)

    def _screen_census(self) -> dict[tuple[str, str], int]:
        """Distinct screens per network and profile seen within the grace, over every
        worker of the host (a screen may poll any of them)."""
        assert self._sources is not None
        since = self._since()
        union: dict[tuple[str, str], set[str]] = {
            (n.id, p.id): set() for n in self.config.networks for p in n.profiles}
        for key, seen in self._sources[1].screens(since).items():
            union.setdefault(key, set()).update(seen)
        for seen_by in self._other_workers():
            for key, seen in seen_by.items():
                net, _, prof = key.partition("/")
                union.setdefault((net, prof), set()).update(
                    screen for screen, at in seen.items() if at >= since)
        return {key: len(screens) for key, screens in union.items()}

    def _other_workers(self) -> Iterator[dict[str, dict[str, float]]]:
        if not self.shared_dir:
            return
        own = SCREENS_FILE.format(pid=os.getpid())
        for path in Path(self.shared_dir).glob(SCREENS_FILE.format(pid="*")):
            if path.name == own:
                continue
            try:
                yield json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # gone with its worker, or being replaced: the next scrape has it

    async def _backlog(self) -> Iterable[tuple[str, int]]:
        """Pending webhook deliveries per network: the store's outbox, shared by every worker
        and instance (the same figure on each: take max() over instances, not sum())."""
        assert self._sources is not None
        hooked = [n.id for n in self.config.networks if n.webhook is not None]
        if not hooked:
            return []
        try:
            pending = await self._sources[0].delivery_backlog()
        except Exception:
            log.exception("metrics: could not count the webhook backlog")
            return []
        return [(network, pending.get(network, 0)) for network in hooked]

    async def scrape(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition in the format the scraper accepts (Prometheus text, or OpenMetrics),
        and its content type: this worker sampled now, the others' files, and the
        scrape-time figures."""
        encode, content_type = choose_encoder(accept)
        self.flush()
        self.sample()
        screens = GaugeMetricFamily("feedserver_screens", "Distinct screens seen within "
                                    "alerts.offline_grace_seconds", labels=["network", "profile"])
        if self._sources is not None:
            for (net, prof), count in sorted(self._screen_census().items()):
                screens.add_metric([net, prof], count)
        backlog = GaugeMetricFamily("feedserver_webhook_backlog", "Webhook deliveries pending "
                                    "in the outbox (store-wide)", labels=["network"])
        if self._sources is not None:
            for network, count in await self._backlog():
                backlog.add_metric([network], count)
        self._scrape_time.families = [screens, backlog]
        return encode(self.registry), content_type

    async def page(self, request: web.Request) -> web.Response:
        """`/metrics`, as Prometheus asks for it."""
        body, content_type = await self.scrape(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _sample_forever(self) -> None:
        """Other workers' counts are at most FLUSH_SECONDS old, and their gauges at most
        SAMPLE_SECONDS, when one worker answers a scrape."""
        flushes = 0
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            flushes += 1
            try:
                self.flush()
                if flushes % FLUSHES_PER_SAMPLE == 0:
                    self.sample()
            except Exception:
                log.exception("metrics: sampling failed")

    async def ctx(self, app: web.Application) -> AsyncIterator[None]:
        """cleanup_ctx: the sampler (with several workers) and the separate listener (when
        `metrics.listen` is configured); what was tallied is counted at the end."""
        async with running(self._sample_forever(), "metrics-sampler") if self.shared_dir \
                else contextlib.nullcontext():
            runner = await self._listen()
            try:
                yield
                if runner is not None:
                    await runner.cleanup()
            finally:
                self.flush()

    async def _listen(self) -> web.AppRunner | None:
        """`metrics.listen`: `/metrics` alone, without a token (config allows only loopback
        unless told otherwise); every worker listens on it, like on the main port."""
        if self.config.metrics.listen is None:
            return None
        scrape_app = web.Application()
        scrape_app.router.add_get("/metrics", self.page)
        runner = web.AppRunner(scrape_app, access_log=None)
        await runner.setup()
        host, port = self.config.metrics.host_port
        await web.TCPSite(runner, host, port, reuse_port=bool(self.shared_dir)).start()
        return runner

