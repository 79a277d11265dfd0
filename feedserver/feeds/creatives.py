"""The render cache: which creatives each shown alert needs (the profiles it reaches, their
sizes and formats), named by digest, rendered in the worker pool when an alert is published or
changes, served from memory while the alert is on screens. A restart rebuilds it from the
store. The rendering itself is `feedserver.render`'s: it knows no feed, store or HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any

from feedserver.alerts.model import Alert, Shown
from feedserver.config import Config, Network, Profile
from feedserver.feeds.document import VISIBLE, on_screens, shown_until
from feedserver.geo.reach import could_reach
from feedserver.liveconfig import LiveConfig
from feedserver.render import shared
from feedserver.render.creative import Creative, plan_report
from feedserver.render.digest import (
    EXTENSIONS,
    canvas_digest,
    content_digest,
    creative_digest,
    rendered_part,
)
from feedserver.render.photos import PhotoData
from feedserver.render.pool import WorkerPool
from feedserver.render.queue import PRIMARY, REST, URGENT, Job, RenderQueue, Timed
from feedserver.render.report import warnings
from feedserver.store.base import Event, Store
from feedserver.timeutil import Clock

log = logging.getLogger(__name__)
MAX_TIMER_SECONDS = 60.0  # look again at least this often (the wall clock may jump)
PREVIEW_CACHE = 64  # creatives of drafts and previews kept, most recent first
JOBS_KEPT = 50_000  # named creatives remembered (a few hundred bytes each)


class RenderService:
    def __init__(self, live: LiveConfig, store: Store, pool: WorkerPool, clock: Clock,
                 timed: Timed | None = None) -> None:
        self.live, self.store, self.pool, self.clock = live, store, pool, clock
        config = live.current
        self._creatives: dict[str, Creative] = {}
        # Creatives served to screens are rendered once per host for all its workers.
        self.shared_dir = config.data_dir / "renders"
        self._queue = RenderQueue(pool, pool.workers, self._rendered, str(self.shared_dir),
                                  self._wanted, timed)
        self._served: dict[str, set[str]] = {}  # alert id -> digests of its shown version
        self._claimed: dict[str, tuple[Job, Alert]] = {}  # digest -> job, alert
        self._alerts: dict[str, Alert] = {}  # alert id -> its shown version
        self._previews: OrderedDict[str, Creative] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._contents: dict[tuple[str, int, str], tuple[str, Shown]] = {}
        self._jobs: dict[tuple[str, tuple[int, int], str, tuple[str, ...], str], Job] = {}
        self._timer: asyncio.TimerHandle | None = None

    @property
    def config(self) -> Config:
        return self.live.current

    def reconfigure(self, config: Config) -> None:
        """After a reload: every shown alert's creatives for the profiles now configured (a
        new profile's are rendered, a removed one's forgotten)."""
        for alert in list(self._alerts.values()):
            self.schedule(alert)

    # naming -----------------------------------------------------------------------------
    def _content(self, alert: Alert) -> tuple[str, Shown]:
        """The alert's rendered part and its digest, worked out once per version."""
        key = (alert.id, alert.version, alert.status)
        if key not in self._contents:
            if len(self._contents) > 10_000:
                self._contents.clear()
            self._contents[key] = (content_digest(alert), rendered_part(alert))
        return self._contents[key]

    def job(self, alert: Alert, profile: Profile, fmt: str) -> Job:
        """The creative of the alert for the profile in a format, named once: every feed
        document, publish answer and current creative names it again (two digests each)."""
        content, part = self._content(alert)
        size, layout, languages = profile.size, profile.layout, profile.languages
        key = (content, size, layout, languages, fmt)
        job = self._jobs.get(key)
        if job is None:
            if len(self._jobs) >= JOBS_KEPT:
                self._jobs.clear()
            job = self._jobs[key] = Job(
                creative_digest(content, size, layout, languages, fmt),
                part,
                size,
                layout,
                languages,
                fmt,
                canvas_digest(content, size, layout, languages),
            )
        return job

    def url(self, digest: str, fmt: str) -> str:
        return f"{self.config.server.public_url.rstrip('/')}/v1/renders/{digest}.{EXTENSIONS[fmt]}"

    def urls(self, alert: Alert, network: Network, profile: Profile) -> dict[str, str]:
        """The creative URLs of the alert for a profile, without rendering anything."""
        return {fmt: self.url(self.job(alert, profile, fmt).digest, fmt) for fmt in profile.formats}

    # rendering ----------------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Creatives waiting for a render worker."""
        return self._queue.queued

    async def _photos(self, alert: Alert) -> dict[str, PhotoData]:
        photos = {}
        for photo_id in alert.photo_ids():
            photo = await self.store.get_photo(photo_id)
            if photo is not None:
                photos[photo_id] = PhotoData.from_photo(photo)
        return photos

    def _rendered(self, job: Job, future: asyncio.Future[Creative]) -> None:
        if future.cancelled():
            return
        if future.exception() is not None:
            log.error("render %s failed: %r", job.digest, future.exception())
        elif self._wanted(job.digest):
            self._creatives[job.digest] = future.result()
        else:  # the alert changed or ended while it was being rendered into the shared directory
            shared.forget(self.shared_dir, [job.digest])

    def jobs(self, alert: Alert) -> list[tuple[Job, bool]]:
        """Every profile's creatives of the alert, each marked whether it is a primary format."""
        unique: dict[str, tuple[Job, bool]] = {}
        for network in self.config.networks:
            for profile in network.profiles:
                if not could_reach(alert, profile):
                    continue
                for i, fmt in enumerate(profile.formats):
                    job = self.job(alert, profile, fmt)
                    if job.digest not in unique or i == 0:
                        unique[job.digest] = (job, i == 0)
        return list(unique.values())

    def claim(self, alert: Alert) -> list[tuple[Job, bool]]:
        """Name the creatives the alert's current version is served with (at once, so a URL
        handed out is never refused) and drop those no longer needed."""
        self._alerts[alert.id] = alert
        self._drop_ended()
        if alert.id not in self._alerts:
            return []
        jobs = self.jobs(alert)
        self._served[alert.id] = {job.digest for job, _ in jobs}
        self._forget_unused()
        self._claimed.update({job.digest: (job, alert) for job, _ in jobs})
        return [(job, primary) for job, primary in jobs if job.digest not in self._creatives]

    def _drop_ended(self) -> None:
        """Forget the creatives of every alert no longer on screens (cancelled, expired, its
        found card over), and set a timer for the next one to leave: an alert's creatives go
        when its display ends, not at the next change to some other alert."""
        now = self.clock()
        for gone in [a for a in self._alerts.values()
                     if not on_screens(a, self.config.alerts, now)]:
            self._served.pop(gone.id, None)
            del self._alerts[gone.id]
        self._forget_unused()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._alerts:
            next_end = min(shown_until(a, self.config.alerts) for a in self._alerts.values())
            delay = min((next_end - now).total_seconds(), MAX_TIMER_SECONDS)
            self._timer = asyncio.get_running_loop().call_later(max(delay, 0.0),
                                                                self._drop_ended)

    async def render(self, alert: Alert, missing: list[tuple[Job, bool]]) -> None:
        if not missing:
            return
        photos = await self._photos(alert)
        results = [
            self._queue.submit(job, photos, PRIMARY if primary else REST)
            for job, primary in missing
        ]
        await asyncio.gather(*results, return_exceptions=True)

    def _forget_unused(self) -> None:
        wanted = set().union(*self._served.values())
        for digest in [d for d in self._creatives if d not in wanted]:
            del self._creatives[digest]
        unused = [d for d in self._claimed if d not in wanted]
        for digest in unused:
            del self._claimed[digest]
        shared.forget(self.shared_dir, unused)

    def schedule(self, alert: Alert) -> asyncio.Task[None]:
        """Render (or drop) the alert's creatives in the background."""
        task = asyncio.get_running_loop().create_task(self.render(alert, self.claim(alert)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def on_change(self, alert: Alert, event: Event | None) -> None:
        """EventBus listener: every committed change to an alert. A purge also empties the
        previews (of drafts and of unsaved content, which cannot be told apart by alert)."""
        if alert.is_purged:
            self._previews.clear()
        if alert.is_visible or alert.id in self._alerts:
            self.schedule(alert)

    async def start(self) -> None:
        """Start the pool's workers now rather than at the first publish, then rebuild the
        creatives of every shown alert in the background (serving waits for a creative that
        is still being rendered)."""
        await self.pool.start()
        self._queue.start()
        for alert in await self.store.list_alerts(VISIBLE):
            self.schedule(alert)
        # what a crash left behind; files this young may belong to an alert just published
        shared.prune(self.shared_dir, set(self._claimed), older_than_seconds=600)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._queue.stop()

    # serving ------------------------------------------------------------------------------
    def _wanted(self, digest: str) -> bool:
        return digest in self._claimed

    async def get(self, digest: str) -> Creative | None:
        """A creative of a shown alert; one not rendered yet is rendered first, urgently."""
        claimed = self._claimed.get(digest)
        if claimed is not None and not on_screens(claimed[1], self.config.alerts, self.clock()):
            self._drop_ended()  # its display ended just now; the timer may not have run yet
            claimed = self._claimed.get(digest)
        if claimed is None:
            return None
        if digest in self._creatives:
            return self._creatives[digest]
        job, alert = claimed
        waiting = self._queue.waiting(digest)
        if waiting is None:
            waiting = self._queue.submit(job, await self._photos(alert), URGENT)
        try:
            return await asyncio.shield(waiting)
        except Exception:  # logged where it failed; the client gets a 404
            return None

    async def preview(self, alert: Alert, profile: Profile, fmt: str) -> Creative:
        """The alert in any state as the profile would get it (drafts included)."""
        job = self.job(alert, profile, fmt)
        if job.digest in self._creatives:
            return self._creatives[job.digest]
        if job.digest in self._previews:
            self._previews.move_to_end(job.digest)
            return self._previews[job.digest]
        creative = await asyncio.shield(self._queue.submit(job, await self._photos(alert), URGENT))
        self._previews[job.digest] = creative
        while len(self._previews) > PREVIEW_CACHE:
            self._previews.popitem(last=False)
        return creative

    async def report(self, alert: Alert, profile: Profile) -> dict[str, Any]:
        return await self.pool.run(
            plan_report,
            rendered_part(alert),
            await self._photos(alert),
            profile.size,
            profile.layout,
            profile.languages,
        )

    def layout_warnings(self, alert: Alert) -> list[str]:
        """What the layouts had to leave out for this alert, per profile, from the reports of
        its rendered primary creatives (for the alert's `warnings`)."""
        out = []
        for network in self.config.networks:
            for profile in network.profiles:
                if not could_reach(alert, profile):
                    continue
                creative = self._creatives.get(self.job(alert, profile, profile.formats[0]).digest)
                if creative is not None:
                    out.extend(f"{network.id}/{profile.id} {w}" for w in warnings(creative.report))
        return out

    async def idle(self) -> None:
        """Wait until every scheduled render has finished (tests, benchmarks, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


